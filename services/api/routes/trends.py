"""GET /v1/trends: terms that stand out in a window or a filtered set against the archive."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.api.backend import body, call
from services.api.deps import ESDep, SettingsDep
from services.api.models import TrendsResponse, problem_responses
from services.api.responses import FastJSON
from services.common.article import normalise_category

router = APIRouter(tags=["trends"])


@router.get(
    "/v1/trends",
    response_model=TrendsResponse,
    response_class=FastJSON,
    responses=problem_responses(400, 422, 503),
)
async def trends(
    es: ESDep,
    settings: SettingsDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    category: Annotated[list[str] | None, Query(max_length=50)] = None,
    size: Annotated[int, Query(ge=1, le=50)] = 10,
) -> FastJSON:
    """Significant terms of the bodies in the selection, near-duplicate text filtered out."""
    filters: list[dict[str, Any]] = []
    if from_ or to:
        bounds = {k: v.isoformat() for k, v in (("gte", from_), ("lte", to)) if v}
        filters.append({"range": {"published_date": bounds}})
    if category:
        filters.append({"terms": {"category": [normalise_category(c) for c in category]}})
    reply = await call(
        es.search(
            index=settings.index_alias,
            size=0,
            query={"bool": {"filter": filters}},
            filter_path="aggregations",
            aggs={
                "sample": {
                    # A sample of the best matches keeps significant_text cheap on a large archive.
                    "sampler": {"shard_size": 500},
                    "aggs": {
                        "terms": {
                            "significant_text": {
                                "field": "body",
                                "size": size,
                                "filter_duplicate_text": True,
                                "min_doc_count": 2,
                            }
                        }
                    },
                }
            },
        )
    )
    sample = body(reply).get("aggregations", {}).get("sample", {})
    buckets = sample.get("terms", {}).get("buckets", [])
    return FastJSON(
        {
            "documents": sample.get("doc_count", 0),
            "terms": [
                {
                    "term": b["key"],
                    "score": b["score"],
                    "doc_count": b["doc_count"],
                    "bg_count": b["bg_count"],
                }
                for b in buckets
            ],
        }
    )
