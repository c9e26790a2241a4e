"""Bulk writes with external versions: every item checked, retried or dead-lettered, never lost."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, AsyncElasticsearch

from services.indexer import metrics

log = structlog.get_logger(__name__)

_FILTER = "errors,items.*.status,items.*.error.type,items.*.error.reason"


class BatchAbandoned(Exception):
    """The batch was given up (shutdown or revocation) before Elasticsearch took all of it."""


@dataclass(frozen=True)
class BulkDoc:
    """One document to write: its id, its external version and its JSON source, serialised."""

    id: str
    version: int
    source: bytes


@dataclass
class ItemFailure:
    """A document Elasticsearch refused for good (mapping or parse error): a dead letter."""

    position: int
    code: str
    reason: str


@dataclass
class BulkResult:
    """What became of one batch."""

    indexed: int = 0
    stale: int = 0  # external-version conflicts: this version or a newer one is already there
    failures: list[ItemFailure] = field(default_factory=list)


def backoff(attempt: int, cap: float) -> float:
    """Exponential backoff with full jitter: 0.1 s, 0.2 s, 0.4 s ... up to ``cap``."""
    return float(random.uniform(0.5, 1.0) * min(cap, 0.1 * 2**attempt))


class BulkWriter:
    """Writes article documents to the alias with ``_id`` = article id and external versions."""

    def __init__(
        self,
        es: AsyncElasticsearch,
        index: str,
        *,
        max_item_retries: int = 8,
        backoff_cap: float = 10.0,
    ) -> None:
        self.es = es
        self.index = index
        self.max_item_retries = max_item_retries
        self.backoff_cap = backoff_cap

    def _operations(self, docs: list[BulkDoc], positions: list[int]) -> bytes:
        """The NDJSON body, built from sources that are already JSON (no re-serialising)."""
        lines: list[bytes] = []
        for pos in positions:
            doc = docs[pos]
            meta = {
                "_index": self.index,
                "_id": doc.id,
                "version": doc.version,
                "version_type": "external",
            }
            lines.append(orjson.dumps({"index": meta}))
            lines.append(doc.source)
        lines.append(b"")
        return b"\n".join(lines)

    async def write(
        self,
        docs: list[BulkDoc],
        *,
        should_abort: Callable[[], bool],
    ) -> BulkResult:
        """Write every document; transport failures are retried until ``should_abort()``."""
        result = BulkResult()
        pending = list(range(len(docs)))
        item_attempts = 0
        outage = 0
        while pending:
            if should_abort():
                raise BatchAbandoned(f"{len(pending)} of {len(docs)} documents not written")
            started = time.perf_counter()
            try:
                reply = await self.es.bulk(
                    # Pre-built NDJSON bytes: the client's NDJSON serializer sends them as is.
                    operations=self._operations(docs, pending),  # type: ignore[arg-type]
                    filter_path=_FILTER,
                )
            except (TransportConnectionError, ConnectionTimeout) as exc:
                outage += 1
                metrics.BULK_RETRIES.labels(reason="unavailable").inc()
                await self._sleep(backoff(outage, self.backoff_cap), should_abort)
                log.warning("elasticsearch unavailable, batch held", error=str(exc), tries=outage)
                continue
            except ApiError as exc:
                if exc.meta.status == 429 or exc.meta.status >= 500:
                    outage += 1
                    metrics.BULK_RETRIES.labels(reason=str(exc.meta.status)).inc()
                    await self._sleep(backoff(outage, self.backoff_cap), should_abort)
                    continue
                raise
            metrics.BULK_SECONDS.observe(time.perf_counter() - started)
            outage = 0
            retry = self._sort_items(reply.body.get("items", []), pending, result)
            if retry and item_attempts >= self.max_item_retries:
                # Persistent item-level 429/5xx: give the documents to the DLQ rather than stall.
                result.failures.extend(
                    ItemFailure(p, "index_retries_exhausted", "bulk item kept failing")
                    for p in retry
                )
                retry = []
            if retry:
                item_attempts += 1
                metrics.BULK_RETRIES.labels(reason="item").inc(len(retry))
                await self._sleep(backoff(item_attempts, self.backoff_cap), should_abort)
            pending = retry
        return result

    def _sort_items(
        self, items: list[dict[str, Any]], positions: list[int], result: BulkResult
    ) -> list[int]:
        """Classify each item of a bulk reply; a 200 reply can hide 400, 409 and 429 items."""
        retry: list[int] = []
        for pos, item in zip(positions, items, strict=True):
            outcome = item["index"]
            status = outcome["status"]
            error = outcome.get("error") or {}
            if status in (200, 201):
                result.indexed += 1
            elif status == 409 and error.get("type") == "version_conflict_engine_exception":
                result.stale += 1  # our own external version: the same or newer is there
            elif status == 429 or status >= 500:
                retry.append(pos)
            else:
                reason = f"{error.get('type', status)}: {error.get('reason', '')}"
                result.failures.append(ItemFailure(pos, "index_rejected", reason))
        return retry

    async def _sleep(self, seconds: float, should_abort: Callable[[], bool]) -> None:
        """Wait in short steps, noticing an abort (shutdown, revocation) quickly."""
        deadline = time.monotonic() + seconds
        # should_abort combines an Event with the revocation flag, so it is polled.
        while (left := deadline - time.monotonic()) > 0 and not should_abort():  # noqa: ASYNC110
            await asyncio.sleep(min(left, 0.5))
