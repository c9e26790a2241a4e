"""The indexer's HTTP face: liveness, readiness and metrics on port 8002."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.common.kafka_probe import KafkaProbe
from services.common.telemetry import metrics_router
from services.indexer.consumer import Indexer

# The consumer loop checks in at least every batch_max_wait_ms + 0.5 s; a minute of silence
# means it is wedged, and an orchestrator should restart the process.
STALE_LOOP_S = 60.0


def create_app(indexer: Indexer) -> FastAPI:
    """Endpoints that report on ``indexer``; it is run by the caller, not by this app."""
    # One kept connection, asked at most every 2 s: the consumer's cached assignment would
    # stay "ready" through a Kafka outage, so readiness asks the brokers themselves.
    probe = KafkaProbe(indexer.settings.kafka_bootstrap)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await probe.close()

    app = FastAPI(title="Newswire indexer", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.include_router(metrics_router())

    @app.get("/livez")
    def livez() -> JSONResponse:
        age = time.monotonic() - indexer.last_loop
        status = 200 if age < STALE_LOOP_S else 503
        return JSONResponse(
            {"status": "ok" if status == 200 else "stuck", "loop_age_s": age}, status
        )

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if not indexer.ready:
            return JSONResponse({"status": "starting", **indexer.status()}, 503)
        if not await probe.reachable():
            return JSONResponse({"status": "kafka_unavailable", **indexer.status()}, 503)
        return JSONResponse({"status": "ready", **indexer.status()}, 200)

    return app
