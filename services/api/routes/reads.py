"""The router of the endpoints that read the index: orjson answers, their problems documented."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from services.api.models import problem_responses
from services.api.responses import FastJSON


def index_router(tag: str, *statuses: int, route_class: type[APIRoute] = APIRoute) -> APIRouter:
    """A router whose routes answer FastJSON and document ``statuses``, 503 and 504 as problems."""
    # Every read of the index may find Elasticsearch away or busy (503) or slow (504).
    return APIRouter(
        tags=[tag],
        default_response_class=FastJSON,
        responses=problem_responses(*statuses, 503, 504),
        route_class=route_class,
    )
