"""GET /v1/pipeline/status: the operator's one glance."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.deps import TrackerDep
from services.api.models import PipelineStatus
from services.api.responses import FastJSON

router = APIRouter(tags=["pipeline"])


@router.get("/v1/pipeline/status", response_model=PipelineStatus, response_class=FastJSON)
async def pipeline_status(tracker: TrackerDep) -> FastJSON:
    """Lag per partition (records, seconds, Burrow-like status), DLQ depth, index, health."""
    return FastJSON(await tracker.status())
