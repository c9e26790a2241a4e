"""One batch, end to end: decode, write to Elasticsearch, dead-letter, then commit its offsets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Set
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from services.common.clock import utc_now_iso
from services.common.dlq import DeadLetter, DeadLetterSink
from services.common.errors import BatchAbandoned
from services.indexer import metrics
from services.indexer.bulk import BulkResult, BulkWriter
from services.indexer.checkpoint import CommitTracker
from services.indexer.history import NO_HISTORY, History
from services.indexer.records import Decoded, Record, bulk_docs, dead_letter, decode
from services.indexer.stories import StoryAssigner

log = structlog.get_logger(__name__)


class Committer(Protocol):
    """What committing needs of the consumer: its partitions, and a commit."""

    def assignment(self) -> Set[TopicPartition]:
        """The partitions this member owns now."""
        ...

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit these offsets for the group."""
        ...


@dataclass
class _Flight:
    """A batch taken and not yet landed: its ticket, its article ids, how it ended."""

    ticket: int
    ids: frozenset[str]
    landed: asyncio.Event = field(default_factory=asyncio.Event)
    written: bool = False


class BatchProcessor:
    """Writes batches and commits them, several at once; a batch given up commits nothing.

    Batches are taken in the order they are read. The documents of a batch whose article id
    an earlier batch in flight holds wait for it (and give up with it): two versions of one
    article are never in two requests at once, so the first content of a version in the
    topic's order stays and a rival is dead-lettered, as with one batch at a time.
    ``revoking`` asks every batch in flight to give up; ``drained`` waits until none is in
    flight, so a rebalance moves partitions only once every batch is committed or given up.
    """

    def __init__(
        self,
        writer: BulkWriter,
        sink: DeadLetterSink,
        committer: Committer,
        history: History = NO_HISTORY,
        stories: StoryAssigner | None = None,
    ) -> None:
        self.writer = writer
        self.stories = stories
        self.sink = sink
        self.committer = committer
        self.history = history
        self.revoking = False
        self.tracker = CommitTracker()
        self._flights: dict[int, _Flight] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._committing = asyncio.Lock()

    async def __call__(self, batch: list[Record], stop: asyncio.Event) -> bool:
        """Write, dead-letter and commit ``batch``; False when it was abandoned (not committed)."""
        # Decoding before the first await: it overlaps the requests of the batches in flight,
        # and batches are taken in the order they were handed in.
        metrics.observe_batch(len(batch))
        decoded, dead = decode(batch)
        flight = _Flight(self.tracker.take(batch), frozenset(d.event.id for d in decoded))
        earlier = [f for f in self._flights.values() if f.ids & flight.ids]
        self._flights[flight.ticket] = flight
        self._idle.clear()
        try:
            flight.written = await self._write_and_commit(flight, earlier, decoded, dead, stop)
        finally:
            self._land(flight)
        return flight.written

    async def drained(self) -> None:
        """Wait until no batch is in flight."""
        await self._idle.wait()

    async def _write_and_commit(
        self,
        flight: _Flight,
        earlier: list[_Flight],
        decoded: list[Decoded],
        dead: list[DeadLetter],
        stop: asyncio.Event,
    ) -> bool:
        def give_up() -> bool:
            return stop.is_set() or self.revoking

        held = frozenset().union(*(f.ids for f in earlier)) & flight.ids
        try:
            # What no earlier batch in flight holds is written now; the rest once they land.
            result = await self._write([d for d in decoded if d.event.id not in held], give_up)
            if held:
                for other in earlier:
                    await other.landed.wait()
                    if not other.written:
                        raise BatchAbandoned("an earlier batch with the same articles gave up")
                later = await self._write([d for d in decoded if d.event.id in held], give_up)
                result = _merged(result, later)
            dead += result.letters
            sent = await self.sink.send(dead, give_up=give_up)
        except BatchAbandoned as exc:
            log.warning("batch abandoned, not committed", reason=str(exc), docs=len(decoded))
            return False
        _observe(decoded, result.bulk, sent)
        self.tracker.finish(flight.ticket)
        await self._commit()
        return True

    async def _write(self, decoded: list[Decoded], give_up: Callable[[], bool]) -> _Written:
        # Embeddings run on the embedder's thread: the loop keeps fetching and writing meanwhile.
        # One read of what the index holds for the batch's ids serves both: the versions it
        # supersedes (history) and the stories its articles keep.
        prior = await self.history.prior(decoded, give_up) if decoded else {}
        stored = None if prior is None else {i: h.story for i, h in prior.items() if h.story}
        stories = await self.stories.assign(decoded, stored) if self.stories and decoded else {}
        docs = bulk_docs(decoded, indexed_at=utc_now_iso(), stories=stories)
        await self.history.before(docs, prior or {}, give_up)
        bulk = await self.writer.write(docs, should_abort=give_up)
        await self.history.keep(decoded, docs, bulk, prior or {}, give_up)
        return _Written(bulk, _failures(decoded, bulk))

    def _land(self, flight: _Flight) -> None:
        flight.landed.set()
        del self._flights[flight.ticket]
        if not self._flights:
            # What the tracker still holds was given up (or waits behind it): the loop reads
            # it again from its first offsets, so it is taken afresh.
            self.tracker.reset()
            self._idle.set()

    async def _commit(self) -> None:
        # One commit at a time, of the latest offsets: two in flight could land out of order.
        async with self._committing:
            offsets = self.tracker.ready(self.committer.assignment())
            if not offsets:
                return
            try:
                await self.committer.commit(offsets)
            except CommitFailedError as exc:
                # A rebalance took the partitions (an outcome, not a fault, so not converted):
                # the new owner re-reads from the last commit; external versions make it
                # idempotent.
                metrics.COMMITS_FAILED.inc()
                log.warning("commit refused after rebalance", error=str(exc))


@dataclass
class _Written:
    """What became of part of a batch, and the dead letters of its failures."""

    bulk: BulkResult
    letters: list[DeadLetter]


def _merged(first: _Written, second: _Written) -> _Written:
    bulk = BulkResult(
        indexed=first.bulk.indexed + second.bulk.indexed,
        stale=first.bulk.stale + second.bulk.stale,
        failures=first.bulk.failures + second.bulk.failures,
    )
    return _Written(bulk, first.letters + second.letters)


def _failures(decoded: list[Decoded], result: BulkResult) -> list[DeadLetter]:
    return [dead_letter(decoded[f.position].record, f.code, f.reason) for f in result.failures]


def _observe(decoded: list[Decoded], result: BulkResult, sent: list[DeadLetter]) -> None:
    for letter in sent:
        metrics.observe_dead_letter(letter.code)
        log.warning("dead-lettered", code=letter.code, source=letter.source, reason=letter.message)
    metrics.observe_written(
        min((d.made_at for d in decoded), default=None),
        indexed=result.indexed,
        stale=result.stale,
        failed=len(result.failures),
    )
