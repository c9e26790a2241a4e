"""The trends gate, the operator key and the search bounds: pure parts of the API's limits."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from services.api.auth import operator_key
from services.api.backend import bounds
from services.api.limits import Gate
from services.common.errors import SearchBusy
from services.common.settings import Settings


async def test_the_gate_refuses_one_more_and_admits_again_after() -> None:
    gate = Gate(2, "trends")
    async with gate.enter(), gate.enter():
        with pytest.raises(SearchBusy) as caught:
            async with gate.enter():
                pass
        assert caught.value.code == "search_busy"
        assert gate.active == 2
    assert gate.active == 0
    async with gate.enter():
        assert gate.active == 1


async def test_the_gate_frees_its_place_when_the_request_fails() -> None:
    gate = Gate(1, "trends")
    with pytest.raises(RuntimeError):
        async with gate.enter():
            raise RuntimeError("search failed")
    assert gate.active == 0


def test_the_operator_key_falls_back_to_the_ingest_key_and_is_never_empty() -> None:
    assert operator_key(Settings(api_key=None, operator_key=None)) is None
    assert operator_key(Settings(api_key=SecretStr(""), operator_key=None)) is None
    assert operator_key(Settings(api_key=SecretStr("ingest"))) == "ingest"
    both = Settings(api_key=SecretStr("ingest"), operator_key=SecretStr("operator"))
    assert operator_key(both) == "operator"


def test_searches_carry_the_timeout_and_refuse_partial_answers() -> None:
    assert bounds(Settings(search_timeout_s=5)) == {
        "timeout": "5000ms",
        "allow_partial_search_results": False,
    }
    assert bounds(Settings(search_timeout_s=0.0001))["timeout"] == "1ms"
