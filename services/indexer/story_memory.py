"""The stored articles' vectors by published day, kept in the indexer's memory for stories.

Asking Elasticsearch for each article's nearest neighbours is a search per article: 0.6 to
0.9 ms of its CPU on the bench machine, more than indexing the article. Here a new article is
compared with every kept article published within the window: a matrix product with the one
or two blocks of days the window reaches (exact cosines, not a graph's approximate candidates).
Which days are kept, and how they are read from the index and kept current, is the story
assigner's (services/indexer/stories.py).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from services.common.embedding import DIMS


@dataclass(frozen=True)
class Pending:
    """An article of the batch waiting for its story: id, date, unit vector."""

    id: str
    published: date
    vector: npt.NDArray[np.float32]


LAST = date.max.toordinal()


def better(found: tuple[float, str] | None, cosine: float, story: str) -> tuple[float, str]:
    """The better of ``found`` and (cosine, story): the higher cosine, ties to the smaller id."""
    if found is None or cosine > found[0] or (cosine == found[0] and story < found[1]):
        return (cosine, story)
    return found


class Block:
    """The kept articles of SPAN consecutive days: ids, days, stories, vectors (grown by 2×)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.stories: list[str] = []
        self.rows: dict[str, int] = {}
        self.days: npt.NDArray[np.int64] = np.zeros(8, dtype=np.int64)
        self.vectors: npt.NDArray[np.float32] = np.zeros((8, DIMS), dtype=np.float32)

    def put(self, article_id: str, day: int, story: str, vector: npt.NDArray[np.float32]) -> None:
        """Keep an article (again: its day, story and vector replaced)."""
        row = self.rows.get(article_id)
        if row is None:
            row = len(self.ids)
            if row == len(self.vectors):
                self.vectors = np.concatenate([self.vectors, np.zeros_like(self.vectors)])
                self.days = np.concatenate([self.days, np.zeros_like(self.days)])
            self.ids.append(article_id)
            self.stories.append(story)
            self.rows[article_id] = row
        self.days[row], self.stories[row], self.vectors[row] = day, story, vector

    def drop(self, article_id: str) -> None:
        """Forget an article (it moved to another block): its row can no longer match."""
        row = self.rows.pop(article_id)
        self.ids[row], self.vectors[row] = "", 0.0

    def best(
        self, article: Pending, day: int, window_days: int, threshold: float
    ) -> tuple[float, str] | None:
        """The most similar kept article within ``window_days`` of ``day``, if alike enough.

        A forgotten row is zeros, so never alike enough (the threshold is above 0).
        """
        size = len(self.ids)
        if not size:
            return None
        cosines = self.vectors[:size] @ article.vector
        if cosines.max() < threshold:  # mostly so: the cheap test first
            return None
        cosines[np.abs(self.days[:size] - day) > window_days] = -1.0
        top = float(cosines.max())
        if top < threshold:
            return None
        rows = np.flatnonzero(cosines == top).tolist()
        return top, min(self.stories[row] for row in rows)


# Days per block. A window of a week (three days each side) lies in one or two blocks, so a
# batch costs a matrix product per block it touches: with one block per day, a batch of
# articles spread over years (a replay) paid seven small products per article, and the
# calls, not the arithmetic, were the cost.
SPAN = 7


class StoryMemory:
    """Kept articles by published day, oldest-used blocks forgotten past ``capacity`` articles.

    Days are kept by ordinal (an int): the window of a day is then a range, not dates made.
    """

    def __init__(self, *, threshold: float, window_days: int, capacity: int) -> None:
        self.threshold = threshold
        self.window_days = window_days
        self.capacity = capacity
        self._held: set[int] = set()  # the days whose stored articles are kept (or being read)
        self._blocks: OrderedDict[int, Block] = OrderedDict()
        self._where: dict[str, int] = {}  # article id: its block

    def __len__(self) -> int:
        return len(self._where)

    def _around(self, day: date) -> range:
        ordinal = day.toordinal()
        return range(max(ordinal - self.window_days, 1), min(ordinal + self.window_days, LAST) + 1)

    def knows(self, article_id: str) -> bool:
        """Whether the article is kept (on a kept day)."""
        return article_id in self._where

    def keeps(self, day: date | None) -> bool:
        """Whether ``day``'s articles are kept."""
        return day is not None and day.toordinal() in self._held

    def missing(self, days: Iterable[date]) -> list[date]:
        """The days within the window of ``days`` not kept yet, in order."""
        wanted = {o for day in set(days) for o in self._around(day)}
        return [date.fromordinal(o) for o in sorted(wanted - self._held)]

    def hold(self, day: date) -> None:
        """Keep ``day`` (empty until articles are put): the index's articles of it are read."""
        ordinal = day.toordinal()
        self._held.add(ordinal)
        self._blocks.setdefault(ordinal // SPAN, Block())

    def put(self, article_id: str, day: date, story: str, vector: npt.NDArray[np.float32]) -> None:
        """Keep an article of a kept day; an article of a day not kept is left to its loading."""
        ordinal = day.toordinal()
        if ordinal not in self._held:
            return
        key = ordinal // SPAN
        before = self._where.get(article_id)
        if before is not None and before != key:
            self._blocks[before].drop(article_id)
        self._blocks[key].put(article_id, ordinal, story, vector)
        self._where[article_id] = key

    def story_of(self, article_id: str) -> str | None:
        """The story a kept article was given."""
        key = self._where.get(article_id)
        if key is None:
            return None
        block = self._blocks[key]
        return block.stories[block.rows[article_id]]

    def nearest(self, article: Pending) -> tuple[float, str] | None:
        """The kept article most like ``article`` within the window, if alike enough."""
        days = self._around(article.published)
        day, found = article.published.toordinal(), None
        for key in range(days[0] // SPAN, days[-1] // SPAN + 1):
            block = self._blocks.get(key)
            if block is not None:
                self._blocks.move_to_end(key)  # most recently used last
                best = block.best(article, day, self.window_days, self.threshold)
                if best is not None:
                    found = better(found, *best)
        return found

    def decide(self, pending: Sequence[Pending], stored: dict[str, str]) -> list[str]:
        """The story of each article in order, each kept as decided (copies in a batch meet).

        An article stored already keeps its story (``stored``, else the one kept here);
        otherwise it joins the story of its most similar article within the window, kept or
        earlier in the batch (kept as soon as decided), at or above the threshold, else
        starts its own.
        """
        stories: list[str] = []
        for article in pending:
            story = stored.get(article.id) or self.story_of(article.id)
            if story is None:
                best = self.nearest(article)
                story = article.id if best is None else best[1]
            self.put(article.id, article.published, story, article.vector)
            stories.append(story)
        return stories

    def forget(self, keep: Iterable[date] = ()) -> None:
        """Forget the least recently used blocks, but ``keep``'s, until within ``capacity``."""
        kept = {day.toordinal() // SPAN for day in keep}
        for key in list(self._blocks):
            if len(self._where) <= self.capacity:
                return
            if key in kept:
                continue
            block = self._blocks.pop(key)
            self._held -= set(range(key * SPAN, key * SPAN + SPAN))
            for article_id in block.rows:
                del self._where[article_id]
