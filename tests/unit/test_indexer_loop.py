"""The indexer's loop and batch processing on in-memory Kafka and a scripted bulk target."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from aiokafka import TopicPartition

from services.common.dlq import H_CODE, DeadLetterSink
from services.common.errors import BulkRefused
from services.common.settings import Settings
from services.indexer.batch import BatchProcessor
from services.indexer.bulk import BulkLimits, BulkWriter
from services.indexer.bulk_target import Current
from services.indexer.loop import ConsumerLoop
from services.indexer.records import Record
from tests.factories import make_articles
from tests.unit.kafka_fakes import TOPIC, FakeProducer, FakeSource

P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)


class Target:
    """Writes all but the ``refused`` ids (400 items), after ``outage`` refusals (server away)."""

    index = "news"

    def __init__(self, *, refused: frozenset[str] = frozenset(), outage: int = 0) -> None:
        self.refused = refused
        self.outage = outage
        self.written: list[str] = []

    async def bulk(self, body: bytes) -> list[dict[str, Any]]:
        if self.outage:
            self.outage -= 1
            raise BulkRefused(None, "connection refused", "wait")
        ids = [json.loads(line)["index"]["_id"] for line in body.split(b"\n")[:-1:2]]
        self.written += [i for i in ids if i not in self.refused]
        return [{"index": {"status": 400 if i in self.refused else 201}} for i in ids]

    async def current(self, ids: list[str]) -> dict[str, Current]:
        return {}


ARTICLES = make_articles(5)


def _article(n: int) -> bytes:
    return ARTICLES[n].model_dump_json().encode()


def _processor(source: FakeSource, target: Target, producer: FakeProducer) -> BatchProcessor:
    limits = replace(BulkLimits.of(Settings()), backoff_cap=0.001)
    sink = DeadLetterSink(producer, "dlq", max_record_bytes=10**6, backoff=lambda _n: 0.0)
    return BatchProcessor(BulkWriter(target, limits), sink, source)


async def test_a_batch_is_written_then_committed_past_its_last_record() -> None:
    source, target, producer = FakeSource(), Target(), FakeProducer()
    batch: list[Record] = [
        *source.append(0, _article(1), _article(2)),
        *source.append(1, _article(3)),
    ]
    assert await _processor(source, target, producer)(batch, asyncio.Event())
    assert len(target.written) == 3
    assert source.commits == [{P0: 2, P1: 1}]
    assert producer.sent == []


async def test_poison_and_refused_records_are_dead_lettered_and_committed() -> None:
    source, producer = FakeSource(), FakeProducer()
    refused = ARTICLES[3].id
    values = [b"not json", b'{"id": "x"}', _article(3), _article(4)]
    batch: list[Record] = list(source.append(0, *values))
    assert await _processor(source, Target(refused=frozenset({refused})), producer)(
        batch, asyncio.Event()
    )
    codes = [(s.headers[H_CODE], s.headers["newswire.source"]) for s in producer.sent]
    assert codes == [
        (b"not_json", b"kafka:articles/0@0"),
        (b"invalid_article", b"kafka:articles/0@1"),
        (b"index_rejected", b"kafka:articles/0@2"),
    ]
    assert producer.sent[0].value == b"not json", "the original bytes, untouched"
    assert source.commits == [{P0: 4}]


async def test_a_batch_given_up_on_shutdown_is_not_committed() -> None:
    source, producer = FakeSource(), FakeProducer()
    stop = asyncio.Event()
    stop.set()
    batch: list[Record] = list(source.append(0, _article(1)))
    assert not await _processor(source, Target(outage=10**6), producer)(batch, stop)
    assert source.commits == []


async def test_a_revocation_gives_the_batch_up() -> None:
    source, producer = FakeSource(), FakeProducer()
    processor = _processor(source, Target(outage=10**6), producer)
    processor.revoking = True
    assert not await processor(list(source.append(0, _article(1))), asyncio.Event())
    assert source.commits == []


async def test_a_partition_taken_away_meanwhile_is_not_committed() -> None:
    source, producer = FakeSource(), FakeProducer()
    batch: list[Record] = [*source.append(0, _article(1)), *source.append(1, _article(2))]
    source.owned.discard(P1)
    assert await _processor(source, Target(), producer)(batch, asyncio.Event())
    assert source.commits == [{P0: 1}]


def _settings(max_docs: int) -> Settings:
    return Settings(batch_max_docs=max_docs, batch_max_wait_ms=10)


class Handler:
    """Takes batches until ``wanted`` records are done; gives up the first ``abandon`` batches."""

    def __init__(self, wanted: int, *, abandon: int = 0) -> None:
        self.wanted = wanted
        self.abandon = abandon
        self.batches: list[list[tuple[int, int]]] = []
        self.done = 0

    async def __call__(self, batch: list[Record], stop: asyncio.Event) -> bool:
        self.batches.append([(r.partition, r.offset) for r in batch])
        if self.abandon:
            self.abandon -= 1
            return False
        self.done += len(batch)
        if self.done >= self.wanted:
            stop.set()
        return True


async def test_the_loop_hands_every_record_on_in_bounded_batches() -> None:
    source = FakeSource()
    source.append(0, *[b"a"] * 5)
    source.append(1, *[b"b"] * 4)
    handler = Handler(9)
    stop = asyncio.Event()
    loop = ConsumerLoop(source, handler, _settings(2))
    await asyncio.wait_for(loop.run(stop), 5)
    seen = [position for batch in handler.batches for position in batch]
    assert sorted(seen) == [(0, n) for n in range(5)] + [(1, n) for n in range(4)]
    assert all(len(batch) <= 2 for batch in handler.batches)
    assert source.paused == set(), "every partition is fetched from again after a write"


async def test_an_abandoned_batch_is_read_again_from_its_first_offsets() -> None:
    source = FakeSource()
    source.append(0, *[b"a"] * 3)
    handler = Handler(3, abandon=1)
    stop = asyncio.Event()
    loop = ConsumerLoop(source, handler, _settings(100))
    await asyncio.wait_for(loop.run(stop), 5)
    assert source.seeks == [(P0, 0)]
    assert handler.batches[0] == handler.batches[-1] == [(0, 0), (0, 1), (0, 2)]
    assert handler.done == 3


async def test_the_loop_stops_when_told_and_checks_in_while_idle() -> None:
    source = FakeSource()
    stop = asyncio.Event()
    loop = ConsumerLoop(source, Handler(1), _settings(10))
    started = loop.last_loop
    task = asyncio.create_task(loop.run(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert loop.last_loop > started
