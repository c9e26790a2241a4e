"""HTTP upload admission: bounded uploads, bytes and body time; dead letters per client."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass

import structlog
from starlette.requests import Request

from services.ingest import metrics

log = structlog.get_logger(__name__)

# How often a client over its dead-letter rate is logged (the metric counts every drop).
DROP_LOG_INTERVAL_S = 10.0
MAX_TRACKED_CLIENTS = 10_000


class Reservation:
    """One admitted upload; leaving the ``with`` block gives its slot and bytes back."""

    def __init__(self, admission: Admission, nbytes: int) -> None:
        self._admission = admission
        self.nbytes = nbytes

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._admission.release(self.nbytes)


class Admission:
    """At most ``max_uploads`` uploads and ``max_bytes`` reserved at once; never queues."""

    def __init__(self, max_uploads: int, max_bytes: int) -> None:
        self.max_uploads = max_uploads
        self.max_bytes = max_bytes
        self.uploads = 0
        self.reserved = 0

    def reserve(self, nbytes: int) -> Reservation | None:
        """A reservation for an upload of up to ``nbytes``, or None when we are full."""
        # One event loop, no await in between: check and take cannot interleave.
        if self.uploads >= self.max_uploads or self.reserved + nbytes > self.max_bytes:
            return None
        self.uploads += 1
        self.reserved += nbytes
        return Reservation(self, nbytes)

    def release(self, nbytes: int) -> None:
        """Give back what ``reserve`` took."""
        self.uploads -= 1
        self.reserved -= nbytes


@dataclass(frozen=True)
class Body:
    """What a client sent: at most ``limit + 1`` bytes kept, and how many were read."""

    data: bytes
    received: int


async def read_body(request: Request, limit: int, timeout_s: float) -> Body:
    """Read the body, stopping past ``limit``; TimeoutError when it takes over ``timeout_s``."""
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(timeout_s):
        async for chunk in request.stream():
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break  # the rest is never read: a lying Content-Length cannot flood memory
    return Body(b"".join(chunks)[: limit + 1], size)


class _Bucket:
    """A token bucket: ``rate`` tokens a second, up to ``burst``."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = now
        self.dropped = 0
        self.logged_at = float("-inf")

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class DeadLetterQuota:
    """Per client address, how many dead letters it may cause (a token bucket each)."""

    def __init__(self, rate: float, burst: int, *, max_clients: int = MAX_TRACKED_CLIENTS) -> None:
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def allow(self, client: str) -> bool:
        """Whether ``client`` may write one more dead letter now; a drop is counted and logged."""
        now = time.monotonic()
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(self.rate, self.burst, now)
            if len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)  # the least recently seen client
        self._buckets.move_to_end(client)
        if bucket.take(now):
            return True
        metrics.DEAD_LETTERS_DROPPED.labels(reason="rate_limited").inc()
        bucket.dropped += 1
        if now - bucket.logged_at >= DROP_LOG_INTERVAL_S:
            log.warning(
                "dead letters dropped: client over its rate",
                client=client,
                dropped=bucket.dropped,
                rate_per_s=self.rate,
                burst=self.burst,
            )
            bucket.logged_at, bucket.dropped = now, 0
        return False
