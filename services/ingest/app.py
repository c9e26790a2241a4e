"""The ingest HTTP service: POST articles (seed text or JSON), get 202 once Kafka has them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common import problems
from services.common.kafka_probe import KafkaProbe
from services.common.settings import Settings, get_settings
from services.common.telemetry import metrics_router
from services.ingest.admission import Admission, DeadLetterQuota
from services.ingest.publisher import Publisher
from services.ingest.routes import IngestState, router
from services.ingest.uploads import Uploads


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ingest app; its lifespan needs an API key and owns one idempotent producer."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        api_key = settings.required_api_key()  # no key, no service: ConfigError
        async with Publisher(settings) as publisher:
            quota = DeadLetterQuota(settings.ingest_dlq_rate_per_s, settings.ingest_dlq_burst)
            app.state.ingest = IngestState(
                settings=settings,
                api_key=api_key,
                uploads=Uploads(publisher, quota),
                admission=Admission(
                    settings.ingest_max_uploads, settings.ingest_max_inflight_bytes
                ),
                # The producer's own connection answers the probe: no socket per readiness check.
                probe=KafkaProbe(settings.kafka_bootstrap, client=publisher.producer.client),
            )
            yield

    app = FastAPI(
        title="Newswire ingest",
        version="1",
        lifespan=lifespan,
        description=(
            "Accepts articles in the seed format or as JSON and publishes them to Kafka. "
            "Requires `Authorization: Bearer <NEWSWIRE_API_KEY>`."
        ),
    )
    problems.install(app)
    app.include_router(metrics_router())
    app.include_router(router)

    return app
