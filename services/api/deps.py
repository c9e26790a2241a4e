"""Dependency aliases for the routes: the settings, the one Elasticsearch client, the tracker."""

from __future__ import annotations

from typing import Annotated

from elasticsearch import AsyncElasticsearch
from fastapi import Depends, Request

from services.api.pipeline_status import Tracker
from services.common.settings import Settings


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _es(request: Request) -> AsyncElasticsearch:
    es: AsyncElasticsearch = request.app.state.es
    return es


def _tracker(request: Request) -> Tracker:
    tracker: Tracker = request.app.state.tracker
    return tracker


SettingsDep = Annotated[Settings, Depends(_settings)]
ESDep = Annotated[AsyncElasticsearch, Depends(_es)]
TrackerDep = Annotated[Tracker, Depends(_tracker)]
