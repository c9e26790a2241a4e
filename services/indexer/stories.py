"""Stories: each article's embedding, and the story id it shares with its near-duplicates.

Per batch, off the event loop's hot path: the articles are embedded on the embedder's thread
(one call for the batch); the memory of stored vectors (services/indexer/story_memory.py) is
brought up to date with one search for what other writers indexed since, and the days of the
batch's window it lacks are read from the index; a search by id finds the batch's articles
already stored (a redelivery or a later version keeps its story). Then each article joins the
story of its most similar article published within the window, at or above the threshold,
stored or earlier in the batch, else starts its own story: its id. Two indexer processes
writing copies of one story within a refresh of each other can still start two stories;
``newswire reindex`` assigns stories again in order and joins them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import structlog
from elasticsearch import AsyncElasticsearch

from services.common.article import Article
from services.common.embedding import (
    DIMS,
    Embedder,
    embed_text,
    quantized,
    takes_bytes,
    unit,
)
from services.common.errors import BatchAbandoned, NewswireError
from services.common.es import boundary
from services.common.fields import EMBEDDING, INDEXED_BY, STORY_ID
from services.common.settings import Settings
from services.indexer.story_memory import Pending, StoryMemory

if TYPE_CHECKING:
    import numpy.typing as npt

    from services.indexer.records import Decoded

log = structlog.get_logger(__name__)
PAGE = 5_000  # documents per read of the index
# A write in flight when a refresh ran may become searchable after later ones: every so often
# a catch-up reads again from where the one this long before started.
RECHECK_S = 2.0
NEWEST: dict[str, Any] = {"size": 1, "sort": [{"_seq_no": "desc"}], "_source": False}
SOURCE = {"includes": ["id", STORY_ID, EMBEDDING, "published_date"], "exclude_vectors": False}


@dataclass(frozen=True)
class Text:
    """An article to embed: its id, its date and the text its embedding is computed from."""

    id: str
    published: date
    text: str


def as_stored(stored: npt.NDArray[np.int8]) -> npt.NDArray[np.float32]:
    """Unit vectors (rows) as the index gives them back for ``stored``, their bytes.

    The batch's own articles are compared as stored, so a story decided now and one decided
    from the index later (another process, a restart) see the same cosines. A row of zeros
    stays zeros.
    """
    floats = stored.astype(np.float32)
    norms = np.linalg.norm(floats, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = np.divide(
        floats, norms, out=np.zeros_like(floats), where=norms > 0
    )
    return out


def story_fields(
    story_id: str, stored: npt.NDArray[np.int8], writer: str = "", *, as_bytes: bool = True
) -> bytes:
    """The story fields as JSON members, each led by a comma, to splice into a document.

    The embedding goes as its bytes (``quantized``) in hex to an index of mapping v6 on,
    which Elasticsearch parses far faster than 256 numbers; to an older index (floats, unit
    length) as the unit vector the bytes stand for. A vector of zeros (a text without
    tokens) has no cosine and is left out.
    """
    fields = b',"%s":%s' % (STORY_ID.encode(), orjson.dumps(story_id))
    if stored.any() and as_bytes:
        fields += b',"%s":"%s"' % (EMBEDDING.encode(), stored.tobytes().hex().encode())
    elif stored.any():
        unit_vector = np.round(as_stored(stored[np.newaxis])[0], 5)
        vector = orjson.dumps(unit_vector, option=orjson.OPT_SERIALIZE_NUMPY)
        fields += b',"%s":%s' % (EMBEDDING.encode(), vector)
    return fields + (b',"%s":%s' % (INDEXED_BY.encode(), orjson.dumps(writer)) if writer else b"")


def day_ranges(days: Sequence[date]) -> list[dict[str, Any]]:
    """Range clauses on ``published_date`` covering sorted ``days``, one per consecutive run."""
    runs: list[list[date]] = []
    for day in days:
        if runs and day - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return [
        {"range": {"published_date": {"gte": r[0].isoformat(), "lte": r[-1].isoformat()}}}
        for r in runs
    ]


def stored_vector(source: dict[str, Any]) -> tuple[str, date, str, npt.NDArray[np.float32]] | None:
    """Id, day, story and unit vector of a stored article's source, when it has them all."""
    vector, story = unit(source.get(EMBEDDING) or []), source.get(STORY_ID)
    if vector is None or len(vector) != DIMS or not story or "published_date" not in source:
        return None
    try:
        day = date.fromisoformat(str(source["published_date"])[:10])
    except ValueError:
        return None
    return str(source["id"]), day, str(story), vector


