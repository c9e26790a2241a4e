"""The versions an article no longer shows, kept for its corrections' history.

The version an article shows lives in the article index only; the versions index holds the
ones it showed before (and older ones that arrived late). Before a batch is written, the
article index is asked which versions it holds: one that the batch will supersede is copied
first, so no version is lost between the two writes. A batch's own versions that are not
their article's newest are kept once the batch is written. A written kill forgets them all.
Writing only what is superseded (rare: corrections, holds) instead of every version halves
what Elasticsearch stores and indexes per article.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Set
from typing import Final, TypeVar

import orjson
import structlog
from elasticsearch import AsyncElasticsearch

from services.common.article import Article
from services.common.errors import BatchAbandoned
from services.common.es import boundary
from services.common.settings import Settings
from services.common.status_event import KILL_VERSION, StatusEvent
from services.common.visibility import STATUS
from services.indexer import metrics
from services.indexer.bulk import (
    BulkDoc,
    BulkLimits,
    BulkResult,
    BulkWriter,
    ItemFailure,
    answered,
)
from services.indexer.bulk_target import EsBulkTarget, Held, IndexReader
from services.indexer.records import Decoded

log = structlog.get_logger(__name__)
_PAGE: Final = 1000  # versions of killed articles looked up per request

T = TypeVar("T")

# Article id -> what the article index held before a batch was written.
Prior = Mapping[str, Held]


class History:
    """What the batch processor asks of the history around a batch's write.

    This base keeps nothing (tests of the batch flow alone); VersionHistory keeps versions.
    """

    async def prior(self, decoded: list[Decoded], give_up: Callable[[], bool]) -> Prior | None:
        """What the index holds now for the batch's ids; None when this history asks nothing."""
        return None

    async def before(self, docs: list[BulkDoc], prior: Prior, give_up: Callable[[], bool]) -> None:
        """Keep what the batch is about to supersede."""

    async def keep(
        self,
        decoded: list[Decoded],
        docs: list[BulkDoc],
        result: BulkResult,
        prior: Prior,
        give_up: Callable[[], bool],
    ) -> None:
        """Record the batch's versions that are not shown and forget killed articles'."""


NO_HISTORY: Final = History()


def versions_writer(es: AsyncElasticsearch, settings: Settings) -> BulkWriter:
    """A writer into the versions index."""
    return BulkWriter(EsBulkTarget(es, settings.versions_index), BulkLimits.of(settings))


def version_doc(article_id: str, version: int, source: bytes) -> BulkDoc:
    """An article version as the versions index keeps it: ``<id>:<version>``.

    No content hash: ``<id>:<version>`` is written once per content (a rival of the same
    version fails in the article index first), so a 409 is a redelivery.
    """
    return BulkDoc(f"{article_id}:{version}", version, source)


def _newest(docs: list[BulkDoc], start: Prior, failed: Set[int]) -> dict[str, int]:
    """Each id's newest version among ``start`` and the documents not ``failed``."""
    newest = {i: held.version for i, held in start.items()}
    for pos, doc in enumerate(docs):
        if pos not in failed:
            newest[doc.id] = max(newest.get(doc.id, doc.version), doc.version)
    return newest


def killed(decoded: list[Decoded], failed: Set[int] = frozenset()) -> set[str]:
    """Ids of the articles a kill of the batch ends (unless its write failed)."""
    return {
        d.event.id
        for pos, d in enumerate(decoded)
        if pos not in failed and isinstance(d.event, StatusEvent) and d.event.event == "canceled"
    }


def overtaken(docs: list[BulkDoc], prior: Prior) -> list[str]:
    """Ids whose version in the index some document of the batch is newer than.

    A kill in the batch does not spare the copy: its write may fail, the other's not.
    """
    newest = _newest(docs, {}, frozenset())
    return sorted(i for i, version in newest.items() if i in prior and prior[i].version < version)


def superseded(
    decoded: list[Decoded], docs: list[BulkDoc], prior: Prior, failed: Set[int]
) -> list[int]:
    """Positions of the article versions written that are not their article's newest.

    An article killed already keeps none: its content must not come back through history.
    """
    newest = _newest(docs, prior, failed)
    return [
        pos
        for pos, (d, doc) in enumerate(zip(decoded, docs, strict=True))
        if pos not in failed
        and isinstance(d.event, Article)
        and doc.version < newest[doc.id]
        and newest[doc.id] != KILL_VERSION
    ]


