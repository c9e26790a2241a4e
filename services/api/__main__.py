"""``python -m services.api``: the query API on NEWSWIRE_API_PORT (one worker)."""

from __future__ import annotations

from services.api.app import create_app
from services.api.server import JoinedWritesProtocol
from services.common.service import run, serve
from services.common.settings import get_settings
from services.common.telemetry import configure_logging


async def main() -> None:
    """Serve until SIGTERM."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    await serve(
        create_app(settings),
        host=settings.host,
        port=settings.api_port,
        options={"http": JoinedWritesProtocol},  # a response's head and body in one write
    )


if __name__ == "__main__":
    run(main)