@dataclass
class Watermark:
    """How far a catch-up has read the index's writes, by sequence number (one shard)."""

    # The concrete index read (a rebuild puts a new one behind the alias): None before the
    # first catch-up, "" while the index is empty.
    home: str | None = None
    after: int = -1  # read up to here
    recheck_from: int = -1  # where the next re-reading starts
    checked_at: float = float("-inf")

    def rechecking(self, now: float) -> bool:
        """Whether this catch-up reads again from ``recheck_from`` (every RECHECK_S)."""
        if now - self.checked_at < RECHECK_S:
            return False
        self.checked_at = now
        return True

    def since(self, recheck: bool) -> int:
        """The sequence number this catch-up reads above."""
        if not recheck:
            return self.after
        since, self.recheck_from = self.recheck_from, self.after
        return since

    def advance(self, newest: int | None) -> None:
        """Past ``newest``, the last sequence number this catch-up went through (never back)."""
        if newest is not None:
            self.after = max(self.after, newest)


def others_query(since: int, writer: str) -> dict[str, Any]:
    """The writes after ``since`` by other processes than ``writer``, and the newest of all."""
    return {
        "size": PAGE,
        "sort": [{"_seq_no": "asc"}],
        "_source": False,
        "track_total_hits": False,
        "docvalue_fields": [{"field": "published_date", "format": "yyyy-MM-dd"}],
        "query": {"range": {"_seq_no": {"gt": since}}},
        # The newest counts this process's writes too; the hits are only the others'.
        "aggs": {"newest": {"max": {"field": "_seq_no"}}},
        "post_filter": {"bool": {"must_not": [{"term": {INDEXED_BY: writer}}]}},
    }


def new_memory(settings: Settings) -> StoryMemory:
    """An empty story memory with the settings' threshold, window and capacity."""
    return StoryMemory(
        threshold=settings.story_threshold,
        window_days=settings.story_window_days,
        capacity=settings.story_memory_articles,
    )


