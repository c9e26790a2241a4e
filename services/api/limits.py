"""Rationing of expensive endpoints: a few at a time, the next one refused (never queued)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.common.errors import SearchBusy


class Gate:
    """At most ``limit`` requests inside at once; one more gets SearchBusy (503, Retry-After).

    Refusing rather than queueing: a queue of heavy requests holds their clients and memory
    just the same, and an answer after the client gave up is work thrown away.
    """

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what
        self.active = 0

    @asynccontextmanager
    async def enter(self) -> AsyncIterator[None]:
        """Hold one of the places for the block; raises SearchBusy when none is free."""
        # One event loop, no await between the check and the increment: no lock needed.
        if self.active >= self.limit:
            raise SearchBusy(f"{self.limit} {self.what} requests are running; try again shortly")
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
