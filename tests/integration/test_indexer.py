"""The indexer on the live stack: exactly once in effect through redelivery, crashes, outages."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from services.bench.corpus import Corpus
from services.bench.procs import free_port
from services.common.article import Article
from services.common.dlq import H_CODE, decode_headers
from services.common.es import es_client
from services.common.kafka import ensure_topics
from services.common.settings import Settings
from services.ingest.parser import parse_article
from services.stack.local_stack import LocalStack
from tests.integration.pipeline_helpers import (
    count_docs,
    publish,
    read_topic,
    running_indexer,
    spawn,
    wait_until,
)

pytestmark = pytest.mark.integration


def corpus_articles(count: int, seed: int) -> list[Article]:
    """Well-formed articles of the deterministic corpus (with some later edits among them)."""
    docs = Corpus(seed, malformed_share=0.0).docs(count)
    return [parse_article(d.text.encode(), source=f"corpus:{d.seq}") for d in docs]


def newest(articles: list[Article]) -> dict[str, Article]:
    """The newest version of each id: what the index must hold."""
    best: dict[str, Article] = {}
    for article in articles:
        if article.id not in best or article.version > best[article.id].version:
            best[article.id] = article
    return best


async def committed_total(settings: Settings) -> int:
    """Sum of the group's committed offsets on the article topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.indexer_group)
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == settings.topic_articles)


async def assert_index_holds(settings: Settings, expected: dict[str, Article]) -> None:
    """Exactly the expected ids, each at its newest version and content."""
    async with es_client(settings) as es:
        assert await count_docs(es, settings) == len(expected)
        reply = await es.search(
            index=settings.index_alias,
            size=len(expected),
            source_includes=["id", "version", "content_hash"],
            query={"match_all": {}},
        )
    found = {h["_source"]["id"]: h["_source"] for h in reply["hits"]["hits"]}
    assert set(found) == set(expected)
    for doc_id, article in expected.items():
        assert found[doc_id]["version"] == article.version
        assert found[doc_id]["content_hash"] == article.content_hash


async def test_redelivery_indexes_each_article_once_at_its_newest_version(
    settings: Settings,
) -> None:
    articles = corpus_articles(400, seed=1)
    expected = newest(articles)
    assert len(expected) < len(articles), "the corpus must contain later edits"
    await publish(settings, articles)
    async with es_client(settings) as es, running_indexer(settings):
        await wait_until(lambda: committed_total(settings), 60, "first pass to commit")
        await wait_until(
            lambda: _eq(committed_total(settings), len(articles)), 60, "all offsets committed"
        )
        assert await count_docs(es, settings) == len(expected)
    # Forced redelivery: another group reads the whole topic into the same index again.
    again = settings.model_copy(update={"indexer_group": settings.indexer_group + "-again"})
    async with running_indexer(again):
        await wait_until(lambda: _eq(committed_total(again), len(articles)), 60, "redelivery")
    await assert_index_holds(settings, expected)


async def _eq(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def test_an_older_version_arriving_later_does_not_win(settings: Settings) -> None:
    text = "date 2024-03-01 world\nUpdated: Mar 01, 2024 {clock} GMT\n\nLede of the story.\n\n{p}\n"
    newer = parse_article(text.format(clock="18:00", p="Final text.").encode(), source="n")
    older = parse_article(text.format(clock="09:00", p="First draft.").encode(), source="o")
    assert newer.id == older.id
    assert newer.version > older.version
    await publish(settings, [newer, older])
    async with running_indexer(settings):
        await wait_until(lambda: _eq(committed_total(settings), 2), 60, "both consumed")
    await assert_index_holds(settings, {newer.id: newer})


async def test_poison_records_go_to_the_dlq_and_the_stream_goes_on(settings: Settings) -> None:
    await ensure_topics(settings.model_copy(update={"topic_partitions": 1}))
    good = corpus_articles(20, seed=3)
    poison = [b"this is not json", b'{"id": "0123456789abcdef", "schema_version": 1}']
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic_articles, poison[0], key=b"p0")
        await publish(settings, good[:10])
        await producer.send_and_wait(settings.topic_articles, poison[1], key=b"p1")
        await publish(settings, good[10:])
    finally:
        await producer.stop()
    async with running_indexer(settings):
        await wait_until(lambda: _eq(committed_total(settings), 22), 60, "all 22 committed")
    await assert_index_holds(settings, newest(good))
    dead = await read_topic(settings, settings.topic_dlq, expected=2)
    assert sorted(r.value for r in dead) == sorted(poison)
    codes = {r.key: decode_headers(r.headers)[H_CODE] for r in dead}
    assert codes == {b"p0": "not_json", b"p1": "invalid_article"}


async def test_kill_9_mid_stream_loses_nothing_and_duplicates_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={"batch_max_docs": 50, "batch_max_wait_ms": 50, "indexer_port": free_port()}
    )
    articles = corpus_articles(3000, seed=4)
    expected = newest(articles)
    await publish(settings, articles)
    log = tmp_path / "indexer.log"
    async with es_client(settings) as es:
        for _ in range(3):
            proc = spawn("services.indexer", settings, log)
            try:
                await wait_until(lambda: count_docs(es, settings), 60, "indexing to start")
            finally:
                os.kill(proc.pid, signal.SIGKILL)  # mid-stream: no flush, no commit, no goodbye
                proc.wait()
        proc = spawn("services.indexer", settings, log)
        try:
            await wait_until(
                lambda: _eq(committed_total(settings), len(articles)), 120, "catch-up after kills"
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0, log.read_text()[-2000:]
    await assert_index_holds(settings, expected)


async def test_indexer_waits_out_an_elasticsearch_outage(
    settings: Settings, local_stack: LocalStack
) -> None:
    articles = corpus_articles(1000, seed=5)
    expected = newest(articles)
    await publish(settings, articles[:500])
    es_server = next(s for s in local_stack.servers() if s.name == "elasticsearch")
    async with running_indexer(settings):
        await wait_until(lambda: _eq(committed_total(settings), 500), 60, "first half")
        es_server.process.stop()
        await publish(settings, articles[500:])
        await asyncio.sleep(20)
        assert await committed_total(settings) == 500, "nothing may be committed while ES is down"
        await asyncio.to_thread(local_stack.up)
        await wait_until(lambda: _eq(committed_total(settings), 1000), 120, "catch-up after outage")
    await assert_index_holds(settings, expected)
