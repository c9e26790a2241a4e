"""Match states kept in Elasticsearch, with this process's own recent writes on top.

Only the matcher that owns an article's partition writes its states, so what it wrote itself
is the truth even before the index refreshes; what an earlier owner wrote is read after a
refresh made when the partition was assigned.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Final

from elasticsearch import AsyncElasticsearch

from services.alerts.matching import MatchState, state_id
from services.common.errors import SearchFailed
from services.common.es import boundary
from services.common.settings import Settings

# Articles whose states stay in memory: far more than one refresh interval ever brings.
_KEPT_ARTICLES: Final = 50_000
_PAGE: Final = 5_000

ByArticle = dict[str, dict[str, MatchState]]  # article id -> alert id -> state


class MatchStates:
    """Read and write what each alert was told of each article."""

    def __init__(self, es: AsyncElasticsearch, settings: Settings) -> None:
        self._es = es
        self._index = settings.alert_matches_index
        self._recent: OrderedDict[str, dict[str, MatchState]] = OrderedDict()

    async def reassigned(self) -> None:
        """Partitions changed hands: read what the index holds from now on, fresh."""
        self._recent.clear()
        with boundary("cannot refresh the match states"):
            await self._es.indices.refresh(index=self._index)

    async def load(self, article_ids: list[str]) -> ByArticle:
        """Every stored state of these articles, by article and alert."""
        found: ByArticle = {article_id: {} for article_id in article_ids}
        after: list[Any] | None = None
        while True:
            hits = await self._page(article_ids, after)
            for hit in hits:
                state = MatchState.from_document(hit["_source"])
                found[state.article_id][state.alert_id] = state
            if len(hits) < _PAGE:
                break
            after = hits[-1]["sort"]
        for article_id in article_ids:
            found[article_id].update(self._recent.get(article_id, {}))
        return found

    async def _page(self, article_ids: list[str], after: list[Any] | None) -> list[dict[str, Any]]:
        extra: dict[str, Any] = {"search_after": after} if after else {}
        with boundary("cannot read the match states"):
            reply = await self._es.search(
                index=self._index,
                query={"terms": {"article_id": article_ids}},
                size=_PAGE,
                sort=[{"article_id": "asc"}, {"alert_id": "asc"}],
                track_total_hits=False,
                **extra,
            )
        hits: list[dict[str, Any]] = reply["hits"]["hits"]
        return hits

    async def save(self, states: list[MatchState]) -> None:
        """Store ``states`` (before the events they decided are committed)."""
        if not states:
            return
        operations: list[dict[str, Any]] = []
        for state in states:
            operations.append({"index": {"_id": state_id(state.alert_id, state.article_id)}})
            operations.append(state.document())
        with boundary("cannot store the match states"):
            reply = await self._es.bulk(index=self._index, operations=operations)
        if reply.get("errors"):
            failed = next(i for i in reply["items"] if i["index"].get("error"))
            raise SearchFailed(f"a match state was refused: {failed['index']['error']}")
        for state in states:
            self._recent.setdefault(state.article_id, {})[state.alert_id] = state
            self._recent.move_to_end(state.article_id)
        while len(self._recent) > _KEPT_ARTICLES:
            self._recent.popitem(last=False)
