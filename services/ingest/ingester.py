"""The Ingester: inputs to Kafka in order, acks windowed, counted and kept in the ledger."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from services.common.errors import ArticleRejected, KafkaUnavailable, NewswireError
from services.ingest import metrics
from services.ingest.dead_letters import count_rejection, send_dead_letter
from services.ingest.ledger import Ledger, payload_key
from services.ingest.limits import InputLimits
from services.ingest.publisher import Delivery, Sender
from services.ingest.readers import Item, read_item, skip_label
from services.ingest.verdict import Prepared, internal_error, parse_item
from services.ingest.workers import parsed_in_workers

log = structlog.get_logger(__name__)

# How many records may wait for their ack at once: keeps memory flat for any number of inputs.
WINDOW = 2000


@dataclass
class Summary:
    """What one ingest run did."""

    published: int = 0
    rejected: int = 0
    already_seen: int = 0
    skipped: int = 0
    rejects: list[tuple[str, str]] = field(default_factory=list)  # (source, code), first 100
    skips: list[tuple[str, str]] = field(default_factory=list)  # (source, reason), first 100

    def as_dict(self) -> dict[str, int]:
        """The counts, for JSON output."""
        return {
            "published": self.published,
            "rejected": self.rejected,
            "already_seen": self.already_seen,
            "skipped": self.skipped,
        }

    def note_reject(self, source: str, code: str) -> None:
        """Remember a rejected input (the first 100, for the report)."""
        if len(self.rejects) < 100:
            self.rejects.append((source, code))

    def note_skip(self, source: str, reason: str) -> None:
        """Count a skipped entry, remembering the first 100."""
        self.skipped += 1
        if len(self.skips) < 100:
            self.skips.append((source, reason))


class Ingester:
    """Parses inputs and publishes them, remembering what was acknowledged in a ledger."""

    def __init__(self, publisher: Sender, ledger: Ledger | None, *, force: bool = False) -> None:
        self.publisher = publisher
        self.ledger = ledger
        self.force = force
        self.limits = InputLimits.of(publisher.settings)
        self.summary = Summary()
        # Deliveries awaiting their ack: one per record, or one per batch of records.
        self._pending: list[tuple[Delivery, list[str], bool]] = []
        self._pending_records = 0

    async def submit(self, item: Item, *, trace_id: str | None = None) -> Prepared | None:
        """Publish one input (or dead-letter it); returns its record when it was accepted."""
        # No input may stop the caller: a bug on one is its internal_error dead letter; only
        # our own errors (KafkaUnavailable above all) propagate.
        try:
            return await self.publish(item, parse_item(item, self.limits, trace_id=trace_id))
        except NewswireError:
            raise
        except Exception as exc:
            log.exception("internal_error", source=item.source)
            await self._reject(item, internal_error(exc, item.source))
            return None

    async def publish(self, item: Item, verdict: Prepared | ArticleRejected) -> Prepared | None:
        """Send an input's record (unless the ledger has it) or dead-letter its rejection."""
        if item.skipped is not None:
            self.skip(item.source, item.skipped)
            return None
        if isinstance(verdict, ArticleRejected):
            await self._reject(item, verdict)
            return None
        if not self._seen(verdict.ledger_key):
            try:
                future = await self.publisher.send(verdict)
            except ArticleRejected as exc:  # over the broker's own size limit
                await self._reject(item, exc)
                return None
            await self._track(future, [verdict.ledger_key], accepted=True)
        return verdict

    async def publish_chunk(self, results: list[tuple[Item, Prepared | ArticleRejected]]) -> None:
        """Publish a parsed chunk: rejects one by one, the accepted in whole record batches."""
        accepted: list[Prepared] = []
        for item, verdict in results:
            if item.skipped is None and isinstance(verdict, Prepared):
                if not self._seen(verdict.ledger_key):
                    accepted.append(verdict)
            else:
                await self.publish(item, verdict)
        for future, records in await self.publisher.send_many(accepted):
            await self._track(future, [r.ledger_key for r in records], accepted=True)

    def skip(self, source: str, reason: str) -> None:
        """Count and log an entry that is not an input (a link, a FIFO...); nothing is sent."""
        self.summary.note_skip(source, reason)
        metrics.SKIPPED.labels(reason=skip_label(reason)).inc()
        log.warning("skipped", source=source, reason=reason)

    def _seen(self, key: str) -> bool:
        if self.force or self.ledger is None or not self.ledger.seen(key):
            return False
        self.summary.already_seen += 1
        metrics.ALREADY_SEEN.inc()
        return True

    async def _reject(self, item: Item, exc: ArticleRejected) -> None:
        key = payload_key(item.data)
        count_rejection(exc)
        if not self.force and self.ledger is not None and self.ledger.seen(key):
            self.summary.already_seen += 1
            return
        future = await send_dead_letter(self.publisher, item, exc, self.limits.max_bytes)
        await self._track(future, [key], accepted=False)
        self.summary.note_reject(item.source, exc.code)

    async def _track(self, future: Delivery, keys: list[str], *, accepted: bool) -> None:
        self._pending.append((future, keys, accepted))
        self._pending_records += len(keys)
        if self._pending_records >= WINDOW:
            await self.drain()

    async def drain(self) -> None:
        """Wait for every pending ack, count it and record it in the ledger."""
        pending, self._pending, self._pending_records = self._pending, [], 0
        if not pending:
            return
        results = await asyncio.gather(*(f for f, _, _ in pending), return_exceptions=True)
        acked = [
            p for p, r in zip(pending, results, strict=True) if not isinstance(r, BaseException)
        ]
        published = sum(len(keys) for _, keys, accepted in acked if accepted)
        self.summary.published += published
        self.summary.rejected += sum(len(keys) for _, keys, accepted in acked if not accepted)
        metrics.PUBLISHED.inc(published)
        if self.ledger is not None:
            self.ledger.add(key for _, keys, _ in acked for key in keys)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            lost = sum(
                len(keys)
                for (_, keys, _), r in zip(pending, results, strict=True)
                if isinstance(r, BaseException)
            )
            # What was acknowledged is recorded above: a rerun sends only the rest.
            raise KafkaUnavailable(f"{lost} record(s) not acknowledged: {failed[0]!r}") from failed[
                0
            ]

    async def ingest_files(
        self,
        paths: Iterable[Path],
        *,
        workers: int = 1,
        on_progress: Callable[[int], object] | None = None,
    ) -> Summary:
        """Ingest files, parsing on ``workers`` processes while this one publishes in order."""
        if workers <= 1:
            for path in paths:
                await self.submit(read_item(path, self.limits.max_bytes))
                if on_progress is not None:
                    on_progress(1)
            await self.drain()
            return self.summary
        async for results in parsed_in_workers(paths, workers, self.limits):
            await self.publish_chunk(results)
            if on_progress is not None:
                on_progress(len(results))
        await self.drain()
        return self.summary

    async def run(self, items: AsyncIterator[Item] | Iterable[Item]) -> Summary:
        """Submit every item, then wait for all acks."""
        if isinstance(items, AsyncIterator):
            async for item in items:
                await self.submit(item)
        else:
            for item in items:
                await self.submit(item)
        await self.drain()
        return self.summary
