"""The alerts service's HTTP face: liveness, readiness, status and metrics on port 8003."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.alerts.service import AlertsService
from services.common.kafka_probe import KafkaProbe
from services.common.telemetry import metrics_router

# The matcher checks in at least every batch; a minute of silence means it is wedged (a batch
# waiting for a stopped indexer checks in too: that is lag, shown on the pipeline page).
STALE_LOOP_S = 60.0


def create_app(service: AlertsService) -> FastAPI:
    """Endpoints that report on ``service``; it is run by the caller, not by this app."""
    probe = KafkaProbe(service.settings.kafka_bootstrap)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await probe.close()

    app = FastAPI(title="Newswire alerts", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.include_router(metrics_router())

    @app.get("/livez")
    def livez() -> JSONResponse:
        matcher = service.matcher
        age = time.monotonic() - matcher.last_loop if matcher is not None else 0.0
        status = 200 if age < STALE_LOOP_S else 503
        return JSONResponse(
            {"status": "ok" if status == 200 else "stuck", "loop_age_s": age}, status
        )

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if not service.ready:
            return JSONResponse({"status": "starting", **service.status()}, 503)
        if not await probe.reachable():
            return JSONResponse({"status": "kafka_unavailable", **service.status()}, 503)
        return JSONResponse({"status": "ready", **service.status()}, 200)

    @app.get("/status")
    def status() -> JSONResponse:
        return JSONResponse(service.status())

    return app
