"""Dependency aliases for the routes: settings, the Elasticsearch client, index, tracker."""

from __future__ import annotations

from typing import Annotated

from elasticsearch import AsyncElasticsearch
from fastapi import Depends, Request

from services.api.index_fields import IndexFeatures, IndexFields
from services.api.limits import Gate
from services.api.status.tracker import Tracker
from services.common.settings import Settings

# Async on purpose: FastAPI runs a plain function in its thread pool, a thread hop per request.


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _es(request: Request) -> AsyncElasticsearch:
    es: AsyncElasticsearch = request.app.state.es
    return es


async def _features(request: Request) -> IndexFeatures:
    fields: IndexFields = request.app.state.index_fields
    return await fields.features()


async def _tracker(request: Request) -> Tracker:
    tracker: Tracker = request.app.state.tracker
    return tracker


async def _trends_gate(request: Request) -> Gate:
    gate: Gate = request.app.state.trends_gate
    return gate


SettingsDep = Annotated[Settings, Depends(_settings)]
ESDep = Annotated[AsyncElasticsearch, Depends(_es)]
FeaturesDep = Annotated[IndexFeatures, Depends(_features)]
TrackerDep = Annotated[Tracker, Depends(_tracker)]
TrendsGateDep = Annotated[Gate, Depends(_trends_gate)]
