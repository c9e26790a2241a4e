"""The consumer loop: batches from Kafka to a handler, several in flight, the next fetched."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence, Set
from typing import Any, Protocol

from aiokafka import TopicPartition

from services.common.settings import Settings
from services.indexer import metrics
from services.indexer.batch import Committer
from services.indexer.checkpoint import rewind_offsets
from services.indexer.records import Record

# Handles one batch: True when it is done (committed), False when it was given up.
BatchHandler = Callable[[list[Record], asyncio.Event], Coroutine[Any, Any, bool]]


class RecordSource(Committer, Protocol):
    """What the loop needs of a group consumer (aiokafka's has it; unit tests pass a fake)."""

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> Mapping[TopicPartition, Sequence[Record]]:
        """Records fetched since the last call, per partition, waiting up to ``timeout_ms``."""
        ...

    def pause(self, *partitions: TopicPartition) -> None:
        """Stop fetching from these partitions."""
        ...

    def resume(self, *partitions: TopicPartition) -> None:
        """Fetch from these partitions again."""
        ...

    def seek(self, partition: TopicPartition, offset: int) -> None:
        """Read ``partition`` from ``offset`` next."""
        ...

    def highwater(self, partition: TopicPartition) -> int | None:
        """The partition's end offset as last fetched (None before any fetch)."""
        ...

    async def position(self, partition: TopicPartition) -> int:
        """The offset of the next record to be read from ``partition``."""
        ...


class ConsumerLoop:
    """Batches records and hands them on, up to ``bulk_concurrency`` batches in flight."""

    def __init__(self, source: RecordSource, handle: BatchHandler, settings: Settings) -> None:
        self.source = source
        self.handle = handle
        self.settings = settings
        self.last_loop = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        """Batch and hand on until ``stop`` is set; the batches in flight are finished first.

        The next batch is fetched while the others are written. While every slot is held up,
        this loop is the only caller of ``getmany``: it keeps the member alive with every
        partition paused. A batch given up is read again from its first offsets, with
        whatever was read after it.
        """
        flights: dict[asyncio.Task[bool], list[Record]] = {}
        while not stop.is_set():
            self.last_loop = time.monotonic()
            batch = await self._collect(stop)
            if batch:
                await self._room(flights, self.settings.bulk_concurrency - 1)
            again = self._reap(flights)
            if again:
                await self._room(flights, 0)
                self._rewind([*again, *self._reap(flights), *batch])
                continue
            # No await since the reap: a batch given up meanwhile cannot be passed unseen.
            if batch:
                flights[asyncio.create_task(self.handle(batch, stop))] = batch
            await self._update_lag()
        await self._room(flights, 0)

    async def _room(self, flights: dict[asyncio.Task[bool], list[Record]], most: int) -> None:
        """Wait until at most ``most`` batches are in flight, staying in the group meanwhile."""
        paused = False
        while len(busy := [task for task in flights if not task.done()]) > most:
            done, _ = await asyncio.wait(busy, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                self.last_loop = time.monotonic()
                await self._keepalive()
                paused = True
        if paused:
            self.source.resume(*self.source.assignment())

    @staticmethod
    def _reap(flights: dict[asyncio.Task[bool], list[Record]]) -> list[Record]:
        """Forget the batches that landed; returns the records of those given up."""
        again: list[Record] = []
        for task in [task for task in flights if task.done()]:
            batch = flights.pop(task)
            if not task.result():
                again.extend(batch)
        return again

    async def _collect(self, stop: asyncio.Event) -> list[Record]:
        """Up to batch_max_docs / batch_max_bytes records, waiting at most batch_max_wait_ms."""
        s = self.settings
        records: list[Record] = []
        size = 0
        deadline = None
        while not stop.is_set():
            wait_ms = 500 if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            got = await self.source.getmany(
                timeout_ms=wait_ms, max_records=s.batch_max_docs - len(records)
            )
            for part in got.values():
                records.extend(part)
                size += sum(len(r.value or b"") for r in part)
            if records and deadline is None:
                deadline = time.monotonic() + s.batch_max_wait_ms / 1000
            full = len(records) >= s.batch_max_docs or size >= s.batch_max_bytes
            if full or (deadline is not None and time.monotonic() >= deadline) or not records:
                break
        return records

    def _rewind(self, records: list[Record]) -> None:
        """After an abandoned batch, seek back so the records are read again (never skipped)."""
        for tp, offset in rewind_offsets(records, self.source.assignment()).items():
            self.source.seek(tp, offset)

    async def _keepalive(self) -> None:
        """While every write is held up: pause fetching (no unbounded buffer), stay in the group.

        Polling with every partition paused returns nothing but tells the group coordinator
        that this member is alive (max_poll_interval_ms); ``run`` resumes them afterwards.
        """
        self.source.pause(*self.source.assignment())
        stray = await self.source.getmany(timeout_ms=0)
        for tp, records in stray.items():  # partitions assigned meanwhile: read them again later
            self.source.seek(tp, records[0].offset)

    async def _update_lag(self) -> None:
        owned: Set[TopicPartition] = self.source.assignment()
        for tp in owned:
            high = self.source.highwater(tp)
            if high is not None:
                metrics.observe_lag(tp.partition, high - await self.source.position(tp))
