"""The ingest HTTP service: POST articles (seed text or JSON), get 202 once Kafka has them."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common import problems
from services.common.errors import ArticleRejected, KafkaUnavailable, Unauthorized
from services.common.settings import Settings, get_settings
from services.common.telemetry import metrics_router
from services.ingest.pipeline import Ingester, Item
from services.ingest.publisher import Publisher

log = structlog.get_logger(__name__)
_bearer = HTTPBearer(auto_error=False)
_TEXT = ("text/plain", "application/octet-stream")
_JSON = ("application/json",)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ingest app; its lifespan owns one idempotent producer."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Publisher(settings) as publisher:
            app.state.publisher = publisher
            yield

    app = FastAPI(
        title="Newswire ingest",
        version="1",
        lifespan=lifespan,
        description="Accepts articles in the seed format or as JSON and publishes them to Kafka.",
    )
    problems.install(app)
    app.include_router(metrics_router())

    async def authorize(
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        expected = settings.api_key
        if expected is None:
            return
        given = creds.credentials if creds else ""
        if not secrets.compare_digest(given.encode(), expected.get_secret_value().encode()):
            raise Unauthorized("a valid 'Authorization: Bearer <key>' header is required")

    @app.post(
        "/v1/articles",
        status_code=202,
        dependencies=[Depends(authorize)],
        responses={400: {}, 401: {}, 413: {}, 415: {}, 422: {}, 503: {}},
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
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in _TEXT + _JSON:
            return problems.problem(
                415,
                "Unsupported media type",
                f"send text/plain or application/json, not {media!r}",
                code="unsupported_media_type",
                instance=request.url.path,
            )
        declared = int(request.headers.get("content-length") or 0)
        limit = settings.max_article_bytes
        data = b"" if declared > limit else await _read_capped(request, limit)
        if declared > limit:
            data = b"\0" * (limit + 1)  # enough for the parser's own too_large rejection
        trace_id = request.headers.get("x-trace-id") or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(trace_id=trace_id)
        ingester = Ingester(request.app.state.publisher, None)
        item = Item(
            data, f"http:{request.client.host if request.client else '-'}", json=media in _JSON
        )
        article = await ingester.submit(item, trace_id=trace_id)
        await ingester.drain()
        if article is None:
            raise ingester.last_rejection or ArticleRejected(
                "rejected", "rejected", source=item.source
            )
        log.info("accepted", article_id=article.id, version=article.version)
        body: dict[str, Any] = {"id": article.id, "version": article.version, "trace_id": trace_id}
        return JSONResponse(
            body, status_code=202, headers={"Location": f"/v1/articles/{article.id}"}
        )

    @app.get("/livez")
    def livez() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> dict[str, str]:
        publisher: Publisher = request.app.state.publisher
        try:
            await asyncio.wait_for(publisher.producer.partitions_for(settings.topic_articles), 3)
        except (TimeoutError, Exception) as exc:
            raise KafkaUnavailable(f"Kafka at {settings.kafka_bootstrap} does not answer") from exc
        return {"status": "ready"}

    return app


async def _read_capped(request: Request, limit: int) -> bytes:
    """The body, stopping one byte past ``limit`` (a lying Content-Length cannot flood memory)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)
