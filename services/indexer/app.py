"""The indexer's HTTP face: liveness, readiness and metrics on port 8002."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.common.telemetry import metrics_router
from services.indexer.consumer import Indexer

# The consumer loop checks in at least every batch_max_wait_ms + 0.5 s; a minute of silence
# means it is wedged, and an orchestrator should restart the process.
STALE_LOOP_S = 60.0


def create_app(indexer: Indexer) -> FastAPI:
    """Endpoints that report on ``indexer``; it is run by the caller, not by this app."""
    app = FastAPI(title="Newswire indexer", docs_url=None, redoc_url=None)
    app.include_router(metrics_router())

    @app.get("/livez")
    def livez() -> JSONResponse:
        age = time.monotonic() - indexer.last_loop
        status = 200 if age < STALE_LOOP_S else 503
        return JSONResponse(
            {"status": "ok" if status == 200 else "stuck", "loop_age_s": age}, status
        )

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        ready = indexer.ready
        body = {"status": "ready" if ready else "starting", **indexer.status()}
        return JSONResponse(body, 200 if ready else 503)

    return app
