"""Where bulk requests go: the Elasticsearch boundary of the writer, and the seam for tests.

``BulkWriter`` knows requests, splits and retries; a ``BulkTarget`` knows how to send one
request and converts what the server says into ``BulkRefused`` with a disposition, through
one table. Unit tests hand the writer a scripted target instead of a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import structlog
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, AsyncElasticsearch

from services.common.errors import BulkRefused

log = structlog.get_logger(__name__)

_FILTER = "errors,items.*.status,items.*.error.type,items.*.error.reason"

Disposition = Literal["wait", "retry", "split"]
# Whole-request refusals that say nothing about the records: the server is away, busy or
# misconfigured, so the batch waits (for ever, until shutdown) rather than being dead-lettered.
_WAIT = frozenset({401, 403, 404, 408, 429, 502, 503, 504})


def disposition(status: int) -> Disposition:
    """What a whole-request refusal calls for: wait it out, retry a few times, or split."""
    if status in _WAIT:
        return "wait"
    # Another 5xx may be the records' fault (a bug hit by one document): bounded retries,
    # then split. A 4xx (400 on one bad action line, 413) is the records': split now.
    return "retry" if status >= 500 else "split"


@dataclass(frozen=True)
class Current:
    """What the index holds for an id: its version and content fingerprint."""

    version: int
    content_hash: str | None


class BulkTarget(Protocol):
    """Sends bulk bodies to one index (or alias)."""

    index: str

    async def bulk(self, body: bytes) -> list[dict[str, Any]]:
        """The reply's items, in order; raises BulkRefused when the request is refused whole."""
        ...

    async def current(self, ids: list[str]) -> dict[str, Current]:
        """Version and content hash of the documents that exist among ``ids``."""
        ...


class EsBulkTarget:
    """A ``BulkTarget`` on a real Elasticsearch client."""

    def __init__(self, es: AsyncElasticsearch, index: str) -> None:
        self.es = es
        self.index = index

    async def bulk(self, body: bytes) -> list[dict[str, Any]]:
        """Send one NDJSON body."""
        try:
            reply = await self.es.bulk(
                # Pre-built NDJSON bytes: the client's NDJSON serializer sends them as is.
                operations=body,  # type: ignore[arg-type]
                filter_path=_FILTER,
            )
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise BulkRefused(None, f"elasticsearch unavailable: {exc}", "wait") from exc
        except ApiError as exc:
            status = exc.meta.status
            raise BulkRefused(status, str(exc)[:1000], disposition(status)) from exc
        items: list[dict[str, Any]] = reply.body.get("items", [])
        return items

    async def current(self, ids: list[str]) -> dict[str, Current]:
        """One ``_mget`` of the ids' versions and content hashes ({} when it cannot be asked)."""
        if not ids:
            return {}
        try:
            reply = await self.es.mget(
                index=self.index, ids=ids, source_includes=["content_hash"], realtime=True
            )
        except (TransportConnectionError, ConnectionTimeout, ApiError) as exc:
            # Unknown means "a redelivery", as before this check existed: never a false alarm.
            log.warning("cannot check version conflicts", error=str(exc)[:200])
            return {}
        found: dict[str, Current] = {}
        for doc in reply.body.get("docs", []):
            if doc.get("found"):
                source = doc.get("_source") or {}
                found[doc["_id"]] = Current(int(doc["_version"]), source.get("content_hash"))
        return found
