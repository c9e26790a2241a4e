"""Several bulks in flight on the live stack: versions and rival edits as with one at a time."""

from __future__ import annotations

import pytest

from services.common.article import Article
from services.common.dlq import H_CODE, decode_headers
from services.common.settings import Settings
from tests.factories import DEFAULT_LEDE, make_article
from tests.integration.pipeline_helpers import publish, read_topic, running_indexer, wait_until
from tests.integration.test_indexer import assert_index_holds, committed_total, corpus_articles

pytestmark = pytest.mark.integration


def _rivals(count: int) -> list[tuple[Article, Article]]:
    """Pairs of one id and one version with two contents: the first in the topic must stay."""
    pairs = []
    for n in range(count):
        lede = f"Rival story {n}. {DEFAULT_LEDE}"
        first = make_article(paragraphs=[lede, "The first copy."])
        rival = make_article(paragraphs=[lede, "A different copy, same Updated: time."])
        assert (first.id, first.version) == (rival.id, rival.version)
        pairs.append((first, rival))
    return pairs


def _outcome(records: list[Article]) -> tuple[dict[str, Article], list[Article]]:
    """What one batch at a time leaves: per id the first of its newest version, and the losers.

    A record whose version the index holds with other content is a ``version_conflict``.
    """
    held: dict[str, Article] = {}
    losers: list[Article] = []
    for article in records:
        there = held.get(article.id)
        if there is None or article.version > there.version:
            held[article.id] = article
        elif article.version == there.version and article.content_hash != there.content_hash:
            losers.append(article)
    return held, losers


async def test_tiny_batches_in_flight_together_keep_versions_and_rivals_in_topic_order(
    settings: Settings,
) -> None:
    # Batches of three with four in flight: an article's versions and its rival's copies
    # fall into different batches that are written at the same time.
    settings = settings.model_copy(update={"batch_max_docs": 3, "bulk_concurrency": 4})
    edits = corpus_articles(240, seed=3)
    pairs = _rivals(8)
    records: list[Article] = []
    for n, (first, rival) in enumerate(pairs):
        records += [first, *edits[n * 30 : n * 30 + 15], rival, *edits[n * 30 + 15 : n * 30 + 30]]
    expected, losers = _outcome(records)
    assert len(expected) < len(edits), "the corpus must contain later edits"
    assert {rival.id for _, rival in pairs} <= {loser.id for loser in losers}
    await publish(settings, records)

    async def all_committed() -> bool:
        return await committed_total(settings) == len(records)

    async with running_indexer(settings):
        await wait_until(all_committed, 120, "every offset committed")
        dead = await read_topic(settings, settings.topic_dlq, expected=len(losers) + 1)
    assert [decode_headers(r.headers)[H_CODE] for r in dead] == ["version_conflict"] * len(losers)
    assert sorted(r.value for r in dead) == sorted(a.model_dump_json().encode() for a in losers)
    await assert_index_holds(settings, expected)
