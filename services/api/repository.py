"""The API's Elasticsearch reads other than search: articles, related stories, trends, index."""

from __future__ import annotations

from datetime import date
from typing import Any

from elasticsearch import AsyncElasticsearch

from services.api import backend, search
from services.api import related as related_scoring
from services.api.backend import body, bounds, call
from services.api.models import Trend, TrendsResponse
from services.common.article import normalise_category
from services.common.errors import Gone, NotFound, SearchFailed
from services.common.fields import EMBEDDING, LANGUAGE_FIELDS, STORY_ID
from services.common.settings import Settings
from services.common.visibility import (
    EMBARGOED,
    STATUS,
    STATUS_AT,
    hidden_clauses,
    visibility,
)

# Documents sampled per shard: significant_text re-analyses each one's text at query time.
SAMPLE_DOCS = 500
# Stored with a document for search only (its text again, analysed for its language).
DERIVED_ONLY = [*LANGUAGE_FIELDS.values(), EMBEDDING]


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


def shown(source: dict[str, Any], article_id: str, missing: str) -> dict[str, Any]:
    """``source`` when readers may see it; Gone when killed, NotFound when held or embargoed."""
    verdict = visibility(source)
    if verdict == "killed":
        at = str(source.get(STATUS_AT, ""))
        raise Gone(f"article {article_id} was killed at {at}", killed_at=at)
    if verdict != "visible":
        # A hold or an embargo is not announced: for readers the article does not exist yet.
        raise NotFound(missing)
    return source


async def article(es: AsyncElasticsearch, settings: Settings, article_id: str, missing: str) -> Any:
    """The stored article ``article_id`` as readers may see it (see :func:`shown`)."""
    request = es.get(index=settings.index_alias, id=article_id, source_excludes=DERIVED_ONLY)
    reply = await call(request, missing=missing)
    return shown(body(reply)["_source"], article_id, missing)


async def under_embargo(es: AsyncElasticsearch, settings: Settings, limit: int) -> dict[str, Any]:
    """Articles whose embargo has not ended, the soonest first."""
    reply = await call(
        es.search(
            index=settings.index_alias,
            size=limit,
            query={"range": {EMBARGOED: {"gt": "now"}}},
            sort=[{EMBARGOED: "asc"}],
            source_includes=["id", "title", EMBARGOED],
            track_total_hits=True,
            **bounds(settings),
        )
    )
    hits = body(reply)["hits"]
    return {"total": hits["total"]["value"], "items": [h["_source"] for h in hits["hits"]]}


async def related(
    es: AsyncElasticsearch, settings: Settings, article_id: str, size: int, missing: str
) -> list[dict[str, Any]]:
    """Up to ``size`` stories like ``article_id`` (services/api/related.py), maybe none;
    NotFound(``missing``) when it does not exist, Gone when it was killed."""
    alias = settings.index_alias
    wanted = ["id", STORY_ID, EMBEDDING, STATUS, STATUS_AT, EMBARGOED]
    request = es.get(index=alias, id=article_id, source_includes=wanted)
    found = shown(body(await call(request, missing=missing))["_source"], article_id, missing)
    vector, story_id = found.get(EMBEDDING), found.get(STORY_ID)
    source = [*search.SOURCE, EMBEDDING]
    searches: list[dict[str, Any]] = [
        {},
        related_scoring.mlt_search(alias, article_id, story_id, source),
    ]
    if vector:
        searches += [{}, related_scoring.knn_search(vector, article_id, story_id, source)]
    limit = bounds(settings)["timeout"]
    for part in searches[1::2]:
        part["timeout"] = limit  # the shards stop collecting in time, as in a search
    reply = body(await call(es.msearch(index=alias, searches=searches)))
    responses = reply["responses"]
    for response in responses:
        if "error" in response:
            raise SearchFailed(f"related search failed: {str(response['error'])[:300]}")
    hits = [r.get("hits", {}).get("hits", []) for r in responses]
    fused = related_scoring.fuse(
        vector, hits[0], hits[1] if vector else [], size=size, floor=settings.related_floor
    )
    for s in fused:
        s.hit["_score"] = round(s.fused, 4)
    reply_hits = {"hits": {"hits": [s.hit for s in fused]}}
    items: list[dict[str, Any]] = search.shape(reply_hits, search.SearchParams(size=size))["items"]
    return items


