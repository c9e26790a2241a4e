"""Elasticsearch connection helpers: one async client per process, errors converted here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from elastic_transport import BaseAsyncNode, ConnectionTimeout, NdjsonSerializer, TransportError
from elastic_transport import ConnectionError as TransportConnectionError
from elasticsearch import ApiError, AsyncElasticsearch
from elasticsearch.serializer import OrjsonSerializer

from services.common.errors import (
    IndexMissing,
    NewswireError,
    QueryError,
    SearchBusy,
    SearchFailed,
    SearchForbidden,
    SearchTimeout,
    SearchUnavailable,
)
from services.common.settings import Settings

# Error types of an overloaded node: it answered, so it is busy, not unreachable.
BUSY_TYPES = frozenset({"circuit_breaking_exception", "es_rejected_execution_exception"})
TIMEOUT_TYPES = frozenset({"search_timeout_exception", "timeout_exception"})
_MAX_CAUSE_DEPTH = 8  # error bodies nest causes; a reply is never trusted to be shallow


class PrebuiltNdjson(NdjsonSerializer):
    """NDJSON that passes a body built already (bytes ending in a newline) through untouched.

    The bulk writers build their bodies as bytes; the stock serializer copied each one twice
    (into a bytearray, then back to bytes), a few MB a request.
    """

    def dumps(self, data: Any) -> bytes:
        """``data`` itself when it is a finished NDJSON body, else the stock encoding."""
        if isinstance(data, bytes) and data.endswith(b"\n"):
            return data
        return super().dumps(data)


def make_client(
    settings: Settings, *, timeout: float = 30.0, node_class: type[BaseAsyncNode] | None = None
) -> AsyncElasticsearch:
    """A client for every node of ``settings.es_node_urls``; the caller closes it (``es_client``).

    ``node_class``: the HTTP client under the transport (default: elastic-transport's aiohttp).
    """
    urls = settings.es_node_urls
    nodes: dict[str, Any] = {"node_class": node_class} if node_class else {}
    return AsyncElasticsearch(
        urls,
        request_timeout=timeout,
        serializers={
            "application/json": OrjsonSerializer(),  # several times faster than json
            "application/x-ndjson": PrebuiltNdjson(),
        },
        # Retries are decided by callers (bulk has its own backoff); the client must not hide
        # them. In a cluster a node that cannot be reached is skipped: the request goes on to
        # the next node (a connection refused writes nothing), never again to the same one.
        max_retries=len(urls) - 1,
        retry_on_timeout=False,
        retry_on_status=(),
        # After an outage, try a node again within a second, not after up to 30 s.
        max_dead_node_backoff=1.0,
        **nodes,
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


@dataclass(frozen=True)
class Failure:
    """What the table reads of a failure: the exception, if any, its status and error types."""

    status: int  # 0 when the server gave no HTTP answer
    types: frozenset[str]
    message: str
    exc: Exception | None = None

    @classmethod
    def of(cls, exc: Exception) -> Failure:
        """The failure an exception of the Elasticsearch client describes."""
        if isinstance(exc, ApiError):
            return cls(exc.meta.status, frozenset(error_types(exc.body)), str(exc.message), exc)
        return cls(0, frozenset(), str(exc), exc)

    @property
    def reason(self) -> str:
        """The status and the first named cause; the full reply stays on the exception."""
        named = sorted(self.types & (BUSY_TYPES | TIMEOUT_TYPES)) or sorted(self.types)[:1]
        return f"{self.status} {named[0]}" if named else str(self.status)

    def raised(self, kind: type[Exception]) -> bool:
        """True when the failure is an exception of ``kind``."""
        return isinstance(self.exc, kind)


Rule = tuple[Callable[[Failure], bool], Callable[[Failure], NewswireError]]

# First match wins. Order matters: a breaker may answer 503 inside a 5xx search failure, and a
# client-side timeout is not "unreachable" (the node answered the connection).
RULES: tuple[Rule, ...] = (
    (
        lambda f: f.raised(ConnectionTimeout),
        lambda f: SearchTimeout("Elasticsearch did not answer within the search timeout"),
    ),
    (
        lambda f: f.raised(TransportConnectionError),
        lambda f: SearchUnavailable("Elasticsearch cannot be reached"),
    ),
    (
        lambda f: f.status == 429 or bool(f.types & BUSY_TYPES),
        lambda f: SearchBusy(f"Elasticsearch is too busy for this request ({f.reason})"),
    ),
    (
        lambda f: f.status in (408, 504) or bool(f.types & TIMEOUT_TYPES),
        lambda f: SearchTimeout(f"Elasticsearch gave up on the request ({f.reason})"),
    ),
    (
        lambda f: f.status == 404,
        lambda f: IndexMissing("the article index does not exist yet"),
    ),
    (
        lambda f: f.status in (401, 403),
        lambda f: SearchForbidden(f"Elasticsearch refuses this service's access ({f.reason})"),
    ),
    (
        lambda f: f.status == 400,
        lambda f: QueryError(
            f"Elasticsearch refused the request: {f.message}", code="search_rejected"
        ),
    ),
    (
        # A gateway or a node without its shards: the server is away, whatever was asked.
        lambda f: f.status in (502, 503) or (f.raised(TransportError) and not f.status),
        lambda f: SearchUnavailable(f"Elasticsearch failed the request ({f.reason})"),
    ),
    (
        lambda f: f.status >= 500,
        lambda f: SearchFailed(f"Elasticsearch failed the request ({f.reason})"),
    ),
)


def judge(failure: Failure) -> NewswireError | None:
    """Our error for a failure, by the first rule that matches; None when it has no meaning."""
    for matches, make in RULES:
        if matches(failure):
            return make(failure)
    return None


def convert(exc: Exception) -> NewswireError | None:
    """Our error for an exception of the Elasticsearch client, or None when it has no meaning."""
    if not isinstance(exc, ApiError | TransportError):
        return None
    return judge(Failure.of(exc))


def convert_item(status: int, error: dict[str, Any]) -> NewswireError | None:
    """Our error for one failed item of a bulk reply (its status and error object)."""
    return judge(Failure(status, frozenset(error_types(error)), str(error.get("reason", ""))))


@contextmanager
def boundary(what: str) -> Iterator[None]:
    """The client's exceptions raised inside become ours, prefixed with ``what`` failed."""
    try:
        yield
    except (ApiError, TransportError) as exc:
        error = convert(exc)
        if error is None:
            raise  # no meaning for us: the caller's crash handler logs it whole
        raise error.during(what) from exc
