"""``python -m services.ingest``: the ingest HTTP service, and the watch folder when one is set."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import structlog

from services.common.errors import ConfigError
from services.common.service import run, serve
from services.common.settings import Settings, get_settings
from services.common.telemetry import configure_logging
from services.ingest.app import create_app
from services.ingest.ingester import Ingester
from services.ingest.ledger import ledger_for
from services.ingest.publisher import Publisher
from services.ingest.watch import watch

log = structlog.get_logger(__name__)


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's own limits: connections beyond the bound get a 503, idle ones are closed."""
    return {
        "limit_concurrency": settings.ingest_max_connections,
        "timeout_keep_alive": settings.ingest_keep_alive_s,
        "h11_max_incomplete_event_size": 16 * 1024,  # request line and headers
    }


async def main() -> None:
    """Serve POST /v1/articles (and watch NEWSWIRE_WATCH_DIR) until SIGTERM."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        settings.required_api_key()
    except ConfigError as exc:
        log.error("refusing to start", code=exc.code, reason=exc.message)
        sys.exit(2)
    app, options = create_app(settings), server_options(settings)
    folder = settings.watch_dir
    if folder is None:
        await serve(app, host=settings.host, port=settings.ingest_port, options=options)
        return

    async def watcher(stop: asyncio.Event) -> None:
        async with Publisher(settings, client_id="newswire-watch") as publisher:
            with ledger_for(settings) as ledger:
                await watch(folder, Ingester(publisher, ledger), stop)

    await serve(app, host=settings.host, port=settings.ingest_port, worker=watcher, options=options)


if __name__ == "__main__":
    run(main)
