"""The search route's query string read directly when it holds only plain values.

FastAPI validates each declared parameter through pydantic on every request, which costs
more of the API's CPU than building the search does. Most searches send plain values
(``size=10``, ``sort=newest``, ``from=2024-01-31``); for those this reader gives the same
values FastAPI would. Anything else (a bound crossed, a repeated scalar, ``size=+5``,
``has_tweets=yes``) reads as None, and the request goes FastAPI's validated way: its answers,
422 problems included, are unchanged.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, get_args

from starlette.datastructures import QueryParams

from services.api import search

SORTS = frozenset(get_args(search.Sort))
FACETS = frozenset(get_args(search.Facet))
INTERVALS = frozenset(get_args(search.Interval))
VERSIONS = frozenset(get_args(search.Versions))
MODES = frozenset(get_args(search.Mode))
# Declared bounds of the route (services/api/routes/search.py), the same numbers.
MAX_Q = 2000
MAX_CURSOR = 2000
MAX_STORY = 64
MAX_LIST = {"category": 50, "handle": 50, "facet": 3}
INTS = {"size": (1, 100), "page": (1, 10_000), "facet_size": (1, 100)}
_INT = re.compile(r"[1-9][0-9]{0,5}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_BOOLS = {"true": True, "false": False}
_ENUMS = {"sort": SORTS, "interval": INTERVALS, "versions": VERSIONS, "mode": MODES}
# Names FastAPI would not read (``from_`` is the parameter behind the alias ``from``).
_UNSURE = frozenset({"from_"})
_SCALARS = frozenset(
    {"q", "cursor", "story", "search_in", "has_tweets", "from", "to", *INTS, *_ENUMS}
)
DECLARED = _SCALARS | set(MAX_LIST)  # every query parameter of the route, by its name in URLs


def plain_args(query: QueryParams) -> dict[str, Any] | None:
    """The route's arguments, as FastAPI would pass them, or None if FastAPI must judge."""
    args: dict[str, Any] = {}
    for name in query:
        values = query.getlist(name)
        if name in MAX_LIST:
            if len(values) > MAX_LIST[name] or not _listed(name, values):
                return None
            args[name] = values
            continue
        if name not in _SCALARS:
            if name in _UNSURE:
                return None
            continue  # FastAPI ignores parameters it does not declare: so does this
        value = _scalar(name, values[0]) if len(values) == 1 else None
        if value is None:
            return None
        args["from_" if name == "from" else name] = value
    return args


def _listed(name: str, values: list[str]) -> bool:
    """Whether every value of a list parameter is one FastAPI takes as it is."""
    return name != "facet" or all(v in FACETS for v in values)


def _scalar(name: str, raw: str) -> object:
    """The value of one declared scalar parameter; None when FastAPI must judge it."""
    if name in ("q", "cursor", "story"):
        limit = {"q": MAX_Q, "cursor": MAX_CURSOR, "story": MAX_STORY}[name]
        return raw if len(raw) <= limit else None
    if name == "search_in":
        return raw
    if name in INTS:
        low, high = INTS[name]
        number = int(raw) if _INT.fullmatch(raw) else 0
        return number if low <= number <= high else None
    if name in _ENUMS:
        return raw if raw in _ENUMS[name] else None
    if name == "has_tweets":
        return _BOOLS.get(raw)
    return _date(raw)  # from, to


def _date(raw: str) -> date | None:
    """A calendar date written YYYY-MM-DD; None for anything else (FastAPI decides)."""
    if not _DATE.fullmatch(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None
