"""Indexes made by older mappings (v1, v2) are searched in full until reindexed."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from services.bench.mapping_cost import v2_mapping
from services.common.article import VERSION_OFFSET_MS
from services.common.es import es_client
from services.common.settings import Settings
from services.indexer.mapping import to_document
from services.indexer.reindex import reindex
from tests.factories import make_article
from tests.integration.api_fixtures import corpus

pytestmark = pytest.mark.integration


def _mapping_v1() -> dict[str, Any]:
    """Mapping v2 as released, without what v2 added (the combined field)."""
    mapping = copy.deepcopy(v2_mapping())
    properties = mapping["mappings"]["properties"]
    del mapping["mappings"]["_meta"], properties["text"]
    for spec in properties.values():
        spec.pop("copy_to", None)
    return mapping


async def test_an_index_without_the_combined_field_is_searched_field_by_field(
    settings: Settings, api: httpx.AsyncClient
) -> None:
    articles = corpus()
    async with es_client(settings) as es:
        await es.indices.create(index=settings.index_name, **_mapping_v1())
        await es.indices.put_alias(index=settings.index_name, name=settings.index_alias)
        for article in articles:
            await es.index(index=settings.index_alias, id=article.id, document=to_document(article))
        await es.indices.refresh(index=settings.index_alias)

    reply = await api.get("/v1/search", params={"q": '"ballistic missiles"'})
    assert reply.status_code == 200, reply.text
    first = reply.json()["items"][0]
    assert first["id"] == articles[0].id
    assert "<mark>ballistic missiles</mark>" in first["snippet"]
    reply = await api.get("/v1/search", params={"q": "missile* -oil", "size": 100})
    assert {item["id"] for item in reply.json()["items"]} == {articles[0].id, articles[1].id}


async def test_a_v2_index_is_served_until_reindexed_then_finds_word_forms(
    settings: Settings, api: httpx.AsyncClient
) -> None:
    old = make_article(
        date="1890-05-01", updated=None, lede="Ballistic missiles and a flood, long ago."
    )
    articles = [*corpus(), old]
    async with es_client(settings) as es:
        await es.indices.create(index=settings.index_name, **v2_mapping())
        await es.indices.put_alias(index=settings.index_name, name=settings.index_alias)
        for article in articles:
            doc = to_document(article)
            # Written as the v2 indexer did: versions in epoch milliseconds (negative pre-1970).
            doc["version"] = article.version - VERSION_OFFSET_MS
            await es.index(index=settings.index_alias, id=article.id, document=doc)
        await es.indices.refresh(index=settings.index_alias)

        reply = await api.get("/v1/search", params={"q": "ballistic missiles"})
        assert reply.status_code == 200, reply.text
        assert {articles[0].id, old.id} <= {item["id"] for item in reply.json()["items"]}
        for q in ("balistic missiles", "ballistic missiles zebrafish", "floods"):
            reply = await api.get("/v1/search", params={"q": q})
            assert reply.status_code == 200, (q, reply.text)

        result = await reindex(es, settings)
        await es.indices.refresh(index=settings.index_alias)
        stored = await es.get(index=settings.index_alias, id=old.id)
    assert result.copied == len(articles)
    assert stored["_source"]["version"] == old.version, "the copy moves to today's versions"
    reply = await api.get("/v1/search", params={"q": "ballistic missile flooded"})
    assert reply.json()["items"][0]["id"] == old.id
    assert reply.json()["matched"] == "all"
