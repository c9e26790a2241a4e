"""Every saved search run over a batch's articles at once: named clauses, a few searches.

Each saved search is a named clause; one search per chunk of them asks which of the batch's
ids each clause matches (``matched_queries``). A chunk Elasticsearch refuses (too many
clauses, or one saved search it cannot run) is halved until the refusing search stands
alone: it is counted and passed over, and every other is still run.
"""

from __future__ import annotations

from typing import Any

import structlog
from elasticsearch import AsyncElasticsearch

from services.alerts.book import Watch
from services.alerts.metrics import SEARCH_ERRORS
from services.api.search import matching_body
from services.common.es import boundary
from services.common.settings import Settings

log = structlog.get_logger(__name__)


async def run_watches(
    es: AsyncElasticsearch, settings: Settings, watches: list[Watch], ids: list[str]
) -> dict[str, set[str]]:
    """Per alert id, which of ``ids`` its search finds now."""
    found: dict[str, set[str]] = {}
    size = settings.alerts_chunk
    pending = [watches[i : i + size] for i in range(0, len(watches), size)]
    while pending and ids:
        replies = await _search(es, settings, pending, ids)
        retry: list[list[Watch]] = []
        for chunk, answer in zip(pending, replies, strict=True):
            if "error" not in answer:
                _take(found, chunk, answer)
            elif len(chunk) > 1:
                half = len(chunk) // 2
                retry += [chunk[:half], chunk[half:]]
            else:
                # /v1/search would fail on this one too: it finds nothing, and is counted.
                SEARCH_ERRORS.inc()
                log.warning("saved search failed", alert=chunk[0].alert.id, error=answer["error"])
        pending = retry
    return found


async def _search(
    es: AsyncElasticsearch, settings: Settings, chunks: list[list[Watch]], ids: list[str]
) -> list[dict[str, Any]]:
    searches: list[dict[str, Any]] = []
    for chunk in chunks:
        searches += [{}, matching_body([watch.clause for watch in chunk], ids)]
    with boundary("cannot run the saved searches"):
        reply = await es.msearch(index=settings.index_alias, searches=searches)
    responses: list[dict[str, Any]] = reply["responses"]
    return responses


def _take(found: dict[str, set[str]], chunk: list[Watch], answer: dict[str, Any]) -> None:
    for watch in chunk:
        found[watch.alert.id] = set()
    for hit in answer["hits"]["hits"]:
        for name in hit.get("matched_queries", ()):
            if name in found:
                found[name].add(hit["_id"])
