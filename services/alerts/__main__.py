"""``python -m services.alerts``: match saved searches and deliver webhooks until SIGTERM."""

from __future__ import annotations

from services.alerts.app import create_app
from services.alerts.service import AlertsService
from services.common.service import run, serve
from services.common.settings import get_settings
from services.common.telemetry import configure_logging


async def main() -> None:
    """Run the matcher, the webhook sender and the HTTP endpoints; SIGTERM stops them cleanly."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    async with AlertsService(settings) as service:
        await serve(
            create_app(service), host=settings.host, port=settings.alerts_port, worker=service.run
        )


if __name__ == "__main__":
    run(main)
