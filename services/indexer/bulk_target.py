"""Where bulk requests go: the Elasticsearch boundary of the writer, and the seam for tests.

``BulkWriter`` knows requests, splits and retries; a ``BulkTarget`` knows how to send one
request and turns a refusal into ``BulkRefused`` with a disposition read from the error the
one Elasticsearch table (``services.common.es``) makes of it. Unit tests hand the writer a
scripted target instead of a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from elastic_transport import TransportError
from elasticsearch import ApiError, AsyncElasticsearch

from services.common.errors import BulkRefused, NewswireError, SearchFailed
from services.common.es import convert
from services.common.fields import STORY_ID

_FILTER = "errors,items.*.status,items.*.error.type,items.*.error.reason"

Disposition = Literal["wait", "retry", "split"]


def disposition(error: NewswireError | None) -> Disposition:
    """What a whole-request refusal calls for: wait it out, retry a few times, or split.

    A retriable refusal says nothing about the records (the server is away, busy, or refuses
    our credentials): the batch waits, until shutdown, rather than being dead-lettered. A
    nameless 5xx may be one document hitting a bug: bounded retries, then split. The rest (a
    400 on one bad action line, a 413) is the records': split now.
    """
    if error is None or not error.retriable:
        return "split"
    return "retry" if isinstance(error, SearchFailed) else "wait"


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


@dataclass(frozen=True)
class Held:
    """What the index holds for an id now: its version, and its story (None without one)."""

    version: int
    story: str | None


class IndexReader(Protocol):
    """Reads of the documents an index holds now (real time: unrefreshed writes included)."""

    async def held(self, ids: list[str]) -> dict[str, Held]:
        """Version and story of each document that exists among ``ids``."""
        ...

    async def sources(self, ids: list[str]) -> dict[str, tuple[int, dict[str, Any]]]:
        """Version and ``_source`` of each document that exists among ``ids``."""
        ...


def refusal(exc: ApiError | TransportError) -> BulkRefused:
    """The ``BulkRefused`` for a failed bulk request, judged by the one Elasticsearch table."""
    error = convert(exc)
    status = exc.meta.status if isinstance(exc, ApiError) else None
    reason = error.message if error is not None else f"refused ({status})"
    return BulkRefused(status, f"{reason}: {exc}"[:1000], disposition(error))


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
        except (ApiError, TransportError) as exc:
            raise refusal(exc) from exc
        items: list[dict[str, Any]] = reply.body.get("items", [])
        return items

    async def current(self, ids: list[str]) -> dict[str, Current]:
        """One ``_mget`` of the ids' versions and content hashes; raises ``BulkRefused``."""
        found = await self._found(ids, source_includes=["content_hash"])
        return {
            d["_id"]: Current(int(d["_version"]), (d.get("_source") or {}).get("content_hash"))
            for d in found
        }

    async def held(self, ids: list[str]) -> dict[str, Held]:
        """One ``_mget`` of the versions and story ids, nothing else of the sources."""
        found = await self._found(
            ids,
            unreadable=True,
            source_includes=[STORY_ID],
            filter_path="docs._id,docs._version,docs.found,docs._source,docs.error",
        )
        return {
            d["_id"]: Held(int(d["_version"]), (d.get("_source") or {}).get(STORY_ID))
            for d in found
        }

    async def sources(self, ids: list[str]) -> dict[str, tuple[int, dict[str, Any]]]:
        """One ``_mget`` of whole documents."""
        found = await self._found(ids, unreadable=True)
        return {d["_id"]: (int(d["_version"]), d["_source"]) for d in found}

    async def _found(
        self, ids: list[str], *, unreadable: bool = False, **params: Any
    ) -> list[dict[str, Any]]:
        """The documents of one real-time ``_mget`` that exist; raises ``BulkRefused``.

        ``unreadable``: a document that could not be read (its shard away) raises too,
        rather than being taken for absent.
        """
        if not ids:
            return []
        try:
            reply = await self.es.mget(index=self.index, ids=ids, realtime=True, **params)
        except (ApiError, TransportError) as exc:
            raise refusal(exc) from exc
        docs: list[dict[str, Any]] = reply.body.get("docs", [])
        if unreadable:
            _check_found(docs)
        return [doc for doc in docs if doc.get("found")]


def _check_found(docs: list[dict[str, Any]]) -> None:
    """Raise when a document of an ``_mget`` could not be read (its shard away): not absent."""
    for doc in docs:
        if "error" in doc:
            reason = str(doc["error"])[:300]
            raise BulkRefused(
                None, f"document {doc.get('_id')} could not be read: {reason}", "wait"
            )
