"""Calls to Elasticsearch, with its exceptions converted to ours at this one boundary."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from elastic_transport import TransportError
from elasticsearch import ApiError, NotFoundError

from services.common.errors import NotFound, SearchTimeout
from services.common.es import convert
from services.common.settings import Settings

T = TypeVar("T")


async def call(request: Awaitable[T], *, missing: str | None = None) -> T:
    """Await an Elasticsearch request; 404 becomes NotFound(``missing``) when given.

    Everything else goes through the one conversion table (services.common.es.RULES).
    """
    try:
        return await request
    except (ApiError, TransportError) as exc:
        if missing is not None and isinstance(exc, NotFoundError):
            raise NotFound(missing) from exc
        error = convert(exc)
        if error is None:
            raise  # no meaning for us (e.g. a security refusal): a 500, logged
        raise error from exc


def body(reply: Any) -> dict[str, Any]:
    """The JSON body of a client response; a search cut short by its timeout is an error."""
    data: dict[str, Any] = reply.body
    if data.get("timed_out") is True:
        # Partial hits or counts would be presented as the whole answer: refuse them.
        raise SearchTimeout("the search did not finish within the search timeout")
    return data


def bounds(settings: Settings) -> dict[str, Any]:
    """Search arguments that bound a search's work on the Elasticsearch side too.

    The client's request timeout cuts the wait; ``timeout`` makes the shards stop collecting
    (a disconnect alone may leave them working), and no partial answer passes as a whole one.
    """
    millis = max(1, round(settings.search_timeout_s * 1000))
    return {"timeout": f"{millis}ms", "allow_partial_search_results": False}
