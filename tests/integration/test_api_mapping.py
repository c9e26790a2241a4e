"""An index made before mapping v2 (no combined ``text`` field) is still searched in full."""

from __future__ import annotations

import copy

import httpx
import pytest

from services.api.index_fields import COMBINED
from services.common.es import es_client
from services.common.settings import Settings
from services.indexer.mapping import load_mapping, to_document
from tests.integration.api_fixtures import corpus

pytestmark = pytest.mark.integration


def _mapping_v1() -> dict[str, object]:
    mapping = copy.deepcopy(load_mapping())
    properties = mapping["mappings"]["properties"]
    del mapping["mappings"]["_meta"], properties[COMBINED]
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
