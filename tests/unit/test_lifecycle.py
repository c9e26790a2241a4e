"""Scoped and AsyncScoped: the block's target is the resource, stopped however the block ends."""

from __future__ import annotations

import pytest

from services.common.lifecycle import AsyncScoped, Scoped


class _Resource(Scoped):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def _start(self) -> str:
        self.calls.append("start")
        return "not the target"

    def _stop(self) -> None:
        self.calls.append("stop")


class _AsyncResource(AsyncScoped):
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def _start(self) -> None:
        self.calls.append("start")

    async def _stop(self) -> None:
        self.calls.append("stop")


def test_a_with_block_starts_then_stops_and_yields_the_resource() -> None:
    resource = _Resource()
    with resource as target:
        assert target is resource
        assert resource.calls == ["start"]
    assert resource.calls == ["start", "stop"]


def test_an_exception_still_stops_and_goes_on() -> None:
    resource = _Resource()
    with pytest.raises(ValueError, match="boom"), resource:
        raise ValueError("boom")
    assert resource.calls == ["start", "stop"]


async def test_an_async_with_block_starts_stops_and_yields_the_resource() -> None:
    resource = _AsyncResource()
    async with resource as target:
        assert target is resource
        assert resource.calls == ["start"]
    assert resource.calls == ["start", "stop"]


async def _fail_inside(resource: AsyncScoped) -> None:
    async with resource:
        raise ValueError("boom")


async def test_an_exception_in_an_async_block_still_stops() -> None:
    resource = _AsyncResource()
    with pytest.raises(ValueError, match="boom"):
        await _fail_inside(resource)
    assert resource.calls == ["start", "stop"]
