"""``python -m services.indexer``: consume the article topic into Elasticsearch until SIGTERM."""

from __future__ import annotations

import socket

from services.common.service import run, serve
from services.common.settings import get_settings
from services.common.telemetry import configure_logging
from services.indexer.app import create_app
from services.indexer.consumer import Indexer


async def main() -> None:
    """Run the consumer loop and the HTTP endpoints; SIGTERM finishes the batch and commits."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    async with Indexer(settings, client_id=f"indexer-{socket.gethostname()}") as indexer:
        await serve(
            create_app(indexer), host=settings.host, port=settings.indexer_port, worker=indexer.run
        )


if __name__ == "__main__":
    run(main)
