"""The indexer's lifecycle records: status events written as such, tombstones passed over,
every version an article no longer shows kept in the versions index (a killed article's
forgotten)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest
from elastic_transport import ConnectionError as TransportConnectionError
from elasticsearch import AsyncElasticsearch

from services.common.article import Article
from services.common.dlq import DeadLetterSink
from services.common.errors import BatchAbandoned, BulkRefused
from services.common.settings import Settings
from services.common.status_event import KILL_VERSION, StatusEvent
from services.indexer import metrics
from services.indexer.batch import BatchProcessor
from services.indexer.bulk import BulkDoc, BulkLimits, BulkResult, BulkWriter, ItemFailure
from services.indexer.bulk_target import Current, EsBulkTarget, Held, refusal
from services.indexer.history import (
    History,
    Prior,
    VersionHistory,
    as_versions,
    overtaken,
    superseded,
)
from services.indexer.records import Decoded, Record, bulk_docs, decode
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
        prior: Prior,
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


class Shown:
    """An article index as the history reads it: what each id shows now."""

    def __init__(self, docs: dict[str, dict[str, Any]], away: int = 0) -> None:
        self.docs = docs
        self.away = away  # lookups refused as if Elasticsearch were down
        self.asked: list[list[str]] = []

    async def held(self, ids: list[str]) -> dict[str, Held]:
        self.asked.append(ids)
        if self.away:
            self.away -= 1
            raise refusal(TransportConnectionError("connection refused"))
        return {
            i: Held(self.docs[i]["version"], self.docs[i].get("story_id"))
            for i in ids
            if i in self.docs
        }

    async def sources(self, ids: list[str]) -> dict[str, tuple[int, dict[str, Any]]]:
        return {i: (self.docs[i]["version"], self.docs[i]) for i in ids if i in self.docs}


def _batch(*articles: Article) -> tuple[list[Decoded], list[BulkDoc]]:
    values = [a.model_dump_json().encode() for a in articles]
    decoded, _ = decode(list(FakeSource().append(0, *values)))
    docs = [
        BulkDoc(a.id, a.version, v, a.content_hash) for a, v in zip(articles, values, strict=True)
    ]
    return decoded, docs


def _history(shown: Shown, versions: Recorder) -> tuple[VersionHistory, AsyncElasticsearch]:
    # No kill in these batches: the client (which would forget killed articles') stays idle.
    es = AsyncElasticsearch("http://127.0.0.1:9")
    return VersionHistory(BulkWriter(versions, _limits()), shown, es), es


def _later(article: Article, hours: int, body: str) -> Article:
    return article.model_copy(
        update={"updated_at": datetime(2026, 12, 3, hours, tzinfo=UTC), "body": body}
    )


def test_only_versions_below_their_articles_newest_are_superseded() -> None:
    one, two = ARTICLES[0], ARTICLES[1]
    newer = _later(one, 9, "Corrected.")
    decoded, docs = _batch(one, newer, two)
    # The index shows nothing yet: the batch's older version of ``one`` is superseded.
    assert superseded(decoded, docs, {}, set()) == [0]
    # The newer one failed: the older one is what the article shows, not kept twice.
    assert superseded(decoded, docs, {}, {1}) == []
    # The index shows a version newer than the whole batch: both of ``one``'s arrived late.
    assert superseded(decoded, docs, {one.id: Held(newer.version + 1, None)}, set()) == [0, 1]
    # A redelivery of what the index shows is not a superseded version.
    assert superseded(decoded[2:], docs[2:], {two.id: Held(two.version, None)}, set()) == []
    shows = {one.id: Held(one.version, None), two.id: Held(two.version, None)}
    assert overtaken(docs, shows) == [one.id]
    assert overtaken(docs, {two.id: Held(two.version + 1, None)}) == []


async def test_a_shown_version_is_copied_before_a_batch_supersedes_it() -> None:
    one, two = ARTICLES[0], ARTICLES[1]
    newer = _later(one, 9, "Corrected.")
    held = {"id": two.id, "version": two.version - 1, "status": "withheld"}
    shown_one = {**one.model_dump(mode="json"), "version": one.version, "story_id": "s1"}
    shown = Shown({one.id: shown_one, two.id: held})
    versions = Recorder("news-versions")
    history, es = _history(shown, versions)
    decoded, docs = _batch(newer, two)
    try:
        prior = await history.prior(decoded, lambda: False)
        assert prior is not None
        await history.before(docs, prior, lambda: False)
        await history.keep(decoded, docs, BulkResult(indexed=2), prior, lambda: False)
    finally:
        await es.close()
    assert prior == {one.id: Held(one.version, "s1"), two.id: Held(two.version - 1, None)}
    # The version ``one`` showed is kept, with its content; a hold has none to keep, and the
    # batch's own versions are what the articles show now.
    assert sorted(versions.docs) == [f"{one.id}:{one.version}"]
    assert versions.docs[f"{one.id}:{one.version}"]["body"] == one.body


async def test_the_versions_lookup_is_asked_again_while_elasticsearch_is_away() -> None:
    one = ARTICLES[0]
    shown = Shown({one.id: {**one.model_dump(mode="json"), "version": one.version}}, away=2)
    versions = Recorder("news-versions")
    history, es = _history(shown, versions)
    decoded, docs = _batch(_later(one, 9, "Corrected."))
    try:
        prior = await history.prior(decoded, lambda: False)
        assert prior is not None
        await history.before(docs, prior, lambda: False)
    finally:
        await es.close()
    assert len(shown.asked) == 3
    assert sorted(versions.docs) == [f"{one.id}:{one.version}"]


async def test_versions_are_kept_by_id_and_version_but_not_the_shown_or_refused() -> None:
    versions = Recorder("news-versions")
    history, es = _history(Shown({}), versions)
    one = ARTICLES[0]
    articles = [one, _later(one, 9, "Corrected."), _later(one, 10, "Again."), *ARTICLES[1:]]
    decoded, docs = _batch(*articles)
    result = BulkResult(indexed=4, failures=[ItemFailure(1, "index_rejected", "refused")])
    try:
        late = {ARTICLES[2].id: Held(ARTICLES[2].version + 1, None)}
        await history.keep(decoded, docs, result, late, lambda: False)
    finally:
        await es.close()
    # Kept: the first version (superseded in the batch) and the late one; not the refused one,
    # not what the articles show.
    assert sorted(versions.docs) == sorted(f"{a.id}:{a.version}" for a in (one, ARTICLES[2]))


class Refusing(Shown):
    """An article index that refuses every read for good (a 400)."""

    async def held(self, ids: list[str]) -> dict[str, Held]:
        raise BulkRefused(400, "bad request", "split")


class Overloaded(Recorder):
    """A versions index whose every item is refused as overloaded (429)."""

    async def bulk(self, body: bytes) -> list[dict[str, Any]]:
        lines = body.split(b"\n")[:-1]
        busy = {"status": 429, "error": {"type": "es_rejected_execution_exception"}}
        return [{"index": busy} for _ in lines[::2]]


class Replying:
    """Just enough of a client for ``EsBulkTarget``'s reads: one canned ``_mget`` reply."""

    def __init__(self, reply: dict[str, Any]) -> None:
        self.reply = reply

    async def mget(self, **_: Any) -> Any:
        return SimpleNamespace(body=self.reply)


