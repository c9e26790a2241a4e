"""The ingest's routes: POST /v1/articles (authorise, admit, read, publish) and the probes."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.requests import ClientDisconnect

from services.common import problems
from services.common.auth import bearer_scheme, check_bearer
from services.common.errors import KafkaUnavailable, NotFound
from services.common.kafka import boundary
from services.common.kafka_probe import KafkaProbe
from services.common.ninjs_schema import NINJS_MEDIA_TYPE
from services.common.settings import Settings
from services.common.status_event import StatusEvent
from services.ingest import metrics
from services.ingest.admission import Admission, Body, read_body
from services.ingest.readers import InputFormat, Item
from services.ingest.uploads import Uploads
from services.ingest.verdict import Prepared

log = structlog.get_logger(__name__)
_bearer = bearer_scheme()
# What each accepted media type is read as.
_FORMATS: dict[str, InputFormat] = {
    "text/plain": "seed",
    "application/octet-stream": "seed",
    "application/json": "json",
    NINJS_MEDIA_TYPE: "ninjs",
}
TRACE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ARTICLE_ID = re.compile(r"[0-9a-f]{16}")


@dataclass
class IngestState:
    """What the running app holds: the key, the uploads sender and the limits (one per process)."""

    settings: Settings
    api_key: str
    uploads: Uploads
    admission: Admission
    probe: KafkaProbe


def state_of(request: Request) -> IngestState:
    """The app's running state (set by its lifespan)."""
    state: IngestState = request.app.state.ingest
    return state


async def authorize(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Require ``Authorization: Bearer <NEWSWIRE_API_KEY>`` (compared in constant time)."""
    check_bearer(creds, state_of(request).api_key)


router = APIRouter()


@router.get("/livez")
def livez() -> dict[str, str]:
    """Alive: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {}})
async def readyz(request: Request) -> dict[str, str]:
    """Ready: Kafka answers the producer's own connection."""
    state = state_of(request)
    if not await state.probe.reachable():
        raise KafkaUnavailable(f"Kafka at {state.settings.kafka_bootstrap} does not answer")
    return {"status": "ready"}


@router.post(
    "/v1/articles",
    status_code=202,
    dependencies=[Depends(authorize)],
    responses={400: {}, 401: {}, 408: {}, 413: {}, 415: {}, 422: {}, 503: {}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
                NINJS_MEDIA_TYPE: {"schema": {"type": "object"}},
            },
        }
    },
)
async def post_article(request: Request) -> JSONResponse:
    """Publish one article; the reply comes after Kafka acknowledged it (or its rejection)."""
    state = state_of(request)
    path = request.url.path
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _FORMATS:
        detail = f"send text/plain, application/json or {NINJS_MEDIA_TYPE}, not {media!r}"
        return problems.problem(
            415, "Unsupported media type", detail, code="unsupported_media_type", instance=path
        )
    trace_id = request.headers.get("x-trace-id")
    if trace_id is not None and not TRACE_ID.fullmatch(trace_id):
        detail = "X-Trace-Id must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'"
        return problems.problem(400, "Bad request", detail, code="invalid_trace_id", instance=path)
    trace_id = trace_id or uuid.uuid4().hex
    structlog.contextvars.bind_contextvars(trace_id=trace_id)
    limit = state.settings.max_article_bytes
    declared = _declared_length(request)
    # Reserve what this body may cost us before reading a byte of it.
    reservation = state.admission.reserve(
        min(declared if declared is not None else limit, limit) + 1
    )
    if reservation is None:
        metrics.HTTP_REFUSED.labels(code="ingest_busy").inc()
        detail = "too many uploads in progress; retry shortly"
        return problems.problem(
            503, "Service unavailable", detail, code="ingest_busy", instance=path, retry_after=1
        )
    with reservation:
        body = await _receive(request, state.settings)
        if isinstance(body, JSONResponse):
            return body
        record = await _publish(
            state, request, body, declared, input_format=_FORMATS[media], trace_id=trace_id
        )
    log.info("accepted", article_id=record.id, version=record.version)
    reply: dict[str, Any] = {"id": record.id, "version": record.version, "trace_id": trace_id}
    return JSONResponse(reply, status_code=202, headers={"Location": f"/v1/articles/{record.id}"})


