"""Stories: each article's embedding, and the story id it shares with its near-duplicates.

Per batch, off the event loop's hot path: the articles are embedded on the embedder's thread
(one call for the batch), then one ``_msearch`` asks Elasticsearch for the story ids the
batch's articles already have (a redelivery or a later version keeps its story) and, per
article, the nearest stored articles published within the window (knn with a similarity
floor). An article joins the story of its most similar match at or above the threshold,
stored or earlier in the same batch (two copies in one batch), else starts its own story:
its id. Copies in two batches written at once within one refresh of each other can still
start two stories; ``newswire reindex`` assigns stories again in order and joins them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from elasticsearch import AsyncElasticsearch

from services.common.article import Article
from services.common.embedding import Embedder, embed_text
from services.common.errors import BatchAbandoned, NewswireError
from services.common.es import boundary
from services.common.fields import EMBEDDING, STORY_ID
from services.common.settings import Settings

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from services.indexer.records import Decoded

log = structlog.get_logger(__name__)
K = 5  # stored neighbours looked at per article
CANDIDATES = 20  # HNSW candidates per shard: recall against cost (a window is small)


@dataclass(frozen=True)
class Match:
    """A stored article near one of the batch's: its id, its story, their cosine."""

    id: str
    story_id: str
    similarity: float


@dataclass(frozen=True)
class Text:
    """An article to embed: its id, its date and the text its embedding is computed from."""

    id: str
    published: date
    text: str


@dataclass(frozen=True)
class Pending:
    """An article of the batch waiting for its story: id, date, unit vector."""

    id: str
    published: date
    vector: npt.NDArray[np.float32]


def choose_stories(
    pending: Sequence[Pending],
    matches: Sequence[Sequence[Match]],
    existing: dict[str, str],
    *,
    threshold: float,
    window_days: int,
) -> list[str]:
    """The story id of each article in batch order, pure and deterministic.

    An article already stored keeps its story; otherwise it joins the story of its most
    similar match at or above ``threshold`` (stored, or earlier in the batch and published
    within ``window_days``), ties to the smaller story id, else starts its own.
    """
    stories: list[str] = []
    for i, article in enumerate(pending):
        if article.id in existing:
            stories.append(existing[article.id])
            continue
        best: tuple[float, str] | None = None
        candidates = [(m.similarity, m.story_id) for m in matches[i] if m.id != article.id]
        for j in range(i):
            other = pending[j]
            if other.id == article.id:
                candidates.append((2.0, stories[j]))  # two versions of one article in the batch
            elif abs((other.published - article.published).days) <= window_days:
                candidates.append((float(article.vector @ other.vector), stories[j]))
        for similarity, story in candidates:
            if similarity < threshold:
                continue
            if best is None or similarity > best[0] or (similarity == best[0] and story < best[1]):
                best = (similarity, story)
        stories.append(best[1] if best else article.id)
    return stories


def rounded(vector: npt.NDArray[np.float32]) -> list[float]:
    """The vector as stored: 5 decimals (its int8 quantisation in the index keeps less)."""
    return [round(float(x), 5) for x in vector]


def story_fields(story_id: str, vector: npt.NDArray[np.float32]) -> bytes:
    """The story fields as JSON members, each led by a comma, to splice into a document."""
    return b',"%s":%s,"%s":%s' % (
        STORY_ID.encode(),
        orjson.dumps(story_id),
        EMBEDDING.encode(),
        orjson.dumps(rounded(vector)),
    )


def neighbours_query(
    vector: npt.NDArray[np.float32], published: date, *, threshold: float, window_days: int
) -> dict[str, Any]:
    """The knn search for stored articles near ``vector``, published within the window."""
    window = timedelta(days=window_days)
    return {
        "size": K,
        "_source": ["id", STORY_ID],
        "knn": {
            "field": EMBEDDING,
            "query_vector": vector.tolist(),
            "k": K,
            "num_candidates": CANDIDATES,
            # For dot_product, the raw similarity: only matches come back.
            "similarity": threshold,
            "filter": {
                "range": {
                    "published_date": {
                        "gte": _shifted(published, -window).isoformat(),
                        "lte": _shifted(published, window).isoformat(),
                    }
                }
            },
        },
    }


def _shifted(day: date, by: timedelta) -> date:
    """``day`` moved by ``by``, held within the calendar (year 1 to 9999 are valid dates)."""
    try:
        return day + by
    except OverflowError:
        return date.min if by < timedelta(0) else date.max


