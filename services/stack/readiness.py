"""Waiting for a service we started until its /readyz answers 200, or it dies, or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import httpx

Readiness = Literal["ready", "exited", "timed_out"]


def wait_ready(
    base_url: str,
    timeout: float,
    *,
    alive: Callable[[], bool],
    interval: float = 0.3,
    transport: httpx.BaseTransport | None = None,
) -> Readiness:
    """Poll ``base_url``/readyz until it answers 200 (ready) or ``alive()`` turns false."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2, transport=transport) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"{base_url}/readyz").status_code == 200:
                    return "ready"
            except httpx.HTTPError:
                pass
            if not alive():
                return "exited"  # no point waiting: it will never answer
            time.sleep(interval)
    return "timed_out"
