"""Doing a step again while its failure is retriable, until it succeeds or the service stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from services.common.errors import NewswireError

log = structlog.get_logger(__name__)
T = TypeVar("T")


def backoff_s(attempt: int, *, first: float = 0.2, cap: float = 10.0) -> float:
    """Seconds to wait before try ``attempt`` + 1: doubling from ``first``, at most ``cap``."""
    return float(min(first * 2 ** max(attempt - 1, 0), cap))


async def patiently(step: Callable[[], Awaitable[T]], stop: asyncio.Event, what: str) -> T | None:
    """``step()``, again after a backoff while it raises a retriable error; None on ``stop``.

    A retriable error (a backend away, a timeout) is waited out; any other is raised.
    """
    attempt = 0
    while not stop.is_set():
        try:
            return await step()
        except NewswireError as error:
            if not error.retriable:
                raise
            attempt += 1
            log.warning("retrying", what=what, attempt=attempt, error=error.message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff_s(attempt))
    return None
