"""`newswire reindex`: a new versioned index, every document copied, the alias swapped."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.embedding import Embedder, embed_text
from services.common.es import es_client
from services.common.fields import EMBEDDING
from services.common.settings import Settings
from services.indexer.mapping import ensure_index, to_document
from services.indexer.reindex import reindex
from services.ingest.parser import parse_path
from tests.factories import make_articles, mapping_v5

pytestmark = pytest.mark.integration
STORIES = Path(__file__).resolve().parents[2] / "seeds" / "stories"


async def test_reindex_copies_everything_and_swaps_the_alias(settings: Settings) -> None:
    articles = make_articles(25)
    async with es_client(settings) as es:
        old = await ensure_index(es, settings)
        for article in articles:
            doc = to_document(article)
            await es.index(
                index=settings.index_alias,
                id=article.id,
                document=doc,
                version=article.version,
                version_type="external",
            )
        result = await reindex(es, settings)
        await es.indices.refresh(index=settings.index_alias)
        assert (result.old, result.new) == (old, f"{settings.index_alias}-v2")
        assert result.copied == 25
        aliased = await es.indices.get_alias(name=settings.index_alias)
        assert list(aliased.body) == [result.new]
        count = await es.count(index=settings.index_alias)
        assert count["count"] == 25
        stored = await es.get(index=settings.index_alias, id=articles[0].id)
        assert stored["_version"] == articles[0].version  # external versions survive the copy
        source = stored["_source"]
        # Indexed before embeddings: the copy is given one (its story id it had already).
        vector = await es.search(
            index=settings.index_alias,
            query={"ids": {"values": [articles[0].id]}},
            source={"exclude_vectors": False},
        )
        assert len(vector["hits"]["hits"][0]["_source"]["embedding"]) == 256
        assert source == to_document(articles[0], indexed_at=source["indexed_at"])
        assert result.backfilled == 25
        # A second reindex copies the vectors: nothing is computed again.
        again = await reindex(es, settings)
        assert (again.copied, again.backfilled) == (25, 0)


async def test_reindex_gives_documents_indexed_before_stories_their_embedding_and_story(
    settings: Settings,
) -> None:
    names = ["greece_fire_a1", "greece_fire_a2", "canada_fire_b1"]
    articles = [parse_path(STORIES / f"{n}.txt") for n in names]
    async with es_client(settings) as es:
        await ensure_index(es, settings)
        for article in articles:
            doc = to_document(article)
            del doc["story_id"]  # as a mapping v4 index held it
            await es.index(index=settings.index_alias, id=article.id, document=doc)
        result = await reindex(es, settings)
        assert result.backfilled == 3
        await es.indices.refresh(index=settings.index_alias)
        reply = await es.search(index=settings.index_alias, source_includes=["id", "story_id"])
    story = {h["_source"]["id"]: h["_source"]["story_id"] for h in reply["hits"]["hits"]}
    first, rewrite, other = (a.id for a in articles)
    assert story[first] == story[rewrite] in {first, rewrite}
    assert story[other] == other


async def test_reindex_turns_the_float_vectors_of_mapping_v5_into_bytes(
    settings: Settings,
) -> None:
    mapping = mapping_v5()
    first, rewrite = (
        parse_path(STORIES / f"{n}.txt") for n in ("greece_fire_a1", "greece_fire_a2")
    )
    vectors = Embedder().embed_now([embed_text(a.title, a.body) for a in (first, rewrite)])
    async with es_client(settings) as es:
        await es.indices.create(index=settings.index_name, **mapping)
        await es.indices.put_alias(index=settings.index_name, name=settings.index_alias)
        for article, vector in zip((first, rewrite), vectors, strict=True):
            doc = {**to_document(article), "story_id": first.id, EMBEDDING: vector.tolist()}
            await es.index(index=settings.index_alias, id=article.id, document=doc)
        result = await reindex(es, settings)
        assert result.copied == 2
        assert result.backfilled == 0  # they had vectors: converted, not computed again
        await es.indices.refresh(index=settings.index_alias)
        reply = await es.search(
            index=settings.index_alias,
            source={"includes": ["id", "story_id", EMBEDDING], "exclude_vectors": False},
        )
    for hit in reply["hits"]["hits"]:
        stored = hit["_source"][EMBEDDING]
        assert len(stored) == 256
        assert all(isinstance(x, int) and -127 <= x <= 127 for x in stored)
        assert hit["_source"]["story_id"] == first.id
