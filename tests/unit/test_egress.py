"""Webhook targets: public addresses only, unless a deployment allows private ones."""

from __future__ import annotations

import ipaddress

import pytest

from services.common.egress import CODE, check_target, is_public
from services.common.errors import QueryError

REFUSED = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://169.254.169.254/latest/meta-data/",  # the cloud's metadata address
    "http://10.0.0.5/hook",
    "http://192.168.1.1/",
    "http://172.16.3.4/",
    "http://100.64.0.1/",  # shared address space (carrier NAT)
    "http://0.0.0.0/",
    "http://[::1]/hook",
    "http://[fd00::1]/",
    "http://[::ffff:127.0.0.1]/",  # loopback in IPv6 clothing
    "http://224.0.0.1/",
    "ftp://203.0.114.1/",
    "file:///etc/passwd",
    "http:///no-host",
    "http://no-such-host.invalid/hook",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_a_target_off_the_public_internet_is_refused(url: str) -> None:
    with pytest.raises(QueryError) as caught:
        await check_target(url, allow_private=False)
    assert caught.value.code == CODE


async def test_a_public_address_is_allowed() -> None:
    await check_target("https://8.8.8.8/hook", allow_private=False)
    await check_target("http://[2606:4700:4700::1111]/hook", allow_private=False)


async def test_private_targets_are_allowed_when_the_deployment_says_so() -> None:
    await check_target("http://127.0.0.1:9/hook", allow_private=True)
    with pytest.raises(QueryError):  # but never another scheme
        await check_target("gopher://127.0.0.1/", allow_private=True)


def test_mapped_and_special_addresses_are_judged_as_what_they_reach() -> None:
    assert not is_public(ipaddress.ip_address("::ffff:10.1.2.3"))
    assert is_public(ipaddress.ip_address("::ffff:8.8.8.8"))
    assert not is_public(ipaddress.ip_address("ff02::1"))
