"""Bulk writes with external versions: every item checked, retried or dead-lettered, never lost.

No record can stop the stream: a request Elasticsearch refuses as a whole (a 400 on one bad
version, a 413) is split in halves until the records that cause it stand alone, and those
become failures (dead letters); the rest is written. Requests are bounded by what is sent
(uncompressed bytes and documents), whatever Kafka fetched.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
import structlog

from services.common.errors import BatchAbandoned, BulkRefused
from services.common.es import convert_item
from services.common.settings import Settings
from services.indexer import metrics
from services.indexer.bulk_target import BulkTarget, Current

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Elasticsearch's external versions are 0 to 2^63 - 1; anything else refuses the whole request.
MAX_VERSION = 2**63 - 1


@dataclass(frozen=True)
class BulkDoc:
    """One document to write: its id, its external version and its JSON source, serialised."""

    id: str
    version: int
    source: bytes
    content_hash: str | None = None  # tells a redelivery from a rival of the same version


@dataclass
class ItemFailure:
    """A document Elasticsearch refused for good (or that cannot be sent): a dead letter."""

    position: int
    code: str
    reason: str


@dataclass
class BulkResult:
    """What became of one batch."""

    indexed: int = 0
    stale: int = 0  # external-version conflicts: this version or a newer one is already there
    failures: list[ItemFailure] = field(default_factory=list)


@dataclass(frozen=True)
class BulkLimits:
    """What one request may carry, and how often a refusal is tried again before it counts."""

    max_bytes: int
    max_docs: int
    max_retries: int
    backoff_cap: float

    @classmethod
    def of(cls, settings: Settings) -> BulkLimits:
        """The bulk request bounds and retry budget the settings give."""
        return cls(
            max_bytes=settings.bulk_max_bytes,
            max_docs=settings.batch_max_docs,
            max_retries=settings.bulk_max_retries,
            backoff_cap=settings.bulk_backoff_max_s,
        )


def backoff(attempt: int, cap: float) -> float:
    """Exponential backoff with full jitter: 0.1 s, 0.2 s, 0.4 s ... up to ``cap``."""
    return float(random.uniform(0.5, 1.0) * min(cap, 0.1 * 2**attempt))


def request_size(doc: BulkDoc, index: str) -> int:
    """Bytes one document adds to a bulk body: its action line and its source, two newlines."""
    return len(doc.source) + len(doc.id) + len(index) + 96


def operations(docs: list[BulkDoc], positions: list[int], index: str) -> bytes:
    """The NDJSON body, built from sources that are already JSON (no re-serialising)."""
    lines: list[bytes] = []
    for pos in positions:
        doc = docs[pos]
        meta = {"_index": index, "_id": doc.id, "version": doc.version, "version_type": "external"}
        lines.append(orjson.dumps({"index": meta}))
        lines.append(doc.source)
    lines.append(b"")
    return b"\n".join(lines)


def preflight(docs: list[BulkDoc], limits: BulkLimits, index: str) -> list[ItemFailure]:
    """Documents that must never be sent: too large for one request, or an impossible version."""
    failures: list[ItemFailure] = []
    for pos, doc in enumerate(docs):
        if request_size(doc, index) > limits.max_bytes:
            reason = f"document of {len(doc.source)} bytes exceeds the {limits.max_bytes}-byte bulk"
            failures.append(ItemFailure(pos, "too_large", reason))
        elif not 0 <= doc.version <= MAX_VERSION:
            failures.append(ItemFailure(pos, "invalid_version", f"version {doc.version}"))
    return failures


def requests(
    docs: list[BulkDoc], positions: list[int], limits: BulkLimits, index: str
) -> Iterator[list[int]]:
    """Positions grouped into requests of at most ``max_docs`` documents and ``max_bytes``."""
    group: list[int] = []
    size = 0
    for pos in positions:
        doc_size = request_size(docs[pos], index)
        if group and (len(group) >= limits.max_docs or size + doc_size > limits.max_bytes):
            yield group
            group, size = [], 0
        group.append(pos)
        size += doc_size
    if group:
        yield group


class BulkWriter:
    """Writes article documents with ``_id`` = article id and external versions."""

    def __init__(self, target: BulkTarget, limits: BulkLimits) -> None:
        self.target = target
        self.limits = limits

    async def write(self, docs: list[BulkDoc], *, should_abort: Callable[[], bool]) -> BulkResult:
        """Write every document; what cannot be written for good comes back as failures."""
        result = BulkResult(failures=preflight(docs, self.limits, self.target.index))
        refused = {f.position for f in result.failures}
        sendable = [pos for pos in range(len(docs)) if pos not in refused]
        queue = deque(
            (group, 0) for group in requests(docs, sendable, self.limits, self.target.index)
        )
        while queue:
            group, tries = queue.popleft()
            halves = await self._write_group(docs, group, result, should_abort, tries=tries)
            queue.extendleft(reversed(halves))
        return result

    async def _write_group(
        self,
        docs: list[BulkDoc],
        group: list[int],
        result: BulkResult,
        should_abort: Callable[[], bool],
        *,
        tries: int = 0,  # refusals and item failures so far that may be the records' own fault
    ) -> list[tuple[list[int], int]]:
        """Write one request's documents; returns the halves to write next after a refusal."""
        pending = group
        outage = 0  # refusals that are the server's: waited out for as long as it takes
        while pending:
            if should_abort():
                raise BatchAbandoned(f"{len(pending)} of {len(docs)} documents not written")
            started = time.perf_counter()
            try:
                items = await self.target.bulk(operations(docs, pending, self.target.index))
            except BulkRefused as exc:
                if exc.disposition == "wait":
                    outage += 1
                elif exc.disposition == "retry" and tries < self.limits.max_retries:
                    tries += 1
                else:
                    return self._split(pending, exc, result)
                metrics.BULK_RETRIES.labels(reason=str(exc.status or "unavailable")).inc()
                log.warning("bulk refused, held", status=exc.status, reason=exc.message[:300])
                await pause(backoff(max(outage, tries), self.limits.backoff_cap), should_abort)
                continue
            metrics.BULK_SECONDS.observe(time.perf_counter() - started)
            outage = 0
            retry, conflicts = sort_items(items, pending, result)
            await self._check_conflicts(docs, conflicts, result, should_abort)
            if retry and tries >= self.limits.max_retries:
                # Persistent item-level 429/5xx: give the documents to the DLQ rather than stall.
                result.failures.extend(
                    ItemFailure(p, "index_retries_exhausted", "bulk item kept failing")
                    for p in retry
                )
                retry = []
            if retry:
                tries += 1
                metrics.BULK_RETRIES.labels(reason="item").inc(len(retry))
                await pause(backoff(tries, self.limits.backoff_cap), should_abort)
            pending = retry
        return []

    def _split(
        self, pending: list[int], exc: BulkRefused, result: BulkResult
    ) -> list[tuple[list[int], int]]:
        """Halve a refused request; a lone refused document is a failure (a dead letter).

        Halves of a request whose retries ran out split at once when refused again: finding
        the record behind a repeated 5xx costs one retry budget, not one per level.
        """
        if len(pending) == 1:
            code = "too_large" if exc.status == 413 else "index_rejected"
            result.failures.append(ItemFailure(pending[0], code, exc.message))
            return []
        metrics.BULK_SPLITS.inc()
        log.warning("bulk refused as a whole, splitting", status=exc.status, docs=len(pending))
        middle = len(pending) // 2
        tries = self.limits.max_retries if exc.disposition == "retry" else 0
        return [(pending[:middle], tries), (pending[middle:], tries)]

    async def _check_conflicts(
        self,
        docs: list[BulkDoc],
        positions: list[int],
        result: BulkResult,
        should_abort: Callable[[], bool],
    ) -> None:
        """A 409 is a redelivery unless the index holds other content under the same version.

        The rule: of two contents with one id and one version, the first in the topic's order
        stays; the later one is a ``version_conflict`` dead letter, never dropped silently.
        """
        checked = [p for p in positions if docs[p].content_hash is not None]
        current = await self._current([docs[p].id for p in checked], should_abort)
        for pos in positions:
            doc = docs[pos]
            there = current.get(doc.id)
            rival = there is not None and there.version == doc.version
            if rival and there is not None and there.content_hash != doc.content_hash:
                metrics.VERSION_CONFLICTS.inc()
                reason = (
                    f"version {doc.version} of {doc.id} is indexed with other content "
                    f"({there.content_hash}); the first in the topic stays"
                )
                result.failures.append(ItemFailure(pos, "version_conflict", reason))
            else:
                result.stale += 1

    async def _current(
        self, ids: list[str], should_abort: Callable[[], bool]
    ) -> dict[str, Current]:
        """What the index holds for ``ids``, asked until it answers.

        A 409 met while Elasticsearch restarts must still be judged: taking "no answer" for
        "a redelivery" would drop a rival edit without its dead letter. A refusal that asking
        again cannot mend (a 4xx) leaves the check undecided, and the 409 a redelivery.
        """
        if not ids:
            return {}  # no 409 to judge: nothing to ask, and a written batch stays written
        return await answered(
            lambda: self.target.current(ids),
            what="check version conflicts",
            label="version_check",
            unanswered={},
            cap=self.limits.backoff_cap,
            should_abort=should_abort,
        )


