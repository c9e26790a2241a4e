"""``python -m services.ingest``: the ingest HTTP service, and the watch folder when one is set."""

from __future__ import annotations

import asyncio

from services.common.service import run, serve
from services.common.settings import get_settings
from services.common.telemetry import configure_logging
from services.ingest.app import create_app
from services.ingest.ledger import ledger_for
from services.ingest.pipeline import Ingester
from services.ingest.publisher import Publisher
from services.ingest.watch import watch


async def main() -> None:
    """Serve POST /v1/articles (and watch NEWSWIRE_WATCH_DIR) until SIGTERM."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    folder = settings.watch_dir
    if folder is None:
        await serve(create_app(settings), host=settings.host, port=settings.ingest_port)
        return

    async def watcher(stop: asyncio.Event) -> None:
        async with Publisher(settings, client_id="newswire-watch") as publisher:
            with ledger_for(settings) as ledger:
                await watch(folder, Ingester(publisher, ledger), stop)

    await serve(create_app(settings), host=settings.host, port=settings.ingest_port, worker=watcher)


if __name__ == "__main__":
    run(main)
