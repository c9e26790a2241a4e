"""Where Newswire may send a request on a user's behalf (webhooks): public addresses only.

A saved search's webhook URL is the user's, and the alerts service POSTs to it from inside
the deployment: left open, it reaches what only the deployment can (loopback, the cloud's
metadata address, private networks). A target is allowed when every address its host
resolves to is global; ``NEWSWIRE_WEBHOOK_PRIVATE_TARGETS=true`` opens private ones too (a
local stack, tests). The check runs when the alert is made and again before each attempt, so
a name that later resolves elsewhere is refused then; redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from services.common.errors import QueryError

CODE = "webhook_not_allowed"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: Address) -> bool:
    """Whether ``address`` is on the public internet (an IPv4-mapped one judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def addresses(host: str) -> list[Address]:
    """Every address ``host`` stands for (itself when it is one), resolved without blocking."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise QueryError(f"the webhook's host {host!r} does not resolve", code=CODE) from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]


async def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse (QueryError ``webhook_not_allowed``) a URL Newswire must not send requests to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise QueryError("a webhook must be an http or https URL with a host", code=CODE)
    if allow_private:
        return
    refused = [str(a) for a in await addresses(parts.hostname) if not is_public(a)]
    if refused:
        raise QueryError(
            f"the webhook's host {parts.hostname!r} is not a public address ({refused[0]}); "
            "set NEWSWIRE_WEBHOOK_PRIVATE_TARGETS=true to allow private ones",
            code=CODE,
        )
