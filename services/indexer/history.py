"""Every version of every article kept for the corrections' history; a kill forgets them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import structlog
from elasticsearch import AsyncElasticsearch

from services.common.article import Article
from services.common.es import boundary
from services.common.status_event import StatusEvent
from services.indexer import metrics
from services.indexer.bulk import BulkDoc, BulkResult, BulkWriter
from services.indexer.records import Decoded

log = structlog.get_logger(__name__)
_PAGE: Final = 1000  # versions of killed articles looked up per request


class History:
    """What the batch processor asks of the history once a batch's documents are written.

    This base keeps nothing (tests of the batch flow alone); VersionHistory keeps versions.
    """

    async def keep(
        self,
        decoded: list[Decoded],
        docs: list[BulkDoc],
        result: BulkResult,
        give_up: Callable[[], bool],
    ) -> None:
        """Record the versions written (or already there) and forget killed articles'."""


NO_HISTORY: Final = History()


class VersionHistory(History):
    """Writes each article version as ``<id>:<version>`` in the versions index."""

    def __init__(self, writer: BulkWriter, es: AsyncElasticsearch) -> None:
        self.writer = writer
        self.es = es

    async def keep(
        self,
        decoded: list[Decoded],
        docs: list[BulkDoc],
        result: BulkResult,
        give_up: Callable[[], bool],
    ) -> None:
        """Versions whose write did not fail are kept; a written kill forgets its article's."""
        failed = {f.position for f in result.failures}
        killed = sorted(
            {
                d.event.id
                for pos, d in enumerate(decoded)
                if pos not in failed
                and isinstance(d.event, StatusEvent)
                and d.event.event == "canceled"
            }
        )
        kept = [
            # No content hash: ``<id>:<version>`` is written once per content (a rival of the
            # same version failed above), so a 409 is a redelivery and needs no version check.
            BulkDoc(f"{doc.id}:{doc.version}", doc.version, doc.source)
            for pos, (d, doc) in enumerate(zip(decoded, docs, strict=True))
            if pos not in failed and isinstance(d.event, Article) and doc.id not in killed
        ]
        if kept:
            written = await self.writer.write(kept, should_abort=give_up)
            for failure in written.failures:
                # The version itself is indexed (or dead-lettered): only its history entry is
                # missing, and the record stays in the topic.
                metrics.HISTORY_FAILED.inc()
                log.warning("version not kept", doc=kept[failure.position].id, code=failure.code)
        if killed:
            await self._forget(killed)

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
