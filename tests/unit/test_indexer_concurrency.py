"""Several batches in flight: commits in order whatever order they finish in, ids never raced."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from aiokafka import TopicPartition

from services.common.dlq import DeadLetterSink
from services.common.errors import BulkRefused
from services.common.settings import Settings
from services.indexer.batch import BatchProcessor
from services.indexer.bulk import BulkLimits, BulkWriter
from services.indexer.bulk_target import Current
from services.indexer.loop import ConsumerLoop
from services.indexer.records import Record
from tests.factories import make_article, make_articles
from tests.unit.kafka_fakes import TOPIC, FakeProducer, FakeSource

P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
ARTICLES = make_articles(6)


def _value(n: int) -> bytes:
    return ARTICLES[n].model_dump_json().encode()


class GatedTarget:
    """Holds each bulk request until its first id's gate opens; records the order of writes."""

    index = "news"

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.started: list[list[str]] = []
        self.written: list[str] = []
        self.down = False

    def gate(self, article_id: str) -> asyncio.Event:
        return self.gates.setdefault(article_id, asyncio.Event())

    async def bulk(self, body: bytes) -> list[dict[str, Any]]:
        ids = [json.loads(line)["index"]["_id"] for line in body.split(b"\n")[:-1:2]]
        self.started.append(ids)
        if self.down:
            raise BulkRefused(None, "connection refused", "wait")
        await self.gate(ids[0]).wait()
        self.written += ids
        return [{"index": {"status": 201}} for _ in ids]

    async def current(self, ids: list[str]) -> dict[str, Current]:
        return {}


def _processor(source: FakeSource, target: GatedTarget) -> BatchProcessor:
    limits = replace(BulkLimits.of(Settings()), backoff_cap=0.001)
    sink = DeadLetterSink(FakeProducer(), "dlq", max_record_bytes=10**6, backoff=lambda _n: 0.0)
    return BatchProcessor(BulkWriter(target, limits), sink, source)


async def _until(condition: Any) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never met")


async def test_a_later_batch_finishing_first_commits_nothing_below_the_earlier() -> None:
    source, target = FakeSource(), GatedTarget()
    processor = _processor(source, target)
    first: list[Record] = list(source.append(0, _value(0), _value(1)))
    second: list[Record] = [*source.append(0, _value(2)), *source.append(1, _value(3))]
    stop = asyncio.Event()
    one = asyncio.create_task(processor(first, stop))
    two = asyncio.create_task(processor(second, stop))
    await _until(lambda: len(target.started) == 2)  # both requests in flight at once
    target.gate(ARTICLES[2].id).set()
    assert await two
    assert source.commits == [{P1: 1}], "P0 waits for the first batch; P1 has nothing before"
    target.gate(ARTICLES[0].id).set()
    assert await one
    assert source.commits == [{P1: 1}, {P0: 3}]


async def test_an_article_in_flight_waits_for_its_batch_and_keeps_topic_order() -> None:
    source, target = FakeSource(), GatedTarget()
    processor = _processor(source, target)
    older = make_article(lede="One story.", updated_at=None)
    rival = older.model_copy(update={"title": "A rival edit", "content_hash": "sha256:" + "0" * 64})
    first: list[Record] = list(source.append(0, older.model_dump_json().encode()))
    second: list[Record] = list(source.append(0, rival.model_dump_json().encode(), _value(4)))
    stop = asyncio.Event()
    one = asyncio.create_task(processor(first, stop))
    two = asyncio.create_task(processor(second, stop))
    target.gate(ARTICLES[4].id).set()
    await _until(lambda: target.written == [ARTICLES[4].id])
    for _ in range(20):
        await asyncio.sleep(0)
    assert target.started == [[older.id], [ARTICLES[4].id]], "the rival waits for the first"
    target.gate(older.id).set()
    assert await one
    assert await two
    assert target.started == [[older.id], [ARTICLES[4].id], [older.id]]
    assert target.written == [ARTICLES[4].id, older.id, older.id]
    assert source.commits == [{P0: 1}, {P0: 3}]


