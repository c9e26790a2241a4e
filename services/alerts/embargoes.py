"""Articles under embargo, to be matched again when it lifts: no record marks that moment.

Search hides an embargoed article until its time by comparing with Elasticsearch's ``now``,
so the matcher keeps each one it met (and, when partitions are assigned, those the index
holds) and runs the saved searches over it once the time has come.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta
from typing import Any, Final

from services.alerts.matching import Candidate
from services.common.clock import parse_iso
from services.common.visibility import EMBARGOED

# Elasticsearch's `now` and ours are one clock here; the margin covers a request in flight.
_MARGIN: Final = timedelta(milliseconds=200)


class Embargoes:
    """A heap of (lifting time, candidate) for the partitions this matcher owns."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Candidate]] = []
        self._count = 0

    def watch(
        self, candidate: Candidate, source: dict[str, Any], now: datetime, *, lifted: bool = False
    ) -> None:
        """Keep ``candidate`` when its stored document is under embargo at ``now``.

        ``lifted``: keep it also when its embargo has lifted already (it is due at once).
        """
        raw = source.get(EMBARGOED)
        if not raw:
            return
        until = parse_iso(str(raw))
        if until > now or lifted:
            self._count += 1  # ties broken by arrival, never by comparing candidates
            heapq.heappush(self._heap, (until + _MARGIN, self._count, candidate))

    def due(self, now: datetime) -> list[Candidate]:
        """The candidates whose embargo has lifted, once each (the last one per article)."""
        lifted: dict[str, Candidate] = {}
        while self._heap and self._heap[0][0] <= now:
            candidate = heapq.heappop(self._heap)[2]
            lifted[candidate.id] = candidate
        return list(lifted.values())

    def keep(self, partitions: set[int]) -> None:
        """Forget the candidates of partitions this matcher no longer owns."""
        self._heap = [item for item in self._heap if item[2].partition in partitions]
        heapq.heapify(self._heap)

    def __len__(self) -> int:
        return len(self._heap)
