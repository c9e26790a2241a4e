"""GET /v1/pipeline/status: the operator's one glance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.api import repository
from services.api.auth import OperatorDep
from services.api.deps import ESDep, SettingsDep, TrackerDep
from services.api.models import DeadLetters, Embargoes, PipelineStatus, problem_responses
from services.api.responses import FastJSON

router = APIRouter(tags=["pipeline"])


@router.get("/v1/pipeline/status", response_model=PipelineStatus, response_class=FastJSON)
async def pipeline_status(tracker: TrackerDep) -> FastJSON:
    """Lag per partition (records, seconds, Burrow-like status), DLQ depth, index, health."""
    return FastJSON((await tracker.status()).model_dump())


@router.get(
    "/v1/pipeline/dead-letters",
    response_model=DeadLetters,
    response_class=FastJSON,
    responses=problem_responses(401, 422, 503),
    dependencies=[OperatorDep],
)
async def dead_letters(
    tracker: TrackerDep, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> FastJSON:
    """The newest rejects with their reasons and payload heads; needs the operator key."""
    letters = await tracker.dead_letters(limit)  # Kafka's errors converted by the reader
    return FastJSON(DeadLetters(items=letters).model_dump())


@router.get(
    "/v1/pipeline/embargoes",
    response_model=Embargoes,
    response_class=FastJSON,
    responses=problem_responses(401, 422, 503, 504),
    dependencies=[OperatorDep],
)
async def embargoes(
    es: ESDep, settings: SettingsDep, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> FastJSON:
    """Articles stored under embargo, the next to be lifted first; needs the operator key."""
    return FastJSON(await repository.under_embargo(es, settings, limit))
