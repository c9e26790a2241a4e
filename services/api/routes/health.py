"""/livez and /readyz."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.backend import call
from services.api.deps import ESDep, TrackerDep
from services.api.models import problem_responses

router = APIRouter(tags=["health"])


@router.get("/livez")
async def livez() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses=problem_responses(503, 504))
async def readyz(es: ESDep, tracker: TrackerDep) -> dict[str, str]:
    """Elasticsearch and Kafka both answer."""
    await call(es.cluster.health(timeout="2s"))
    # No outer timeout: the clients bound every request (5 s), and cancelling aiokafka
    # half-way through a request leaks its connection. The reader converts Kafka's errors.
    await tracker.kafka_view()
    return {"status": "ready"}