def read_matches(reply: dict[str, Any]) -> list[Match]:
    """The matches of one knn search's reply (its score is (1 + cosine) / 2)."""
    return [
        Match(h["_source"]["id"], h["_source"][STORY_ID], 2.0 * float(h["_score"]) - 1.0)
        for h in reply.get("hits", {}).get("hits", [])
        if h.get("_source", {}).get(STORY_ID)
    ]


# Longer than a few refresh intervals (500 ms) and a loaded machine's delays: what was
# written this recently may not be searchable yet.
RECENT_S = 10.0
RECENT_MAX = 5_000


class Recent:
    """The articles this process gave a story in the last ``RECENT_S``, newest last."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._kept: deque[tuple[float, Pending, str]] = deque()

    def add(self, pending: Sequence[Pending], stories: Sequence[str]) -> None:
        """Keep a batch's articles with their stories; forget what is old."""
        now = self._clock()
        self._kept.extend((now, p, story) for p, story in zip(pending, stories, strict=True))
        while self._kept and (now - self._kept[0][0] > RECENT_S or len(self._kept) > RECENT_MAX):
            self._kept.popleft()

    def stories(self) -> dict[str, str]:
        """The story of each article kept (an article written again keeps its story)."""
        return {p.id: story for _, p, story in self._kept}

    def near(self, article: Pending, threshold: float, window_days: int) -> list[Match]:
        """The kept articles as similar to ``article`` as a story needs, within the window."""
        found = []
        for _, other, story in self._kept:
            if other.id == article.id:
                continue
            if abs((other.published - article.published).days) > window_days:
                continue
            similarity = float(article.vector @ other.vector)
            if similarity >= threshold:
                found.append(Match(other.id, story, similarity))
        return found


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
        self.recent = Recent()
        self.threshold = settings.story_threshold
        self.window_days = settings.story_window_days

    async def assign(self, decoded: Sequence[Decoded]) -> dict[int, bytes]:
        """By position in ``decoded``, the story fields of each article (status events: none)."""
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
        found = await self.stories(texts)
        return {
            position: story_fields(story, vector)
            for position, (story, vector) in zip(positions, found, strict=True)
        }

    async def stories(self, texts: Sequence[Text]) -> list[tuple[str, npt.NDArray[np.float32]]]:
        """The story id and the vector of each text, taken in the order given (earliest first)."""
        vectors = await self.embedder.embed([t.text for t in texts])
        pending = [Pending(t.id, t.published, vectors[n]) for n, t in enumerate(texts)]
        existing, matches = await self._lookup(pending)
        # What this process wrote in the last seconds is not searchable before a refresh:
        # two wire copies a few hundred milliseconds apart must still meet.
        existing = {**self.recent.stories(), **existing}
        matches = [
            [*found, *self.recent.near(p, self.threshold, self.window_days)]
            for p, found in zip(pending, matches, strict=True)
        ]
        stories = choose_stories(
            pending, matches, existing, threshold=self.threshold, window_days=self.window_days
        )
        self.recent.add(pending, stories)
        return [(story, p.vector) for story, p in zip(stories, pending, strict=True)]

    async def _lookup(self, pending: list[Pending]) -> tuple[dict[str, str], list[list[Match]]]:
        ids = sorted({p.id for p in pending})
        stored = {"size": len(ids), "query": {"ids": {"values": ids}}, "_source": ["id", STORY_ID]}
        homes = [self.index] if self.kept_from is None else [self.kept_from, self.index]
        searches: list[dict[str, Any]] = []
        for home in homes:
            searches += [{"index": home}, stored]
        for p in pending:
            searches.append({"index": self.index})
            searches.append(
                neighbours_query(
                    p.vector, p.published, threshold=self.threshold, window_days=self.window_days
                )
            )
        try:
            with boundary("cannot look up stories"):
                reply = await self.es.msearch(searches=searches)
        except NewswireError as exc:
            # Without the lookup a redelivered article could change story: try the batch again.
            raise BatchAbandoned(f"story lookup failed: {exc}") from exc
        responses = reply.body["responses"]
        failed = [r for r in responses if "error" in r]
        if failed:
            raise BatchAbandoned(f"story lookup failed: {str(failed[0]['error'])[:300]}")
        existing: dict[str, str] = {}
        for answer in responses[: len(homes)]:  # the index written to last: it wins
            existing |= {m.id: m.story_id for m in read_matches(answer)}
        return existing, [read_matches(r) for r in responses[len(homes) :]]
