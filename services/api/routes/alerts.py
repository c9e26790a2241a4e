"""Saved searches: ``/v1/alerts`` to keep them, their live events (SSE) and webhook log."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Annotated, Any

from elasticsearch import AsyncElasticsearch
from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from services.api.alert_stream import MEDIA_TYPE, EventStream
from services.api.auth import OperatorDep
from services.api.deps import AlertStreamsDep, ESDep, SettingsDep
from services.api.models import AlertCreated, AlertList, AlertView, Deliveries, problem_responses
from services.api.responses import FastJSON
from services.api.routes.search import saved_search_params
from services.common import alert_store
from services.common.alerts import ALERT_ID_PATTERN, AlertSpec
from services.common.egress import check_target
from services.common.settings import Settings

router = APIRouter(tags=["alerts"], default_response_class=FastJSON)
AlertId = Annotated[str, Path(pattern=ALERT_ID_PATTERN, description="The alert's id.")]


async def _indices_ready(request: Request, es: AsyncElasticsearch, settings: Settings) -> None:
    """The alert indices exist (made, or brought to today's settings, once per process)."""
    if not getattr(request.app.state, "alert_indices_ready", False):
        await alert_store.ensure_alert_indices(es, settings)
        request.app.state.alert_indices_ready = True


def _links(request: Request, alert_id: str) -> dict[str, str]:
    base = str(request.base_url).rstrip("/")
    return {
        "self": f"{base}/v1/alerts/{alert_id}",
        "events": f"{base}/v1/alerts/{alert_id}/events",
        "deliveries": f"{base}/v1/alerts/{alert_id}/deliveries",
    }


@router.post(
    "/v1/alerts",
    status_code=201,
    response_model=AlertCreated,
    responses=problem_responses(400, 401, 422, 503),
    dependencies=[OperatorDep],
)
async def create_alert(
    spec: AlertSpec, request: Request, es: ESDep, settings: SettingsDep
) -> FastJSON:
    """Save a search (the query and filters of /v1/search); its webhook secret is shown once."""
    saved_search_params(settings, spec)  # a query /v1/search would refuse is refused here
    if spec.webhook_url is not None:
        await check_target(str(spec.webhook_url), allow_private=settings.webhook_private_targets)
    await _indices_ready(request, es, settings)
    alert = await alert_store.create_alert(es, settings, spec)
    body: dict[str, Any] = {**alert.public(), "secret": alert.secret}
    body["links"] = _links(request, alert.id)
    return FastJSON(body, status_code=201, headers={"Location": body["links"]["self"]})


@router.get(
    "/v1/alerts",
    response_model=AlertList,
    responses=problem_responses(401, 503),
    dependencies=[OperatorDep],
)
async def list_alerts(request: Request, es: ESDep, settings: SettingsDep) -> FastJSON:
    """Every saved search, oldest first."""
    await _indices_ready(request, es, settings)
    alerts = await alert_store.list_alerts(es, settings)
    items = [{**a.public(), "links": _links(request, a.id)} for a in alerts]
    return FastJSON({"items": items})


@router.get(
    "/v1/alerts/{alert_id}",
    response_model=AlertView,
    responses=problem_responses(401, 404, 503),
    dependencies=[OperatorDep],
)
async def get_alert(
    alert_id: AlertId, request: Request, es: ESDep, settings: SettingsDep
) -> FastJSON:
    """One saved search."""
    alert = await alert_store.get_alert(es, settings, alert_id)
    return FastJSON({**alert.public(), "links": _links(request, alert.id)})


@router.delete(
    "/v1/alerts/{alert_id}",
    status_code=204,
    responses=problem_responses(401, 404, 503),
    dependencies=[OperatorDep],
)
async def delete_alert(alert_id: AlertId, es: ESDep, settings: SettingsDep) -> Response:
    """Delete a saved search: no event is matched or delivered for it from now on."""
    await alert_store.delete_alert(es, settings, alert_id)
    return Response(status_code=204)


@router.get(
    "/v1/alerts/{alert_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {MEDIA_TYPE: {}}, "description": "Server-Sent Events."},
        **problem_responses(400, 404, 503),
    },
)
async def alert_events(
    alert_id: AlertId,
    request: Request,
    es: ESDep,
    settings: SettingsDep,
    streams: AlertStreamsDep,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
    after: Annotated[
        str | None, Query(max_length=40, description="Resume after this event id (as the header).")
    ] = None,
) -> StreamingResponse:
    """The alert's events as they happen: ``match``, ``update``, ``removal``; resumable.

    The alert's id is the capability: whoever knows it may listen (it is 80 random bits).
    """
    await alert_store.get_alert(es, settings, alert_id)
    held = AsyncExitStack()
    try:
        await held.enter_async_context(streams.enter())
        stream = await held.enter_async_context(
            EventStream(settings, alert_id, last_event_id or after)
        )
    except BaseException:
        await held.aclose()
        raise

    # Set by the service runner when the process is asked to stop; a bare app never stops.
    stopping = getattr(request.app.state, "stopping", None) or asyncio.Event()

    async def body() -> Any:
        async with held:
            async for chunk in stream.frames(settings.sse_heartbeat_s, stopping):
                yield chunk

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type=MEDIA_TYPE, headers=headers)


@router.get(
    "/v1/alerts/{alert_id}/deliveries",
    response_model=Deliveries,
    responses=problem_responses(401, 404, 503),
    dependencies=[OperatorDep],
)
async def alert_deliveries(
    alert_id: AlertId,
    es: ESDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FastJSON:
    """The alert's webhook deliveries, newest first, with every attempt's outcome."""
    await alert_store.get_alert(es, settings, alert_id)
    items = await alert_store.deliveries(es, settings, alert_id, limit)
    return FastJSON({"items": items})
