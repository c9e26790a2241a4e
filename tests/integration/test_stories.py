"""Stories on the live stack: near-duplicates share a story id, through the real indexer."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest

from services.common.article import Article
from services.common.embedding import Embedder, embed_text
from services.common.es import es_client
from services.common.fields import EMBEDDING, STORY_ID
from services.common.settings import Settings
from services.indexer.mapping import ensure_index, to_document
from services.indexer.stories import StoryAssigner, Text, story_fields
from services.ingest.parser import parse_path
from tests.factories import mapping_v5
from tests.integration.pipeline_helpers import publish, running_indexer, wait_until
from tests.integration.test_indexer import committed_total

pytestmark = pytest.mark.integration

STORIES = Path(__file__).resolve().parents[2] / "seeds" / "stories"


def story_articles(*names: str) -> list[Article]:
    """Judged articles of seeds/stories/ by file name."""
    return [parse_path(STORIES / f"{name}.txt") for name in names]


async def stored(settings: Settings) -> dict[str, dict[str, object]]:
    """Every stored document's story id and embedding length, by article id."""
    async with es_client(settings) as es:
        await es.indices.refresh(index=settings.index_alias)
        reply = await es.search(
            index=settings.index_alias, size=100, source_includes=["id", STORY_ID, EMBEDDING]
        )
    return {
        h["_source"]["id"]: {
            "story": h["_source"].get(STORY_ID),
            "dims": len(h["_source"].get(EMBEDDING) or []),
        }
        for h in reply["hits"]["hits"]
    }


async def index_through_indexer(settings: Settings, articles: list[Article], records: int) -> None:
    """Publish ``articles``; the in-process indexer runs until ``records`` in all are committed."""
    await publish(settings, articles)
    async with running_indexer(settings):

        async def all_committed() -> bool:
            return await committed_total(settings) >= records

        await wait_until(all_committed, 60, "the articles to be indexed")


async def test_rewrites_share_a_story_and_another_story_on_the_topic_does_not(
    settings: Settings,
) -> None:
    first, rewrite, other = story_articles(
        "iran_missiles_a1", "iran_missiles_a2", "yemen_drones_b1"
    )
    # Two batches: the rewrite is matched against the stored first copy (knn), not in-batch.
    await index_through_indexer(settings, [first], 1)
    await index_through_indexer(settings, [rewrite, other], 3)
    docs = await stored(settings)
    assert docs[first.id]["story"] == first.id
    assert docs[rewrite.id]["story"] == first.id
    assert docs[other.id]["story"] == other.id
    assert {d["dims"] for d in docs.values()} == {256}


async def test_copies_in_one_batch_share_a_story_and_redelivery_keeps_it(
    settings: Settings,
) -> None:
    articles = story_articles(
        "greece_fire_a1", "greece_fire_a2", "greece_fire_a3", "canada_fire_b1"
    )
    await index_through_indexer(settings, articles, 4)
    before = await stored(settings)
    # One story, named after the copy indexed first (partitions may hand them in any order).
    [story] = {before[a.id]["story"] for a in articles[:3]}
    assert story in {a.id for a in articles[:3]}
    assert before[articles[3].id]["story"] == articles[3].id
    # The same records again, in reverse order: every article keeps the story it has.
    await index_through_indexer(settings, list(reversed(articles)), 8)
    after = await stored(settings)
    assert {k: v["story"] for k, v in after.items()} == {k: v["story"] for k, v in before.items()}