# A story's copies, oldest first: by publication date, then by when each entered Newswire.
STORY_ORDER = [{"published_date": "asc"}, {"ingested_at": "asc"}, {"id": "asc"}]
MAX_COPIES = 100


async def story(
    es: AsyncElasticsearch, settings: Settings, story_id: str, missing: str
) -> dict[str, Any]:
    """The copies readers may see of the story ``story_id``, oldest first; NotFound if none."""
    reply = await call(
        es.search(
            index=settings.index_alias,
            size=MAX_COPIES,
            query={
                "bool": {
                    "filter": [{"term": {STORY_ID: story_id}}],
                    "must_not": hidden_clauses(),
                }
            },
            sort=STORY_ORDER,
            source_includes=search.SOURCE,
            filter_path="timed_out,hits.hits._source",
            **bounds(settings),
        )
    )
    items = search.shape(body(reply), search.SearchParams(size=MAX_COPIES))["items"]
    if not items:
        raise NotFound(missing)
    for item in items:
        item["score"] = None  # listed in time order, not ranked
    return {"story_id": story_id, "items": items}


async def feed_sources(
    es: AsyncElasticsearch, settings: Settings, params: search.SearchParams
) -> list[dict[str, Any]]:
    """The stored articles of a feed (see ``search.feed_request``), newest version first."""
    request = {**search.feed_request(params, settings.index_alias), **bounds(settings)}
    reply = body(await call(backend.search(es, request, timeout=settings.search_timeout_s)))
    return [hit["_source"] for hit in reply.get("hits", {}).get("hits", [])]


def trends_filters(
    start: date | None, end: date | None, categories: list[str] | None
) -> list[dict[str, Any]]:
    """The selection: a published_date window and categories, each only when given."""
    filters: list[dict[str, Any]] = []
    if start or end:
        window = {k: v.isoformat() for k, v in (("gte", start), ("lte", end)) if v}
        filters.append({"range": {"published_date": window}})
    if categories:
        filters.append({"terms": {"category": [normalise_category(c) for c in categories]}})
    return filters


def trends_aggs(size: int) -> dict[str, Any]:
    """The aggregation: significant_text over a bounded sample, re-analysing summaries only.

    Measured on the live stack (300 articles of ~150 kB): over ``body`` with
    ``filter_duplicate_text``, over 256 MB of the request breaker and 31-82 s each (three at
    once pass its limit, 60 % of a 1 GB heap); over the summaries without it, under 16 MB and
    about 1 s. A summary is at most SUMMARY_MAX_CHARS: the cost per document no longer grows
    with the article. Background counts stay those of ``body`` (a lede is in its body), so
    scores still compare against the whole archive.
    """
    return {
        "sample": {
            "sampler": {"shard_size": SAMPLE_DOCS},
            "aggs": {
                "terms": {
                    "significant_text": {
                        "field": "body",
                        "source_fields": ["summary"],
                        "size": size,
                        # Its de-duplication trie is what grew without bound on long bodies.
                        "filter_duplicate_text": False,
                        "min_doc_count": 2,
                    }
                }
            },
        }
    }


def shape_trends(data: dict[str, Any]) -> TrendsResponse:
    """The response from the aggregation's reply."""
    sample = data.get("aggregations", {}).get("sample", {})
    buckets = sample.get("terms", {}).get("buckets", [])
    return TrendsResponse(
        documents=sample.get("doc_count", 0),
        terms=[
            Trend(term=b["key"], score=b["score"], doc_count=b["doc_count"], bg_count=b["bg_count"])
            for b in buckets
        ],
    )


async def trends(
    es: AsyncElasticsearch, settings: Settings, filters: list[dict[str, Any]], size: int
) -> TrendsResponse:
    """Significant terms of the ledes selected by ``filters`` against the whole archive."""
    reply = await call(
        es.search(
            index=settings.index_alias,
            size=0,
            query={"bool": {"filter": filters, "must_not": hidden_clauses()}},
            filter_path="timed_out,aggregations",
            aggs=trends_aggs(size),
            **bounds(settings),
        )
    )
    return shape_trends(body(reply))
