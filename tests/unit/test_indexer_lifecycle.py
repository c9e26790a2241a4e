"""The indexer's lifecycle records: status events written as such, tombstones passed over,
every version kept in the versions index (a killed article's forgotten)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from elasticsearch import AsyncElasticsearch

from services.common.dlq import DeadLetterSink
from services.common.settings import Settings
from services.common.status_event import KILL_VERSION, StatusEvent
from services.indexer.batch import BatchProcessor
from services.indexer.bulk import BulkDoc, BulkLimits, BulkResult, BulkWriter, ItemFailure
from services.indexer.bulk_target import Current
from services.indexer.history import History, VersionHistory
from services.indexer.records import Decoded, Record, decode
from tests.factories import make_articles
from tests.unit.kafka_fakes import FakeProducer, FakeSource

ARTICLES = make_articles(3)
KILL = StatusEvent(
    event="canceled", id=ARTICLES[1].id, at=datetime(2026, 12, 2, tzinfo=UTC), source="t"
)


class Recorder:
    """An index that takes every document and remembers its source by id."""

    def __init__(self, index: str) -> None:
        self.index = index
        self.docs: dict[str, dict[str, Any]] = {}

    async def bulk(self, body: bytes) -> list[dict[str, Any]]:
        lines = body.split(b"\n")[:-1]
        for meta, source in zip(lines[::2], lines[1::2], strict=True):
            self.docs[json.loads(meta)["index"]["_id"]] = json.loads(source)
        return [{"index": {"status": 201}} for _ in lines[::2]]

    async def current(self, ids: list[str]) -> dict[str, Current]:
        return {}


class Kept(History):
    """A history that records what it was asked to keep."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def keep(
        self,
        decoded: list[Decoded],
        docs: list[BulkDoc],
        result: BulkResult,
        give_up: Callable[[], bool],
    ) -> None:
        self.calls.append([d.id for d in docs])


def _limits() -> BulkLimits:
    return replace(BulkLimits.of(Settings()), backoff_cap=0.001)


def test_a_tombstone_is_passed_over_and_a_status_event_decoded() -> None:
    source = FakeSource()
    records: list[Record] = list(source.append(0, ARTICLES[0].model_dump_json().encode(), b""))
    records += source.append(0, KILL.model_dump_json().encode())
    decoded, dead = decode(records)
    assert dead == []
    assert [type(d.event).__name__ for d in decoded] == ["Article", "StatusEvent"]


async def test_a_kill_is_written_as_a_status_document_above_every_version() -> None:
    source, producer, index, kept = FakeSource(), FakeProducer(), Recorder("news"), Kept()
    sink = DeadLetterSink(producer, "dlq", max_record_bytes=10**6, backoff=lambda _n: 0.0)
    processor = BatchProcessor(BulkWriter(index, _limits()), sink, source, kept)
    batch: list[Record] = list(
        source.append(0, ARTICLES[0].model_dump_json().encode(), KILL.model_dump_json().encode())
    )
    assert await processor(batch, asyncio.Event())
    status = index.docs[KILL.id]
    assert (status["status"], status["version"]) == ("canceled", KILL_VERSION)
    assert status["status_at"] == "2026-12-02T00:00:00.000Z"
    assert "body" not in status
    assert "title" not in status
    assert producer.sent == []
    assert kept.calls == [[ARTICLES[0].id, KILL.id]]


async def test_versions_are_kept_by_id_and_version_but_not_a_killed_articles() -> None:
    versions = Recorder("news-versions")
    # No kill in the batch: the client (which would forget killed articles' versions) is idle.
    es = AsyncElasticsearch("http://127.0.0.1:9")
    history = VersionHistory(BulkWriter(versions, _limits()), es)
    source = FakeSource()
    values = [a.model_dump_json().encode() for a in ARTICLES]
    decoded, _ = decode(list(source.append(0, *values)))
    docs = [
        BulkDoc(a.id, a.version, v, a.content_hash) for a, v in zip(ARTICLES, values, strict=True)
    ]
    result = BulkResult(indexed=2, failures=[ItemFailure(2, "index_rejected", "refused")])
    try:
        await history.keep(decoded, docs, result, lambda: False)
    finally:
        await es.close()
    assert sorted(versions.docs) == sorted(f"{a.id}:{a.version}" for a in ARTICLES[:2])
