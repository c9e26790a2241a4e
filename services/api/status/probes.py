"""Liveness of the ingest, indexer and alerts services, from their /livez; the alerts' status."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import httpx

from services.common.settings import Settings

Health = Literal["up", "down", "unhealthy"]
PROBE_TIMEOUT_S = 0.5  # the status page waits on every probe: a dead service must not slow it


def targets(settings: Settings) -> dict[str, str]:
    """Base URL of each service the monitor probes."""
    return {
        "ingest": settings.ingest_url or f"http://127.0.0.1:{settings.ingest_port}",
        "indexer": settings.indexer_url or f"http://127.0.0.1:{settings.indexer_port}",
        "alerts": settings.alerts_url or f"http://127.0.0.1:{settings.alerts_port}",
    }


async def probe(client: httpx.AsyncClient, base: str) -> Health:
    """up when ``base``/livez answers 200, unhealthy on another status, down on no answer."""
    try:
        reply = await client.get(f"{base}/livez")
    except httpx.HTTPError:
        return "down"
    return "up" if reply.status_code == 200 else "unhealthy"


async def services_health(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> dict[str, Health]:
    """up/down of every probed service, all at once."""
    wanted = targets(settings)
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S, transport=transport) as client:
        states = await asyncio.gather(*(probe(client, base) for base in wanted.values()))
    return dict(zip(wanted, states, strict=True))


async def alerts_status(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> dict[str, Any] | None:
    """What the alerts service says of itself (/status); None when it does not answer."""
    base = targets(settings)["alerts"]
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S, transport=transport) as client:
        try:
            reply = await client.get(f"{base}/status")
        except httpx.HTTPError:
            return None
    if reply.status_code != 200:
        return None
    try:
        found = reply.json()
    except ValueError:  # not the alerts service answering on its port
        return None
    return found if isinstance(found, dict) else None
