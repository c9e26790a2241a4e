"""Every saved search run over a batch's articles at once: multi-search requests, in chunks."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from elasticsearch import AsyncElasticsearch

from services.alerts.book import Watch
from services.alerts.metrics import SEARCH_ERRORS
from services.api.search import matching_body
from services.common.es import boundary
from services.common.settings import Settings

log = structlog.get_logger(__name__)
_CHUNKS_AT_ONCE = 2  # Elasticsearch searches a chunk on its search pool: two keep it busy


async def run_watches(
    es: AsyncElasticsearch, settings: Settings, watches: list[Watch], ids: list[str]
) -> dict[str, set[str]]:
    """Per alert id, which of ``ids`` its search finds now."""
    if not watches or not ids:
        return {}
    size = settings.alerts_chunk
    chunks = [watches[i : i + size] for i in range(0, len(watches), size)]
    gate = asyncio.Semaphore(_CHUNKS_AT_ONCE)

    async def one(chunk: list[Watch]) -> dict[str, set[str]]:
        async with gate:
            return await _chunk(es, settings, chunk, ids)

    found: dict[str, set[str]] = {}
    for part in await asyncio.gather(*(one(chunk) for chunk in chunks)):
        found.update(part)
    return found


async def _chunk(
    es: AsyncElasticsearch, settings: Settings, watches: list[Watch], ids: list[str]
) -> dict[str, set[str]]:
    searches: list[dict[str, Any]] = []
    for watch in watches:
        searches += [{}, matching_body(watch.params, settings.index_alias, ids)]
    with boundary("cannot run the saved searches"):
        reply = await es.msearch(index=settings.index_alias, searches=searches)
    found: dict[str, set[str]] = {}
    for watch, answer in zip(watches, reply["responses"], strict=True):
        if "error" in answer:
            # One saved search Elasticsearch cannot run must not stop every other: /v1/search
            # would fail on it too, so it finds nothing, and the failure is counted.
            SEARCH_ERRORS.inc()
            log.warning("saved search failed", alert=watch.alert.id, error=answer["error"])
            continue
        found[watch.alert.id] = {hit["_id"] for hit in answer["hits"]["hits"]}
    return found