async def answered(
    ask: Callable[[], Awaitable[T]],
    *,
    what: str,
    label: str,
    unanswered: T,
    cap: float,
    should_abort: Callable[[], bool],
) -> T:
    """``ask()``, again after a backoff while its refusal is retriable (counted as ``label``).

    A refusal that asking again cannot mend (a 4xx) is logged and gives ``unanswered``; an
    abort (shutdown, revocation) gives up the batch.
    """
    tries = 0
    while True:
        if should_abort():
            raise BatchAbandoned(f"could not {what}: the batch was given up")
        try:
            return await ask()
        except BulkRefused as exc:
            if not exc.retriable:
                log.warning(f"cannot {what}", reason=exc.message[:300])
                return unanswered
            tries += 1
            metrics.BULK_RETRIES.labels(reason=label).inc()
            await pause(backoff(tries, cap), should_abort)


async def pause(seconds: float, should_abort: Callable[[], bool]) -> None:
    """Wait in short steps, noticing an abort (shutdown, revocation) quickly."""
    deadline = time.monotonic() + seconds
    # should_abort combines an Event with the revocation flag, so it is polled.
    while (left := deadline - time.monotonic()) > 0 and not should_abort():  # noqa: ASYNC110
        await asyncio.sleep(min(left, 0.5))


def sort_items(
    items: list[dict[str, Any]], positions: list[int], result: BulkResult
) -> tuple[list[int], list[int]]:
    """Classify a bulk reply's items: (to retry, version conflicts); counts the rest.

    A 200 reply can hide 400, 409 and 429 items.
    """
    retry: list[int] = []
    conflicts: list[int] = []
    for pos, item in zip(positions, items, strict=True):
        outcome = item["index"]
        status = outcome["status"]
        error = outcome.get("error") or {}
        if status in (200, 201):
            result.indexed += 1
        elif status == 409 and error.get("type") == "version_conflict_engine_exception":
            conflicts.append(pos)  # our own external version: the same or newer is there
        elif (judged := convert_item(status, error)) is not None and judged.retriable:
            retry.append(pos)  # busy, away or failing: the item-level twin of a refusal
        else:
            reason = f"{error.get('type', status)}: {error.get('reason', '')}"
            result.failures.append(ItemFailure(pos, "index_rejected", reason))
    return retry, conflicts
