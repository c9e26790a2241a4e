"""The stored articles' vectors by published day, kept in the indexer's memory for stories.

Asking Elasticsearch for each article's nearest neighbours is a search per article: 0.6 to
0.9 ms of its CPU on the bench machine, more than indexing the article. Here a new article is
compared with every kept article published within the window (a matrix product per day, exact
cosines rather than a graph's approximate candidates). Which days are kept, and how they are
read from the index and kept current, is the story assigner's (services/indexer/stories.py).
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


class DayBlock:
    """One published day's kept articles: ids, stories and vectors, grown by doubling."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.stories: list[str] = []
        self.rows: dict[str, int] = {}
        self.vectors: npt.NDArray[np.float32] = np.zeros((8, DIMS), dtype=np.float32)

    def put(self, article_id: str, story: str, vector: npt.NDArray[np.float32]) -> bool:
        """Keep an article (again: its story and vector replaced); True when it is new here."""
        row = self.rows.get(article_id)
        if row is not None:
            self.stories[row], self.vectors[row] = story, vector
            return False
        row = len(self.ids)
        if row == len(self.vectors):
            self.vectors = np.concatenate([self.vectors, np.zeros_like(self.vectors)])
        self.ids.append(article_id)
        self.stories.append(story)
        self.rows[article_id] = row
        self.vectors[row] = vector
        return True

    def drop(self, article_id: str) -> None:
        """Forget an article (it moved to another day): its row can no longer match."""
        row = self.rows.pop(article_id)
        self.ids[row], self.vectors[row] = "", 0.0

    def best(
        self, vector: npt.NDArray[np.float32], threshold: float, found: tuple[float, str] | None
    ) -> tuple[float, str] | None:
        """The best (cosine, story) at or above ``threshold``: ``found`` or better from here."""
        if not self.ids:
            return found
        cosines = self.vectors[: len(self.ids)] @ vector
        if cosines.max() < threshold:  # mostly so: the cheap test first
            return found
        for row in np.flatnonzero(cosines >= threshold):
            if not self.ids[row]:
                continue
            cosine, story = float(cosines[row]), self.stories[row]
            # Ties go to the smaller story id, whatever order the days are read in.
            if found is None or cosine > found[0] or (cosine == found[0] and story < found[1]):
                found = (cosine, story)
        return found


class StoryMemory:
    """Kept articles by published day, oldest-used days forgotten past ``capacity`` articles.

    Days are kept by ordinal (an int): the window of a day is then a range, not dates made.
    """

    def __init__(self, *, threshold: float, window_days: int, capacity: int) -> None:
        self.threshold = threshold
        self.window_days = window_days
        self.capacity = capacity
        self._days: OrderedDict[int, DayBlock] = OrderedDict()
        self._where: dict[str, int] = {}

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
        return day is not None and day.toordinal() in self._days

    def missing(self, days: Iterable[date]) -> list[date]:
        """The days within the window of ``days`` not kept yet, in order."""
        wanted = {o for day in set(days) for o in self._around(day)}
        return [date.fromordinal(o) for o in sorted(wanted) if o not in self._days]

    def hold(self, day: date) -> None:
        """Keep ``day`` (empty until articles are put): the index's articles of it are read."""
        self._days.setdefault(day.toordinal(), DayBlock())

    def put(self, article_id: str, day: date, story: str, vector: npt.NDArray[np.float32]) -> None:
        """Keep an article of a kept day; an article of a day not kept is left to its loading."""
        ordinal = day.toordinal()
        block = self._days.get(ordinal)
        if block is None:
            return
        before = self._where.get(article_id)
        if before is not None and before != ordinal:
            self._days[before].drop(article_id)
        block.put(article_id, story, vector)
        self._where[article_id] = ordinal

    def story_of(self, article_id: str) -> str | None:
        """The story a kept article was given."""
        ordinal = self._where.get(article_id)
        if ordinal is None:
            return None
        block = self._days[ordinal]
        return block.stories[block.rows[article_id]]

    def nearest(self, article: Pending) -> str | None:
        """The story of the kept article most like ``article`` in the window, if alike enough."""
        found: tuple[float, str] | None = None
        days = self._days
        for ordinal in self._around(article.published):
            block = days.get(ordinal)
            if block is not None:
                found = block.best(article.vector, self.threshold, found)
        return None if found is None else found[1]

    def decide(self, pending: Sequence[Pending], stored: dict[str, str]) -> list[str]:
        """The story of each article in order, each kept as decided (copies in a batch meet).

        An article stored already keeps its story (``stored``, else the one kept here);
        otherwise it joins the story of its most similar kept article, else starts its own.
        """
        stories = []
        for article in pending:
            story = stored.get(article.id) or self.story_of(article.id)
            if story is None:
                story = self.nearest(article) or article.id
            self.put(article.id, article.published, story, article.vector)
            stories.append(story)
        used = {o for article in pending for o in self._around(article.published)}
        for ordinal in used & self._days.keys():  # most recently used last
            self._days.move_to_end(ordinal)
        return stories

    def forget(self, keep: Iterable[date] = ()) -> None:
        """Forget the least recently used days, but ``keep``, until within ``capacity``."""
        kept = {day.toordinal() for day in keep}
        for ordinal in list(self._days):
            if len(self._where) <= self.capacity:
                return
            if ordinal in kept:
                continue
            block = self._days.pop(ordinal)
            for article_id in block.rows:
                del self._where[article_id]