@router.delete(
    "/v1/articles/{article_id}",
    status_code=202,
    dependencies=[Depends(authorize)],
    responses={401: {}, 404: {}, 503: {}},
)
async def kill_article(
    request: Request,
    article_id: str,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> JSONResponse:
    """Kill an article: every copy leaves search, lookup and feeds (GET then answers 410).

    The kill goes through Kafka like every version, keyed by the article id; one sent before
    the article arrives still wins. The reply comes after Kafka acknowledged it.
    """
    state = state_of(request)
    if _ARTICLE_ID.fullmatch(article_id) is None:
        raise NotFound(f"no article can have the id {article_id[:40]!r}")
    trace_id = uuid.uuid4().hex
    event = StatusEvent(
        event="canceled",
        id=article_id,
        at=datetime.now(UTC),
        reason=reason,
        source=f"http:{_client(request)}",
    )
    record = await _acked(state, state.uploads.publish_event(event, trace_id=trace_id))
    log.info("killed", article_id=article_id, trace_id=trace_id)
    reply = {"id": article_id, "event": "canceled", "version": record.version, "trace_id": trace_id}
    return JSONResponse(reply, status_code=202)


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    return int(raw) if raw is not None and raw.isdigit() else None


async def _receive(request: Request, settings: Settings) -> Body | JSONResponse:
    """The body, or the problem to answer when it does not come (timeout, hang-up, nothing)."""
    path = request.url.path
    timeout = settings.ingest_body_timeout_s
    try:
        body = await read_body(request, settings.max_article_bytes, timeout)
    except TimeoutError:
        metrics.HTTP_REFUSED.labels(code="body_timeout").inc()
        log.info("body timeout", client=_client(request), after_s=timeout)
        detail = f"the request body did not arrive within {timeout:g} s"
        return problems.problem(408, "Request timeout", detail, code="body_timeout", instance=path)
    except ClientDisconnect:
        # Nobody is left to answer: one line, no traceback, nothing to dead-letter.
        metrics.HTTP_REFUSED.labels(code="client_disconnected").inc()
        log.info("client disconnected during upload", client=_client(request))
        detail = "the client closed the connection before the body was complete"
        return problems.problem(
            400, "Bad request", detail, code="client_disconnected", instance=path
        )
    if body.received == 0:
        detail = "the request has no body: send one article"
        return problems.problem(400, "Bad request", detail, code="missing_body", instance=path)
    return body


async def _publish(
    state: IngestState,
    request: Request,
    body: Body,
    declared: int | None,
    *,
    input_format: InputFormat,
    trace_id: str,
) -> Prepared:
    """Parse and publish within the Kafka time limit; a rejection is dead-lettered and raised."""
    limit = state.settings.max_article_bytes
    # The dead letter of an oversized body keeps the received prefix, up to the limit.
    item = Item(
        body.data[:limit],
        f"http:{_client(request)}",
        format=input_format,
        size=body.received,
        declared=declared,
    )
    return await _acked(
        state, state.uploads.publish(item, client=_client(request), trace_id=trace_id)
    )


async def _acked(state: IngestState, publishing: Awaitable[Prepared]) -> Prepared:
    """The record once Kafka acknowledged it, within the ingest's Kafka time limit."""
    timeout = state.settings.ingest_kafka_timeout_s
    # Past the limit the Kafka table makes the timeout KafkaUnavailable: a 503, retry later.
    with boundary(f"Kafka did not acknowledge within {timeout:g} s"):
        async with asyncio.timeout(timeout):
            return await publishing


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"
