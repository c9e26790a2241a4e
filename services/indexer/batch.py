"""One batch, end to end: decode, write to Elasticsearch, dead-letter, then commit its offsets."""

from __future__ import annotations

import asyncio
from collections.abc import Set
from typing import Protocol

import structlog
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from services.common.clock import utc_now_iso
from services.common.dlq import DeadLetter, DeadLetterSink
from services.common.errors import BatchAbandoned
from services.indexer import metrics
from services.indexer.bulk import BulkResult, BulkWriter
from services.indexer.checkpoint import commit_offsets
from services.indexer.records import Decoded, Record, bulk_docs, dead_letter, decode

log = structlog.get_logger(__name__)


class Committer(Protocol):
    """What committing needs of the consumer: its partitions, and a commit."""

    def assignment(self) -> Set[TopicPartition]:
        """The partitions this member owns now."""
        ...

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit these offsets for the group."""
        ...


class BatchProcessor:
    """Writes one batch and commits it, or gives it up whole (then nothing is committed).

    ``lock`` is held while a batch is in flight and ``revoking`` asks it to give up: a
    rebalance waits for the batch to commit or be abandoned before partitions move.
    """

    def __init__(self, writer: BulkWriter, sink: DeadLetterSink, committer: Committer) -> None:
        self.writer = writer
        self.sink = sink
        self.committer = committer
        self.lock = asyncio.Lock()
        self.revoking = False

    async def __call__(self, batch: list[Record], stop: asyncio.Event) -> bool:
        """Write, dead-letter and commit ``batch``; False when it was abandoned (not committed)."""
        async with self.lock:
            return await self._write_and_commit(batch, stop)

    async def _write_and_commit(self, batch: list[Record], stop: asyncio.Event) -> bool:
        metrics.observe_batch(len(batch))
        decoded, dead = decode(batch)

        def give_up() -> bool:
            return stop.is_set() or self.revoking

        try:
            result = await self.writer.write(
                bulk_docs(decoded, indexed_at=utc_now_iso()), should_abort=give_up
            )
            dead += _failures(decoded, result)
            sent = await self.sink.send(dead, give_up=give_up)
        except BatchAbandoned as exc:
            log.warning("batch abandoned, not committed", reason=str(exc), records=len(batch))
            return False
        _observe(decoded, result, sent)
        await self._commit(batch)
        return True

    async def _commit(self, batch: list[Record]) -> None:
        offsets = commit_offsets(batch, self.committer.assignment())
        if not offsets:
            return
        try:
            await self.committer.commit(offsets)
        except CommitFailedError as exc:
            # A rebalance took the partitions (an outcome, not a fault, so not converted): the
            # new owner re-reads from the last commit; external versions make it idempotent.
            metrics.COMMITS_FAILED.inc()
            log.warning("commit refused after rebalance", error=str(exc))


def _failures(decoded: list[Decoded], result: BulkResult) -> list[DeadLetter]:
    return [dead_letter(decoded[f.position].record, f.code, f.reason) for f in result.failures]


def _observe(decoded: list[Decoded], result: BulkResult, sent: list[DeadLetter]) -> None:
    for letter in sent:
        metrics.observe_dead_letter(letter.code)
        log.warning("dead-lettered", code=letter.code, source=letter.source, reason=letter.message)
    metrics.observe_written(
        [d.article.ingested_at for d in decoded],
        indexed=result.indexed,
        stale=result.stale,
        failed=len(result.failures),
    )
