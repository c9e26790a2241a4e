"""The query API: search, feeds, facets, articles, related stories, trends, pipeline, web UI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from services.api.es_node import LeanNode
from services.api.index_fields import IndexFields
from services.api.limits import Gate
from services.api.metrics import MetricsMiddleware
from services.api.routes import alerts, articles, feed, health, pipeline, search, trends
from services.api.status.tracker import Tracker
from services.api.ui import mount_ui
from services.common import problems
from services.common.embedding import Embedder
from services.common.es import make_client
from services.common.settings import Settings, get_settings
from services.common.telemetry import metrics_router

DESCRIPTION = """
Search the news archive that Newswire indexes from Kafka.

Query syntax of `q`: words (all required), `"exact phrases"`, `+must`, `-exclude`,
`AND` / `OR` / `NOT`, `( groups )`, `prefix*`. Every error is RFC 9457 problem+json
with a stable `code`. Any search is also a feed (`/v1/feed`, Atom 1.0 or JSON Feed 1.1).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API; its lifespan owns one Elasticsearch client and the pipeline status tracker."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Every call of the API is bounded by the search timeout (the tracker's included).
        # The lean node speaks plain HTTP only; a TLS URL keeps elastic-transport's aiohttp.
        lean = LeanNode if settings.es_url.startswith("http://") else None
        es = make_client(settings, timeout=settings.search_timeout_s, node_class=lean)
        tracker = Tracker(settings, es)
        app.state.settings, app.state.es, app.state.tracker = settings, es, tracker
        app.state.index_fields = IndexFields(es, settings.index_alias)
        app.state.trends_gate = Gate(settings.trends_concurrency, "trends")
        app.state.alert_streams = Gate(settings.sse_max_streams, "event stream")
        app.state.embedder = Embedder(lazy=True)  # hybrid searches embed their query
        await tracker.start()
        try:
            async with app.state.embedder:
                yield
        finally:
            await tracker.close()
            await es.close()

    app = FastAPI(
        title="Newswire query API", version="1", description=DESCRIPTION, lifespan=lifespan
    )
    problems.install(app)
    app.add_middleware(MetricsMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET"],
            allow_headers=["*"],
        )
    for module in (search, feed, articles, trends, alerts, pipeline, health):
        app.include_router(module.router)
    app.include_router(metrics_router())
    mount_ui(app)
    return app