async def test_search_collapses_a_story_and_its_page_lists_every_copy(
    settings: Settings, api: httpx.AsyncClient
) -> None:
    first, rewrite, other = story_articles(
        "iran_missiles_a1", "iran_missiles_a2", "yemen_drones_b1"
    )
    await index_through_indexer(settings, [first], 1)
    await index_through_indexer(settings, [rewrite, other], 3)
    reply = (await api.get("/v1/search", params={"q": "Erbil"})).json()
    assert [(i["id"], i["other_versions"]) for i in reply["items"]] in (
        [(first.id, 1)],
        [(rewrite.id, 1)],
    )
    every = (await api.get("/v1/search", params={"q": "Erbil", "versions": "all"})).json()
    assert {i["id"] for i in every["items"]} == {first.id, rewrite.id}
    assert {i["other_versions"] for i in every["items"]} == {0}
    story = (await api.get(f"/v1/stories/{first.id}")).json()
    assert story["story_id"] == first.id
    assert [i["id"] for i in story["items"]] == [first.id, rewrite.id]
    filtered = (await api.get("/v1/search", params={"story": first.id})).json()
    assert {i["id"] for i in filtered["items"]} == {first.id, rewrite.id}
    missing = await api.get("/v1/stories/0000000000000000")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_related_lists_another_story_once_and_nothing_when_nothing_is_alike(
    settings: Settings, api: httpx.AsyncClient
) -> None:
    first, rewrite, other, fishing = story_articles(
        "iran_missiles_a1", "iran_missiles_a2", "yemen_drones_b1", "fishing_report"
    )
    await index_through_indexer(settings, [first, rewrite, other, fishing], 4)
    related = (await api.get(f"/v1/articles/{other.id}/related")).json()["items"]
    assert [i["story_id"] for i in related] == [first.id]  # the story once, its best copy
    # The copies of the article's own story are not related stories: they are the story.
    own = (await api.get(f"/v1/articles/{first.id}/related")).json()["items"]
    assert rewrite.id not in {i["id"] for i in own}
    assert [i["id"] for i in own] == [other.id]
    # A fishing report next to missile strikes: nothing is like it, so nothing is shown.
    assert (await api.get(f"/v1/articles/{fishing.id}/related")).json()["items"] == []


async def test_hybrid_search_finds_a_story_by_its_meaning(
    settings: Settings, api: httpx.AsyncClient
) -> None:
    first, rewrite, other, fishing = story_articles(
        "iran_missiles_a1", "iran_missiles_a2", "yemen_drones_b1", "fishing_report"
    )
    await index_through_indexer(settings, [first, rewrite, other, fishing], 4)
    # No article has either word: by words nothing is found, by meaning the fishing report.
    words = (await api.get("/v1/search", params={"q": "fishermen harbour"})).json()
    assert words["items"] == []
    params = {"q": "fishermen harbour", "mode": "hybrid"}
    hybrid = (await api.get("/v1/search", params=params)).json()
    assert hybrid["items"][0]["id"] == fishing.id
    # Both copies of the missile story are one hit there too.
    stories_shown = [i["story_id"] for i in hybrid["items"]]
    assert len(stories_shown) == len(set(stories_shown))
    lexical = (await api.get("/v1/search", params={"q": "Erbil", "mode": "lexical"})).json()
    assert [i["story_id"] for i in lexical["items"]] == [first.id]


async def test_a_copy_written_by_another_indexer_process_joins_its_story(
    settings: Settings,
) -> None:
    """Each process keeps its own memory: the other's writes come in through the catch-up."""
    first, rewrite, other = story_articles(
        "iran_missiles_a1", "iran_missiles_a2", "yemen_drones_b1"
    )

    def text(article: Article) -> Text:
        return Text(article.id, article.published_date, embed_text(article.title, article.body))

    async with es_client(settings) as es, Embedder() as embedder:
        await ensure_index(es, settings)
        one = StoryAssigner(es, settings.index_alias, embedder, settings)
        two = StoryAssigner(es, settings.index_alias, embedder, settings)
        assert one.writer != two.writer
        # The second process has read the index (empty) and holds these days already.
        [(own, _)] = await two.stories([text(other)])
        assert own == other.id
        # The first process gives the story its id and writes it.
        [(story, vector)] = await one.stories([text(first)])
        assert story == first.id
        doc = to_document(first)
        doc.update(orjson.loads(b"{" + story_fields(story, vector, one.writer)[1:] + b"}"))
        await es.index(index=settings.index_alias, id=first.id, document=doc, refresh=True)
        # The second never wrote it nor read it from the index since: its catch-up brings it.
        [(joined, _)] = await two.stories([text(rewrite)])
        assert joined == first.id


async def test_an_index_of_mapping_v5_keeps_taking_articles_with_float_vectors(
    settings: Settings,
) -> None:
    """An upgrade without a reindex: the older index's float vectors are written as floats."""
    mapping = mapping_v5()
    async with es_client(settings) as es:
        await es.indices.create(index=settings.index_name, **mapping)
        await es.indices.put_alias(index=settings.index_name, name=settings.index_alias)
    first, rewrite = story_articles("iran_missiles_a1", "iran_missiles_a2")
    await index_through_indexer(settings, [first, rewrite], 2)
    docs = await stored(settings)
    assert docs[first.id] == {"story": first.id, "dims": 256}
    assert docs[rewrite.id] == {"story": first.id, "dims": 256}
