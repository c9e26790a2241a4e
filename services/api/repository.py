"""The API's Elasticsearch reads other than search: articles, related stories, trends, index."""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch


async def newest_indexed(es: AsyncElasticsearch, alias: str) -> tuple[int, dict[str, Any] | None]:
    """How many documents ``alias`` holds, and the id and indexed_at of the newest indexed."""
    count = await es.count(index=alias)
    newest = await es.search(
        index=alias,
        size=1,
        sort=[{"indexed_at": "desc"}],
        source_includes=["id", "indexed_at"],
        query={"match_all": {}},
    )
    hits = newest["hits"]["hits"]
    return count["count"], hits[0]["_source"] if hits else None
