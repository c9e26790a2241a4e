"""Calls to Elasticsearch, with its exceptions converted to ours at this one boundary."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar, cast
from urllib.parse import quote

import orjson
from elastic_transport import BaseAsyncNode, HttpHeaders, ObjectApiResponse, TransportError
from elastic_transport import ConnectionError as TransportConnectionError
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError
from elasticsearch.exceptions import HTTP_EXCEPTIONS

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


# The search() arguments the client sends in the query string; the others go in the body.
QUERY_ARGS = {  # in the client's order
    "allow_partial_search_results": "allow_partial_search_results",
    "filter_path": "filter_path",
    "source_includes": "_source_includes",
}
BODY_ARGS = frozenset(
    {"query", "size", "sort", "track_total_hits", "highlight", "post_filter", "aggs"}
    | {"suggest", "search_after", "from_", "timeout", "collapse", "knn"}
)
_MIME = "application/vnd.elasticsearch+json; compatible-with=9"  # what the client sends
_HEADERS = HttpHeaders({"accept": _MIME, "content-type": _MIME})


def search_request(request: dict[str, Any]) -> tuple[str, bytes] | None:
    """The target and body ``AsyncElasticsearch.search(**request)`` sends, or None for a
    request with arguments this does not know (the client then sends it itself)."""
    args = dict(request)
    index = args.pop("index")
    query = [f"{key}={_quoted(args.pop(name))}" for name, key in QUERY_ARGS.items() if name in args]
    if not isinstance(index, str) or not set(args) <= BODY_ARGS or "sort" not in args:
        return None
    if not all(isinstance(key, dict) for key in args["sort"]):
        return None  # "field:order" strings go in the query string: the client knows how
    if "from_" in args:
        args["from"] = args.pop("from_")
    return f"/{quote(index, ',*')}/_search?{'&'.join(query)}", orjson.dumps(args)


def _quoted(value: Any) -> str:
    """A query-string value as the client writes it: lists comma-joined, booleans lowercase."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, list | tuple):
        value = ",".join(value)
    return quote(str(value), ",*")


async def _perform(
    es: AsyncElasticsearch, target: str, payload: bytes, timeout: float
) -> tuple[Any, bytes]:
    """POST to one node of the pool; a node that cannot be reached is marked dead, the next tried.

    A search reads only: sending it again elsewhere is safe. One node: its error, as before.
    """
    pool = es.transport.node_pool
    attempts = len(pool.all())
    for attempt in range(attempts):
        node = cast(BaseAsyncNode, pool.get())
        try:
            meta, raw = await node.perform_request(
                "POST", target, body=payload, headers=_HEADERS, request_timeout=timeout
            )
        except TransportConnectionError:
            if attempt + 1 >= attempts:
                raise
            pool.mark_dead(node)
            continue
        if attempts > 1:
            pool.mark_live(node)
        return meta, raw
    raise AssertionError("unreachable: the last attempt returns or raises")


async def search(
    es: AsyncElasticsearch, request: dict[str, Any], *, timeout: float
) -> ObjectApiResponse[Any]:
    """``es.search(**request)`` sent straight to the client's node, raising what it raises.

    The client's layers above the node (parameter rewriting, tracing spans, header merging,
    the retry loop that ``max_retries=0`` turns off) cost the API more CPU per search than
    the HTTP exchange itself; a search needs none of them. ``timeout``: the client's request
    timeout, which the node does not know of (it is passed with each request).
    """
    prepared = search_request(request)
    if prepared is None:
        return await es.search(**request)
    target, payload = prepared
    meta, raw = await _perform(es, target, payload, timeout)
    try:
        data: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = raw.decode("utf-8", "replace")  # a proxy's page, not Elasticsearch's JSON
    if not 200 <= meta.status < 300:
        # The client's message: the error's type when the reply names one, else the reply.
        message: Any = str(data)
        if isinstance(data, dict):
            error = data.get("error", message)
            message = error["type"] if isinstance(error, dict) and "type" in error else error
        raise HTTP_EXCEPTIONS.get(meta.status, ApiError)(message=message, meta=meta, body=data)
    return ObjectApiResponse(body=data, meta=meta)
