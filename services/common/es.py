"""Elasticsearch connection helpers: one async client per process, errors converted here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TransportError
from elasticsearch import ApiError, AsyncElasticsearch
from elasticsearch.serializer import OrjsonSerializer

from services.common.errors import (
    NewswireError,
    QueryError,
    SearchBusy,
    SearchTimeout,
    SearchUnavailable,
)
from services.common.settings import Settings

# Error types of an overloaded node: it answered, so it is busy, not unreachable.
BUSY_TYPES = frozenset({"circuit_breaking_exception", "es_rejected_execution_exception"})
TIMEOUT_TYPES = frozenset({"search_timeout_exception", "timeout_exception"})
_MAX_CAUSE_DEPTH = 8  # error bodies nest causes; a reply is never trusted to be shallow


def make_client(settings: Settings, *, timeout: float = 30.0) -> AsyncElasticsearch:
    """A client for ``settings.es_url``; the caller closes it (see ``es_client``)."""
    return AsyncElasticsearch(
        settings.es_url,
        request_timeout=timeout,
        serializer=OrjsonSerializer(),  # several times faster than json for large replies
        # Retries are decided by callers (bulk has its own backoff); the client must not hide them.
        max_retries=0,
        retry_on_timeout=False,
        # One node: after an outage, try it again within a second, not after up to 30 s.
        max_dead_node_backoff=1.0,
    )


@asynccontextmanager
async def es_client(
    settings: Settings, *, timeout: float = 30.0
) -> AsyncIterator[AsyncElasticsearch]:
    """An async client that is closed on exit, whatever happens inside."""
    client = make_client(settings, timeout=timeout)
    try:
        yield client
    finally:
        await client.close()


def error_types(body: Any, depth: int = 0) -> set[str]:
    """Every ``type`` in an error body: the error, its causes, root causes and shard failures."""
    if depth > _MAX_CAUSE_DEPTH:
        return set()
    if isinstance(body, list):
        return set().union(*(error_types(item, depth + 1) for item in body))
    if not isinstance(body, dict):
        return set()
    found = {body["type"]} if isinstance(body.get("type"), str) else set()
    return found.union(*(error_types(value, depth + 1) for value in body.values()))


def _status(exc: Exception) -> int:
    return exc.meta.status if isinstance(exc, ApiError) else 0


def _types(exc: Exception) -> set[str]:
    return error_types(exc.body) if isinstance(exc, ApiError) else set()


def _reason(exc: Exception) -> str:
    # The first named cause; the full reply stays on the chained exception.
    named = sorted(_types(exc) & (BUSY_TYPES | TIMEOUT_TYPES)) or sorted(_types(exc))[:1]
    return f"{_status(exc)} {named[0]}" if named else str(_status(exc))


Rule = tuple[Callable[[Exception], bool], Callable[[Exception], NewswireError]]

# First match wins. Order matters: a breaker may answer 503 inside a 5xx search failure, and a
# client-side timeout is not "unreachable" (the node answered the connection).
RULES: tuple[Rule, ...] = (
    (
        lambda e: isinstance(e, ConnectionTimeout),
        lambda e: SearchTimeout("Elasticsearch did not answer within the search timeout"),
    ),
    (
        lambda e: isinstance(e, TransportConnectionError),
        lambda e: SearchUnavailable("Elasticsearch cannot be reached"),
    ),
    (
        lambda e: _status(e) == 429 or bool(_types(e) & BUSY_TYPES),
        lambda e: SearchBusy(f"Elasticsearch is too busy for this request ({_reason(e)})"),
    ),
    (
        lambda e: _status(e) in (408, 504) or bool(_types(e) & TIMEOUT_TYPES),
        lambda e: SearchTimeout(f"Elasticsearch gave up on the request ({_reason(e)})"),
    ),
    (
        lambda e: _status(e) == 404,
        lambda e: SearchUnavailable("the article index does not exist yet"),
    ),
    (
        lambda e: _status(e) == 400,
        lambda e: QueryError(
            f"Elasticsearch refused the search: {getattr(e, 'message', e)}", code="search_rejected"
        ),
    ),
    (
        lambda e: _status(e) >= 500 or (isinstance(e, TransportError) and not _status(e)),
        lambda e: SearchUnavailable(f"Elasticsearch failed the request ({_reason(e)})"),
    ),
)


def convert(exc: Exception) -> NewswireError | None:
    """Our error for an exception of the Elasticsearch client, or None when it has no meaning."""
    if not isinstance(exc, ApiError | TransportError):
        return None
    for matches, make in RULES:
        if matches(exc):
            return make(exc)
    return None