class StoryAssigner:
    """Embeds a batch's articles and gives each its story id; the fields go into its document."""

    def __init__(
        self,
        es: AsyncElasticsearch,
        index: str,
        embedder: Embedder,
        settings: Settings,
        *,
        kept_from: str | None = None,
    ) -> None:
        self.es = es
        self.index = index
        # An index being replaced (a rebuild): an article it holds keeps its story from there,
        # so a rebuild does not regroup what readers saw grouped.
        self.kept_from = kept_from
        self.embedder = embedder
        self.settings = settings
        self.memory = new_memory(self.settings)
        # This process's mark on what it writes: its catch-up reads only the others' writes.
        self.writer = uuid.uuid4().hex[:16]
        self._mark = Watermark()  # how far the other writers' documents were read
        self._as_bytes: bool | None = None  # the index's vector form, once asked
        self._lock = asyncio.Lock()  # batches in flight take their stories one after another

    async def assign(
        self, decoded: Sequence[Decoded], stored: dict[str, str] | None = None
    ) -> dict[int, bytes]:
        """By position in ``decoded``, the story fields of each article (status events: none).

        ``stored``: the stories of the articles the index holds, when the caller read them.
        """
        # In the order the copies entered Newswire, whatever the partitions' order in the
        # batch: the first copy ingested gives its story the id, as across batches.
        positions = sorted(
            (i for i, d in enumerate(decoded) if isinstance(d.event, Article)),
            key=lambda i: (decoded[i].made_at, decoded[i].event.id),
        )
        if not positions:
            return {}
        articles: list[Article] = [decoded[i].event for i in positions]  # type: ignore[misc]
        texts = [Text(a.id, a.published_date, embed_text(a.title, a.body)) for a in articles]
        found = await self.stories(texts, stored)
        return {
            position: story_fields(story, stored, self.writer, as_bytes=self._as_bytes is not False)
            for position, (story, stored) in zip(positions, found, strict=True)
        }

    async def stories(
        self, texts: Sequence[Text], stored: dict[str, str] | None = None
    ) -> list[tuple[str, npt.NDArray[np.int8]]]:
        """The story id and the stored vector (bytes) of each text, in the order given."""
        vectors = quantized(await self.embedder.embed([t.text for t in texts]))
        as_kept = as_stored(vectors)
        pending = [Pending(t.id, t.published, as_kept[n]) for n, t in enumerate(texts)]
        async with self._lock:
            try:
                with boundary("cannot look up stories"):
                    await self._catch_up()
                    if self._as_bytes is None:
                        reply = await self.es.indices.get_mapping(index=self.index)
                        self._as_bytes = takes_bytes(reply.body)
                    await self._load(self.memory.missing(p.published for p in pending))
                    if stored is None:
                        # The index being replaced (a rebuild's), then this one.
                        homes = (
                            [self.index] if self.kept_from is None else [self.kept_from, self.index]
                        )
                        stored = await stored_stories(
                            self.es, homes, sorted({p.id for p in pending})
                        )
            except NewswireError as exc:
                # Without the lookup a redelivered article could change story: try again.
                raise BatchAbandoned(f"story lookup failed: {exc}") from exc
            stories = self.memory.decide(pending, stored)
            self.memory.forget(keep={p.published for p in pending})
        return list(zip(stories, vectors, strict=True))

    async def _catch_up(self) -> None:
        """Keep what other writers indexed since the last catch-up, on the days kept."""
        mark = self._mark
        if mark.home is None:
            # The first: what is searchable now is read with its days (``_load``); from here
            # on, only what is written after.
            top = _answer((await self.es.search(index=self.index, **NEWEST)).body)
            # An empty index: home unknown yet (""), and its first writes are read.
            home, newest = (str(top[0]["_index"]), int(top[0]["sort"][0])) if top else ("", -1)
            self._mark = Watermark(home, newest, newest, time.monotonic())
            return
        recheck = mark.rechecking(time.monotonic())
        searches = [{"index": self.index}, others_query(mark.since(recheck), self.writer)]
        if recheck:
            searches += [{"index": self.index}, NEWEST]
        answers = (await self.es.msearch(searches=searches)).body["responses"]
        found = _answer(answers[0])
        if recheck:
            top = _answer(answers[1])
            home = str(top[0]["_index"]) if top else ""
            if home and mark.home and home != mark.home:
                # A new index behind the alias (a rebuild): its sequence numbers start again,
                # the days kept are read again from it, and its vectors' form is asked again.
                self.memory = new_memory(self.settings)
                self._as_bytes = None
                newest = int(top[0]["sort"][0])
                self._mark = Watermark(home, newest, newest, time.monotonic())
                return
            mark.home = mark.home or home
        unseen = [
            h["_id"]
            for h in found
            if not self.memory.knows(h["_id"]) and self.memory.keeps(_doc_day(h))
        ]
        if unseen:
            await self._keep({"ids": {"values": unseen}}, sort=None)
        newest = answers[0].get("aggregations", {}).get("newest", {}).get("value")
        # A full page: the rest from its last document at the next catch-up.
        last = found[-1]["sort"][0] if len(found) == PAGE else newest
        mark.advance(None if last is None else int(last))

    async def _load(self, days: list[date]) -> None:
        """Keep the index's articles of ``days``, which the memory holds from now on."""
        if not days:
            return
        for day in days:
            self.memory.hold(day)
        await self._keep({"bool": {"should": day_ranges(days), "minimum_should_match": 1}})

    async def _keep(self, query: dict[str, Any], sort: list[Any] | None = None) -> None:
        """Put every stored article matching ``query`` into the memory, page by page."""
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {"size": PAGE, "query": query, "_source": SOURCE}
            body["sort"] = sort or [{"id": "asc"}]
            if after is not None:
                body["search_after"] = after
            hits = (await self.es.search(index=self.index, **body)).body["hits"]["hits"]
            for hit in hits:
                kept = stored_vector(hit["_source"])
                if kept is not None:
                    self.memory.put(*kept)
            if len(hits) < PAGE:
                return
            after = hits[-1]["sort"]


async def stored_stories(
    es: AsyncElasticsearch, homes: list[str], ids: list[str]
) -> dict[str, str]:
    """The story of each of ``ids`` stored already in ``homes`` (the last one found wins)."""
    stored = {"size": len(ids), "query": {"ids": {"values": ids}}, "_source": ["id", STORY_ID]}
    searches: list[dict[str, Any]] = []
    for home in homes:
        searches += [{"index": home}, stored]
    reply = await es.msearch(searches=searches)
    found: dict[str, str] = {}
    for answer in reply.body["responses"]:  # the index written to last: it wins
        found |= {
            h["_source"]["id"]: h["_source"][STORY_ID]
            for h in _answer(answer)
            if h.get("_source", {}).get(STORY_ID)
        }
    return found


def _answer(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The hits of one answer of a multi-search; its error raised as a failed lookup."""
    if "error" in response:
        raise BatchAbandoned(f"story lookup failed: {str(response['error'])[:300]}")
    hits: list[dict[str, Any]] = response.get("hits", {}).get("hits", [])
    return hits


def _doc_day(hit: dict[str, Any]) -> date | None:
    try:
        return date.fromisoformat(hit["fields"]["published_date"][0])
    except (KeyError, IndexError, ValueError):
        return None
