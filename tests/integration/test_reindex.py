"""`newswire reindex`: a new versioned index, every document copied, the alias swapped."""

from __future__ import annotations

import pytest

from services.common.es import es_client
from services.common.settings import Settings
from services.indexer.mapping import ensure_index, to_document
from services.indexer.reindex import reindex
from tests.factories import make_articles

pytestmark = pytest.mark.integration


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
        assert source == to_document(articles[0], indexed_at=source["indexed_at"])
