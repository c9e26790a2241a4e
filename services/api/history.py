"""An article's corrections: every version it had, and what each one changed.

The version an article shows is read from the article index; the versions index keeps the
ones before it (services/indexer/history.py). Indexes written before that rule hold the
shown version in both: a version is listed once.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Final

from elasticsearch import AsyncElasticsearch

from services.api.backend import body, call
from services.api.changes import body_change
from services.api.repository import DERIVED_ONLY, article
from services.common.settings import Settings

# A story corrected more often than this lists its newest versions only.
MAX_VERSIONS: Final = 100


async def _stored_versions(
    es: AsyncElasticsearch, settings: Settings, article_id: str
) -> list[dict[str, Any]]:
    reply = await call(
        es.search(
            index=settings.versions_index,
            size=MAX_VERSIONS,
            query={"term": {"id": article_id}},
            sort=[{"version": "desc"}],
            source_excludes=DERIVED_ONLY,
            ignore_unavailable=True,
        )
    )
    return [hit["_source"] for hit in body(reply)["hits"]["hits"]]


async def versions(
    es: AsyncElasticsearch, settings: Settings, article_id: str, missing: str
) -> dict[str, Any]:
    """Every version of a visible article, oldest first, each with what it changed."""
    shown = await article(es, settings, article_id, missing)
    by_version = {doc["version"]: doc for doc in await _stored_versions(es, settings, article_id)}
    by_version[shown["version"]] = shown
    stored = [by_version[v] for v in sorted(by_version)][-MAX_VERSIONS:]
    listed: list[dict[str, Any]] = []
    before: dict[str, Any] | None = None
    for number, doc in enumerate(stored, start=1):
        change: dict[str, Any] | None = None
        if before is not None:
            diff = body_change(before["body"], doc["body"])
            change = {**asdict(diff), "summary": diff.summary}
        listed.append(
            {
                "number": number,
                "version": doc["version"],
                "updated_at": doc.get("updated_at"),
                "title": doc["title"],
                "title_changed": before is not None and before["title"] != doc["title"],
                "body_change": change,
            }
        )
        before = doc
    return {"id": article_id, "count": len(listed), "versions": listed}


async def one_version(
    es: AsyncElasticsearch, settings: Settings, article_id: str, version: int, missing: str
) -> Any:
    """One stored version of a visible article; NotFound when it has no such version."""
    shown = await article(es, settings, article_id, missing)
    if shown["version"] == version:
        return shown
    reply = await call(
        es.get(
            index=settings.versions_index,
            id=f"{article_id}:{version}",
            source_excludes=DERIVED_ONLY,
        ),
        missing=f"article {article_id} has no version {version}",
    )
    return body(reply)["_source"]
