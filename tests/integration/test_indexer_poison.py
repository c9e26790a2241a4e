"""No record stops the indexer: old dates, foreign JSON, refusals of a whole bulk, size, rivals."""

from __future__ import annotations

import json

import pytest
from aiokafka import AIOKafkaProducer

from services.common.article import Article
from services.common.dlq import H_CODE, decode_headers
from services.common.es import es_client
from services.common.kafka import ensure_topics
from services.common.settings import Settings
from services.indexer import metrics
from tests.factories import DEFAULT_LEDE, make_article, make_articles
from tests.integration.pipeline_helpers import (
    count_docs,
    publish,
    read_topic,
    running_indexer,
    wait_until,
)

pytestmark = pytest.mark.integration


async def _stored(settings: Settings, ids: list[str]) -> dict[str, dict[str, object]]:
    async with es_client(settings) as es:
        await es.indices.refresh(index=settings.index_alias)
        reply = await es.mget(index=settings.index_alias, ids=ids)
    return {
        d["_id"]: {**d["_source"], "_version": d["_version"]} for d in reply["docs"] if d["found"]
    }


async def _indexed(settings: Settings, count: int) -> bool:
    async with es_client(settings) as es:
        return await count_docs(es, settings) >= count


def _big_article(number: int, size: int) -> Article:
    filler = " ".join(f"word{n % 997}" for n in range(size // 8))
    return make_article(paragraphs=[f"Big story {number}. {DEFAULT_LEDE}", filler])


async def test_articles_before_1970_are_indexed_and_their_edits_win(settings: Settings) -> None:
    first = make_article(date="1890-05-01", updated=None, lede="A flood hit the valley.")
    edit = make_article(date="1890-05-01", updated="May 02, 1890 09:00 UTC", lede=first.body)
    later = make_article(date="1890-05-01", updated="May 03, 1890 10:30 UTC", lede=first.body)
    ancient = make_article(date="0001-01-01", updated=None, lede="The year one.")
    eve = make_article(date="1969-12-31", updated=None, lede="The last day of the sixties.")
    modern = make_articles(5)
    assert first.id == edit.id == later.id
    # Published out of order: the newest Updated: must win all the same.
    await publish(settings, [first, later, edit, ancient, eve, *modern])
    async with running_indexer(settings):
        await wait_until(lambda: _indexed(settings, 8), 60, "every article indexed")
    stored = await _stored(settings, [first.id, ancient.id, eve.id])
    assert stored[first.id]["content_hash"] == later.content_hash
    assert stored[first.id]["_version"] == later.version
    assert stored[ancient.id]["_version"] == ancient.version == 0
    assert ancient.version < eve.version < modern[0].version
    assert await read_topic(settings, settings.topic_dlq, expected=1, timeout=3) == []


async def test_a_record_that_would_break_the_bulk_body_is_indexed(settings: Settings) -> None:
    # Valid JSON over several lines (a foreign producer pretty-printing) once broke the whole
    # NDJSON request: Elasticsearch refused it, and the indexer died on every restart.
    pretty = make_article(lede="Pretty printed. " + DEFAULT_LEDE)
    good = make_articles(6)
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        await publish(settings, good[:3])
        value = json.dumps(pretty.model_dump(mode="json"), indent=2).encode()
        await producer.send_and_wait(settings.topic_articles, value, key=pretty.id.encode())
        await publish(settings, good[3:])
    finally:
        await producer.stop()
    async with running_indexer(settings):
        await wait_until(lambda: _indexed(settings, 7), 60, "all seven indexed")
    assert pretty.id in await _stored(settings, [pretty.id])


async def test_a_bulk_refused_whole_is_split_and_everything_lands(settings: Settings) -> None:
    # Requests allowed past the server's http.max_content_length (32mb): Elasticsearch
    # answers 413 for the whole bulk, which once crashed the indexer at every restart.
    settings = settings.model_copy(
        update={
            "bulk_max_bytes": 96 * 1024 * 1024,
            "batch_max_bytes": 96 * 1024 * 1024,
            "batch_max_wait_ms": 5000,
        }
    )
    articles = [_big_article(n, 900_000) for n in range(45)]
    await publish(settings, articles)
    splits = metrics.BULK_SPLITS._value.get()
    async with running_indexer(settings):
        await wait_until(lambda: _indexed(settings, 45), 180, "all 45 big articles indexed")
    assert metrics.BULK_SPLITS._value.get() > splits, "the 413 was never met: test is void"
    assert await read_topic(settings, settings.topic_dlq, expected=1, timeout=3) == []


async def test_an_article_larger_than_a_bulk_is_dead_lettered_not_sent(settings: Settings) -> None:
    settings = settings.model_copy(update={"bulk_max_bytes": 256 * 1024})
    huge = _big_article(0, 600_000)
    small = make_articles(4)
    await publish(settings, [small[0], huge, *small[1:]])
    async with running_indexer(settings):
        await wait_until(lambda: _indexed(settings, 4), 60, "the four small ones")
        dead = await read_topic(settings, settings.topic_dlq, expected=1)
    assert [decode_headers(r.headers)[H_CODE] for r in dead] == ["too_large"]
    assert dead[0].value == huge.model_dump_json().encode(), "the original bytes, untouched"
    assert huge.id not in await _stored(settings, [huge.id])


async def test_two_contents_under_one_version_leave_a_visible_loser(settings: Settings) -> None:
    first = make_article(paragraphs=[DEFAULT_LEDE, "The first copy."])
    rival = make_article(paragraphs=[DEFAULT_LEDE, "A different copy, same Updated: time."])
    assert (first.id, first.version) == (rival.id, rival.version)
    assert first.content_hash != rival.content_hash
    # The same record twice is a redelivery: no dead letter for that one.
    await publish(settings, [first, first, rival])
    conflicts = metrics.VERSION_CONFLICTS._value.get()
    async with running_indexer(settings):
        await wait_until(lambda: _indexed(settings, 1), 60, "the first copy")
        dead = await read_topic(settings, settings.topic_dlq, expected=1)
    assert [decode_headers(r.headers)[H_CODE] for r in dead] == ["version_conflict"]
    assert dead[0].value == rival.model_dump_json().encode()
    assert metrics.VERSION_CONFLICTS._value.get() == conflicts + 1
    stored = await _stored(settings, [first.id])
    assert stored[first.id]["content_hash"] == first.content_hash
