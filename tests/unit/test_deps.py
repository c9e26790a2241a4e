"""The route dependencies read what ``create_app`` put on ``app.state``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.api.deps import ESDep, FeaturesDep, SettingsDep, TrackerDep, TrendsGateDep


class _Fields:
    """Stands in for IndexFields: the features of a fixed index."""

    async def features(self) -> str:
        return "features"


def _app() -> FastAPI:
    app = FastAPI()
    for name in ("settings", "es", "tracker", "trends_gate"):
        setattr(app.state, name, name)
    app.state.index_fields = _Fields()

    @app.get("/deps")
    async def deps(
        settings: SettingsDep,
        es: ESDep,
        features: FeaturesDep,
        tracker: TrackerDep,
        gate: TrendsGateDep,
    ) -> list[object]:
        return [settings, es, features, tracker, gate]

    return app


async def test_each_dependency_is_its_app_state_attribute() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        response = await client.get("/deps")
    assert response.status_code == 200
    assert response.json() == ["settings", "es", "features", "tracker", "trends_gate"]