def as_versions(decoded: list[Decoded], docs: list[BulkDoc], failed: Set[int]) -> list[BulkDoc]:
    """The written article documents as versions, but those of articles the batch kills."""
    ended = killed(decoded, failed)
    return [
        version_doc(doc.id, doc.version, doc.source)
        for pos, (d, doc) in enumerate(zip(decoded, docs, strict=True))
        if pos not in failed and isinstance(d.event, Article) and doc.id not in ended
    ]


class VersionHistory(History):
    """Writes superseded article versions as ``<id>:<version>`` in the versions index."""

    def __init__(self, writer: BulkWriter, articles: IndexReader, es: AsyncElasticsearch) -> None:
        self.writer = writer
        self.articles = articles
        self.es = es

    async def prior(self, decoded: list[Decoded], give_up: Callable[[], bool]) -> Prior | None:
        """One real-time read of what the article index holds for the batch's ids.

        None when the index refuses it for good (then the stories look theirs up, and the
        loss of what this batch supersedes is counted).
        """
        ids = sorted({d.event.id for d in decoded})
        held = await self._ask(lambda: self.articles.held(ids), "read versions", give_up)
        if held is None:
            metrics.HISTORY_FAILED.inc()
        return held

    async def before(self, docs: list[BulkDoc], prior: Prior, give_up: Callable[[], bool]) -> None:
        """Copy each article version the batch will supersede.

        A copy that could not be written, the server failing, gives the batch up: the write
        it precedes would leave no other copy. A copy refused as such is counted and logged.
        """
        moving = overtaken(docs, prior)
        if not moving:
            return
        found = await self._ask(lambda: self.articles.sources(moving), "copy", give_up)
        if found is None:
            metrics.HISTORY_FAILED.inc(len(moving))
            return
        failures = await self._write(
            [
                # A status document (a hold) has no content to keep.
                version_doc(i, version, orjson.dumps(source))
                for i, (version, source) in sorted(found.items())
                if STATUS not in source
            ],
            give_up,
        )
        if any(f.code == "index_retries_exhausted" for f in failures):
            raise BatchAbandoned("a version about to be superseded could not be kept")

    async def keep(
        self,
        decoded: list[Decoded],
        docs: list[BulkDoc],
        result: BulkResult,
        prior: Prior,
        give_up: Callable[[], bool],
    ) -> None:
        """Versions written but not shown are kept; a written kill forgets its article's."""
        failed = {f.position for f in result.failures}
        ended = killed(decoded, failed)
        await self._write(
            [
                version_doc(docs[pos].id, docs[pos].version, docs[pos].source)
                for pos in superseded(decoded, docs, prior, failed)
                if docs[pos].id not in ended
            ],
            give_up,
        )
        if ended:
            await self._forget(sorted(ended))

    async def _ask(
        self, ask: Callable[[], Awaitable[T]], what: str, give_up: Callable[[], bool]
    ) -> T | None:
        """The article index's answer; asked again while it is away, until the batch ends."""
        return await answered(
            ask,
            what=f"{what} before a batch supersedes them",
            label="history",
            unanswered=None,
            cap=self.writer.limits.backoff_cap,
            should_abort=give_up,
        )

    async def _write(self, kept: list[BulkDoc], give_up: Callable[[], bool]) -> list[ItemFailure]:
        if not kept:
            return []
        written = await self.writer.write(kept, should_abort=give_up)
        for failure in written.failures:
            # Only the history entry is missing; the record stays in the topic.
            metrics.HISTORY_FAILED.inc()
            log.warning("version not kept", doc=kept[failure.position].id, code=failure.code)
        return written.failures

    async def _forget(self, ids: list[str]) -> None:
        """Delete every kept version of the killed ``ids`` (no copy of a killed story stays)."""
        index = self.writer.target.index
        with boundary("cannot forget the versions of killed articles"):
            # Versions kept by the batches just before are not searchable until a refresh.
            await self.es.indices.refresh(index=index)
            while True:
                found = await self.es.search(
                    index=index, query={"terms": {"id": ids}}, size=_PAGE, source=False
                )
                hits = found["hits"]["hits"]
                if not hits:
                    return
                operations = [{"delete": {"_index": index, "_id": h["_id"]}} for h in hits]
                await self.es.bulk(operations=operations, refresh="wait_for")
