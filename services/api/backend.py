"""Calls to Elasticsearch, with its exceptions converted to ours at this one boundary."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, BadRequestError, NotFoundError

from services.common.errors import NotFound, QueryError, SearchUnavailable

T = TypeVar("T")


async def call(request: Awaitable[T], *, missing: str | None = None) -> T:
    """Await an Elasticsearch request; 404 becomes NotFound(``missing``) when given."""
    try:
        return await request
    except NotFoundError as exc:
        if missing is not None:
            raise NotFound(missing) from exc
        raise SearchUnavailable("the article index does not exist yet") from exc
    except BadRequestError as exc:
        raise QueryError(
            f"Elasticsearch refused the search: {exc.message}", code="search_rejected"
        ) from exc
    except (TransportConnectionError, ConnectionTimeout) as exc:
        raise SearchUnavailable("Elasticsearch cannot be reached") from exc
    except ApiError as exc:
        if exc.meta.status == 429 or exc.meta.status >= 500:
            raise SearchUnavailable(f"Elasticsearch is overloaded ({exc.meta.status})") from exc
        raise


def body(reply: Any) -> dict[str, Any]:
    """The JSON body of a client response."""
    data: dict[str, Any] = reply.body
    return data
