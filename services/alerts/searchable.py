"""Waiting until a batch's articles are searchable, as readers of /v1/search would find them.

An article is searchable once the index, as search sees it (after a refresh), holds its
version or a later one. One that never becomes so (the indexer dead-lettered it) is given up
once the indexer's group has committed past its record and a few refreshes went by.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import structlog
from aiokafka.partitioner import DefaultPartitioner
from elasticsearch import AsyncElasticsearch, NotFoundError

from services.alerts.matching import Candidate
from services.api.search import MATCH_SOURCE
from services.common.es import boundary
from services.common.settings import Settings
from services.common.visibility import EMBARGOED, STATUS

INDEXED_AT: Final = "indexed_at"  # when the indexer wrote the version (every document has it)
log = structlog.get_logger(__name__)
SOURCE: Final = [*MATCH_SOURCE, STATUS, EMBARGOED, INDEXED_AT]

_FIRST_POLL_S: Final = 0.05
_MAX_POLL_S: Final = 0.1  # an ids query is cheap: a late look costs latency, not load
_OFFSETS_EVERY_S: Final = 0.5

CommittedOffsets = Callable[[], Awaitable[dict[int, int]]]


@dataclass(frozen=True)
class Seen:
    """A candidate found searchable: the stored document, and when it was seen."""

    candidate: Candidate
    source: dict[str, Any]
    at: datetime


@dataclass
class _Waiting:
    pending: dict[str, Candidate]
    seen: list[Seen] = field(default_factory=list)
    passed_at: dict[str, float] = field(default_factory=dict)  # indexer committed past it


class Searchability:
    """Finds when a batch's articles are searchable; gives up on those never written."""

    def __init__(
        self,
        es: AsyncElasticsearch,
        settings: Settings,
        indexer_committed: CommittedOffsets,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._es, self._settings = es, settings
        self._indexer_committed, self._clock = indexer_committed, clock

    async def wait(self, candidates: list[Candidate], stop: asyncio.Event) -> list[Seen] | None:
        """The candidates as found searchable; None when ``stop`` came first."""
        state = _Waiting({c.id: c for c in candidates})
        poll, offsets_at = _FIRST_POLL_S, float("-inf")
        while state.pending:
            if stop.is_set():
                return None
            self._take_found(state, await self._fetch(list(state.pending)))
            if not state.pending:
                break
            if self._clock() - offsets_at >= _OFFSETS_EVERY_S:
                offsets_at = self._clock()
                self._give_up_unwritten(state, await self._indexer_committed())
            await asyncio.sleep(poll)
            poll = min(poll * 1.5, _MAX_POLL_S)
        return state.seen

    def _take_found(self, state: _Waiting, found: dict[str, dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        for article_id, source in found.items():
            candidate = state.pending.get(article_id)
            if candidate is not None and int(source.get("version", -1)) >= candidate.version:
                state.seen.append(Seen(candidate, source, now))
                del state.pending[article_id]

    def _give_up_unwritten(self, state: _Waiting, committed: dict[int, int]) -> None:
        now = self._clock()
        for article_id, candidate in list(state.pending.items()):
            if committed.get(candidate.partition, 0) <= candidate.offset:
                continue  # the indexer has not got to it yet: wait, however long
            since = state.passed_at.setdefault(article_id, now)
            if now - since >= self._settings.alerts_visible_grace_s:
                log.info("never searchable: passed over", article=article_id)
                del state.pending[article_id]

    async def under_embargo(self, partitions: list[int]) -> list[tuple[Candidate, str]]:
        """Stored articles under embargo, or lifted lately, with the partition of their key.

        No record marks an embargo lifting, so a matcher that takes partitions over finds
        them in the index (the topic's producers key by the article id, which places them).
        Those lifted while no matcher ran (within ``alerts_embargo_lookback_s``) are told
        late rather than never; the match states keep any told before from being told again.
        """
        since = f"now-{int(self._settings.alerts_embargo_lookback_s)}s"
        with boundary("cannot look up the embargoes"):
            try:
                reply = await self._es.search(
                    index=self._settings.index_alias,
                    query={"range": {EMBARGOED: {"gt": since}}},
                    size=10_000,
                    source_includes=["version", EMBARGOED],
                )
            except NotFoundError:
                return []  # no index yet: nothing under embargo either
        place = DefaultPartitioner()
        found = []
        for hit in reply["hits"]["hits"]:
            partition = place(hit["_id"].encode(), partitions, partitions)
            candidate = Candidate(hit["_id"], int(hit["_source"]["version"]), partition, -1)
            found.append((candidate, str(hit["_source"][EMBARGOED])))
        return found

    async def _fetch(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        with boundary("cannot look the batch up"):
            reply = await self._es.search(
                index=self._settings.index_alias,
                query={"ids": {"values": ids}},
                size=len(ids),
                source_includes=SOURCE,
                track_total_hits=False,
            )
        return {hit["_id"]: hit["_source"] for hit in reply["hits"]["hits"]}
