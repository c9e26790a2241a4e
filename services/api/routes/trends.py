"""GET /v1/trends: terms that stand out in a window or a filtered set against the archive."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query

from services.api import repository
from services.api.deps import ESDep, SettingsDep, TrendsGateDep
from services.api.models import TrendsResponse
from services.api.responses import FastJSON
from services.api.routes.reads import index_router

router = index_router("trends", 400, 422)


@router.get("/v1/trends", response_model=TrendsResponse)
async def trends(
    es: ESDep,
    settings: SettingsDep,
    gate: TrendsGateDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    category: Annotated[list[str] | None, Query(max_length=50)] = None,
    size: Annotated[int, Query(ge=1, le=50)] = 10,
) -> FastJSON:
    """Significant terms of the ledes in the selection, scored against the whole archive."""
    filters = repository.trends_filters(from_, to, category)
    async with gate.enter():
        found = await repository.trends(es, settings, filters, size)
    return FastJSON(found.model_dump())
