"""Dependency aliases for the routes: settings, the Elasticsearch client, index, tracker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from elasticsearch import AsyncElasticsearch
from fastapi import Depends, Request

from services.api.index_fields import IndexFeatures, IndexFields
from services.api.limits import Gate
from services.api.status.tracker import Tracker
from services.common.settings import Settings

T = TypeVar("T")


def _state(attribute: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency that returns ``app.state.<attribute>``, which ``create_app`` set."""

    # Async on purpose: FastAPI runs a plain function in its thread pool, a thread hop per
    # request.
    async def get(request: Request) -> T:
        value: T = getattr(request.app.state, attribute)
        return value

    get.__name__ = f"_{attribute}"
    return get


_index_fields = _state("index_fields", IndexFields)


async def _features(request: Request) -> IndexFeatures:
    return await (await _index_fields(request)).features()


SettingsDep = Annotated[Settings, Depends(_state("settings", Settings))]
ESDep = Annotated[AsyncElasticsearch, Depends(_state("es", AsyncElasticsearch))]
FeaturesDep = Annotated[IndexFeatures, Depends(_features)]
TrackerDep = Annotated[Tracker, Depends(_state("tracker", Tracker))]
TrendsGateDep = Annotated[Gate, Depends(_state("trends_gate", Gate))]
AlertStreamsDep = Annotated[Gate, Depends(_state("alert_streams", Gate))]
