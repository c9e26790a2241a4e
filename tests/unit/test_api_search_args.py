"""The search route's direct reading of plain arguments agrees with FastAPI's validation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.dependencies.utils import request_params_to_args
from fastapi.routing import APIRoute
from starlette.datastructures import QueryParams

from services.api.routes.search import PlainArgsRoute, router
from services.api.search_args import DECLARED, plain_args

ROUTE = next(r for r in router.routes if isinstance(r, APIRoute) and r.path == "/v1/search")
# Arguments that are not query parameters: FastAPI fills them from the app's state.
STATE = {"es", "settings", "features"}


def validated(query: str) -> tuple[dict[str, Any], list[Any]]:
    """What FastAPI makes of a query string for the route: values and errors."""
    return request_params_to_args(ROUTE.dependant.query_params, QueryParams(query))


DEFAULTS = {name: value for name, value in validated("")[0].items() if name not in STATE}


PLAIN = [
    "",
    "q=iran",
    "q=iran+%22ballistic+missiles%22+-trump&sort=newest&size=20",
    "q=&size=100&page=10000&facet_size=1",
    "q=x&category=world&category=sports&facet=category&facet=published",
    "q=x&from=2024-01-31&to=2024-02-29&has_tweets=true",
    "q=x&has_tweets=false&handle=%40bbc&handle=cnn&interval=day",
    "q=x&cursor=abc&search_in=title,body",
    "q=x&unknown=1&unknown=2&size=7",
    "q=x&category=",
    "q=" + "a" * 2000,
]
UNUSUAL = [
    "size=0",
    "size=101",
    "size=+5",
    "size=05",
    "size=",
    "size=1e2",
    "page=10001",
    "facet_size=-1",
    "sort=best",
    "interval=hour",
    "has_tweets=yes",
    "has_tweets=1",
    "has_tweets=True",
    "from=2024-02-30",
    "from=20240101",
    "to=2024-1-5",
    "q=a&q=b",
    "facet=colour",
    "facet=category&facet=published&facet=handle&facet=category",
    "q=" + "a" * 2001,
    "cursor=" + "c" * 2001,
    "category=" + "&category=".join("x" * 51),
    "from_=2024-01-01",
]


@pytest.mark.parametrize("query", PLAIN)
def test_plain_arguments_read_as_fastapi_reads_them(query: str) -> None:
    args = plain_args(QueryParams(query))
    values, errors = validated(query)
    assert args is not None
    assert not errors
    given = {name: value for name, value in values.items() if name not in STATE}
    assert {**DEFAULTS, **args} == given


@pytest.mark.parametrize("query", UNUSUAL)
def test_anything_unusual_is_left_to_fastapi(query: str) -> None:
    assert plain_args(QueryParams(query)) is None


def test_the_route_is_the_plain_args_route() -> None:
    assert isinstance(ROUTE, PlainArgsRoute)


def test_the_reader_knows_every_parameter_the_route_declares() -> None:
    assert {param.alias for param in ROUTE.dependant.query_params} == DECLARED
    # Only these dependencies, which the direct reading takes from the app's state.
    assert {dep.name for dep in ROUTE.dependant.dependencies} == STATE
    assert not ROUTE.dependencies