async def test_a_refused_lookup_leaves_the_stories_their_own_and_is_counted() -> None:
    history, es = _history(Refusing({}), Recorder("news-versions"))
    before = metrics.HISTORY_FAILED._value.get()
    try:
        decoded, _ = _batch(ARTICLES[0])
        assert await history.prior(decoded, lambda: False) is None
    finally:
        await es.close()
    assert metrics.HISTORY_FAILED._value.get() == before + 1


async def test_a_copy_the_versions_index_keeps_refusing_gives_the_batch_up() -> None:
    one = ARTICLES[0]
    shown = Shown({one.id: {**one.model_dump(mode="json"), "version": one.version}})
    versions = Overloaded("news-versions")
    es = AsyncElasticsearch("http://127.0.0.1:9")
    limits = replace(_limits(), max_retries=1)
    history = VersionHistory(BulkWriter(versions, limits), shown, es)
    decoded, docs = _batch(_later(one, 9, "Corrected."))
    try:
        prior = await history.prior(decoded, lambda: False)
        assert prior is not None
        with pytest.raises(BatchAbandoned):
            await history.before(docs, prior, lambda: False)
    finally:
        await es.close()


def test_nothing_of_an_article_killed_already_comes_back_as_a_version() -> None:
    one = ARTICLES[0]
    decoded, docs = _batch(one, _later(one, 9, "Corrected."))
    assert superseded(decoded, docs, {one.id: Held(KILL_VERSION, None)}, set()) == []


async def test_a_document_that_could_not_be_read_is_not_taken_for_absent() -> None:
    broken = {"docs": [{"_id": "a", "error": {"type": "no_shard_available_action_exception"}}]}
    target = EsBulkTarget(cast(AsyncElasticsearch, Replying(broken)), "news")
    with pytest.raises(BulkRefused) as refused:
        await target.held(["a"])
    assert refused.value.retriable
    with pytest.raises(BulkRefused):
        await target.sources(["a"])
    found = {"docs": [{"_id": "a", "_version": 3, "found": True, "_source": {"story_id": "s"}}]}
    target = EsBulkTarget(cast(AsyncElasticsearch, Replying(found)), "news")
    assert await target.held(["a", "b"]) == {"a": Held(3, "s")}


def test_a_replayed_batch_is_kept_as_versions_but_not_what_it_kills_or_refuses() -> None:
    source = FakeSource()
    values = [a.model_dump_json().encode() for a in ARTICLES] + [KILL.model_dump_json().encode()]
    decoded, _ = decode(list(source.append(0, *values)))
    docs = bulk_docs(decoded, indexed_at="2026-12-06T00:00:00.000Z")
    kept = as_versions(decoded, docs, failed={2})
    # ARTICLES[1] is killed in the batch, ARTICLES[2] refused, the kill itself no version.
    assert [d.id for d in kept] == [f"{ARTICLES[0].id}:{ARTICLES[0].version}"]
