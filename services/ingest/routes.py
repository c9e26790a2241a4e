"""POST /v1/articles: authorise, admit, read within bounds, publish within a time limit."""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import ClientDisconnect

from services.common import problems
from services.common.article import Article
from services.common.dlq import DeadLetter
from services.common.errors import ArticleRejected, KafkaUnavailable, Unauthorized
from services.common.kafka_probe import KafkaProbe
from services.common.settings import Settings
from services.ingest import metrics
from services.ingest.ingester import Ingester
from services.ingest.limits import Admission, Body, DeadLetterQuota, read_body
from services.ingest.publisher import Publisher, too_large
from services.ingest.readers import Item
from services.ingest.verdict import InputLimits, parse_item

log = structlog.get_logger(__name__)
_bearer = HTTPBearer(auto_error=False)
_TEXT = ("text/plain", "application/octet-stream")
_JSON = ("application/json",)
TRACE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass
class IngestState:
    """What the running app holds: the key, the producer and the limits (one per process)."""

    settings: Settings
    api_key: str
    publisher: Publisher
    admission: Admission
    quota: DeadLetterQuota
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
    given = creds.credentials if creds else ""
    if not secrets.compare_digest(given.encode(), state_of(request).api_key.encode()):
        raise Unauthorized("a valid 'Authorization: Bearer <key>' header is required")


router = APIRouter()


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
            },
        }
    },
)
async def post_article(request: Request) -> JSONResponse:
    """Publish one article; the reply comes after Kafka acknowledged it (or its rejection)."""
    state = state_of(request)
    path = request.url.path
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _TEXT + _JSON:
        detail = f"send text/plain or application/json, not {media!r}"
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
        article = await _publish(
            state, request, body, declared, json=media in _JSON, trace_id=trace_id
        )
    log.info("accepted", article_id=article.id, version=article.version)
    reply: dict[str, Any] = {"id": article.id, "version": article.version, "trace_id": trace_id}
    return JSONResponse(reply, status_code=202, headers={"Location": f"/v1/articles/{article.id}"})


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
    json: bool,
    trace_id: str,
) -> Article:
    """Parse and publish within the Kafka time limit; a rejection is dead-lettered and raised."""
    limit = state.settings.max_article_bytes
    item = Item(body.data[:limit], f"http:{_client(request)}", json=json)
    timeout = state.settings.ingest_kafka_timeout_s
    try:
        async with asyncio.timeout(timeout):
            if body.received > limit:
                rejection = ArticleRejected(
                    "too_large", f"the article is over {limit} bytes", source=item.source
                )
                sizes = (declared, body.received)
                await _dead_letter(state, request, item, rejection, sizes)
                raise rejection
            return await _parse_and_send(state, request, item, trace_id)
    except TimeoutError as exc:
        raise KafkaUnavailable(f"Kafka did not acknowledge within {timeout:g} s") from exc
    except KafkaError as exc:
        raise KafkaUnavailable(f"Kafka refused the article: {exc!r}") from exc


async def _parse_and_send(
    state: IngestState, request: Request, item: Item, trace_id: str
) -> Article:
    parsed = parse_item(item, InputLimits.of(state.settings))
    if isinstance(parsed, ArticleRejected):
        await _dead_letter(state, request, item, parsed, None)
        raise parsed
    ingester = Ingester(state.publisher, None)
    try:
        await ingester.publish_parsed(item, parsed, trace_id=trace_id)
        await ingester.drain()
    except ArticleRejected as exc:  # the encoded record is over Kafka's limit (publisher)
        await _dead_letter(state, request, item, exc, None)
        raise
    except MessageSizeTooLargeError as exc:  # the same, refused by the broker at ack time
        rejection = too_large(parsed.id, exc)
        await _dead_letter(state, request, item, rejection, None)
        raise rejection from exc
    if ingester.last_rejection is not None:  # rejected, and dead-lettered, by the pipeline
        raise ingester.last_rejection
    return parsed


async def _dead_letter(
    state: IngestState,
    request: Request,
    item: Item,
    rejection: ArticleRejected,
    sizes: tuple[int | None, int] | None,
) -> None:
    """Dead-letter what arrived, unless this client is over its dead-letter rate."""
    metrics.REJECTED.labels(code=rejection.code).inc()
    log.info("rejected", source=item.source, code=rejection.code, reason=rejection.message)
    if not state.quota.allow(_client(request)):
        return
    declared, received = sizes if sizes is not None else (None, None)
    letter = DeadLetter(
        item.data,
        rejection.code,
        rejection.message,
        item.source,
        "ingest",
        size_declared=declared,
        size_received=received,
    )
    await (await state.publisher.dead_letter(letter))  # the caller bounds the time


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"