async def test_a_batch_waiting_on_one_given_up_gives_up_too() -> None:
    source, target = FakeSource(), GatedTarget()
    processor = _processor(source, target)
    first: list[Record] = list(source.append(0, _value(0)))
    second: list[Record] = list(source.append(0, _value(0), _value(1)))
    stop = asyncio.Event()
    target.down = True
    one = asyncio.create_task(processor(first, stop))
    two = asyncio.create_task(processor(second, stop))
    await _until(lambda: len(target.started) >= 1)
    processor.revoking = True
    drained = asyncio.create_task(processor.drained())
    assert not await one
    assert not await two, "written before the first, a rival edit would win over the original"
    await asyncio.wait_for(drained, 5)
    assert source.commits == []
    assert target.written == []


async def test_drained_waits_for_every_batch_in_flight() -> None:
    source, target = FakeSource(), GatedTarget()
    processor = _processor(source, target)
    stop = asyncio.Event()
    one = asyncio.create_task(processor(list(source.append(0, _value(0))), stop))
    two = asyncio.create_task(processor(list(source.append(1, _value(1))), stop))
    await _until(lambda: len(target.started) == 2)
    drained = asyncio.create_task(processor.drained())
    target.gate(ARTICLES[0].id).set()
    assert await one
    await asyncio.sleep(0)
    assert not drained.done(), "one batch is still in flight"
    target.gate(ARTICLES[1].id).set()
    assert await two
    await asyncio.wait_for(drained, 5)


class SlowHandler:
    """Counts batches in flight at once; gives up the first ``abandon`` batches."""

    def __init__(self, wanted: int, *, abandon: int = 0) -> None:
        self.wanted = wanted
        self.abandon = abandon
        self.inflight = 0
        self.most = 0
        self.done: list[tuple[int, int]] = []

    async def __call__(self, batch: list[Record], stop: asyncio.Event) -> bool:
        self.inflight += 1
        self.most = max(self.most, self.inflight)
        await asyncio.sleep(0.01)
        self.inflight -= 1
        if self.abandon:
            self.abandon -= 1
            return False
        self.done += [(r.partition, r.offset) for r in batch]
        if len(set(self.done)) >= self.wanted:
            stop.set()
        return True


def _settings(concurrency: int) -> Settings:
    return Settings(batch_max_docs=2, batch_max_wait_ms=1, bulk_concurrency=concurrency)


async def test_the_loop_keeps_as_many_batches_in_flight_as_allowed_and_no_more() -> None:
    source = FakeSource()
    source.append(0, *[b"a"] * 8)
    source.append(1, *[b"b"] * 8)
    for concurrency in (1, 3):
        source.next.clear()
        handler = SlowHandler(16)
        await asyncio.wait_for(_drive(source, handler, concurrency), 5)
        assert handler.most == concurrency
        assert sorted(handler.done) == [(p, n) for p in (0, 1) for n in range(8)]
    assert source.paused == set()


async def _drive(source: FakeSource, handler: SlowHandler, concurrency: int) -> None:
    stop = asyncio.Event()
    original = handler.__call__

    async def call(batch: list[Record], _stop: asyncio.Event) -> bool:
        return await original(batch, stop)

    await ConsumerLoop(source, call, _settings(concurrency)).run(stop)


async def test_a_batch_given_up_with_others_in_flight_is_read_again_with_what_followed() -> None:
    source = FakeSource()
    source.append(0, *[b"a"] * 6)
    handler = SlowHandler(6, abandon=1)
    await asyncio.wait_for(_drive(source, handler, 2), 5)
    assert source.seeks[0] == (P0, 0), "back to the first offset of the batch given up"
    assert sorted(set(handler.done)) == [(0, n) for n in range(6)]
