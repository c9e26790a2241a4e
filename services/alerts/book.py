"""The saved searches as the matcher and the webhook sender see them: read again when stale."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from elasticsearch import AsyncElasticsearch

from services.api.routes.search import saved_search_params
from services.api.search import SearchParams, saved_search_clause
from services.common.alert_store import alerts_signature, list_alerts
from services.common.alerts import Alert
from services.common.errors import QueryError
from services.common.settings import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Watch:
    """A saved search ready to run: the alert, its search and its named clause, built once."""

    alert: Alert
    params: SearchParams
    clause: dict[str, Any]


class AlertBook:
    """Every saved search, read from the alerts index at most every ``alerts_reload_ms``."""

    def __init__(
        self,
        es: AsyncElasticsearch,
        settings: Settings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._es, self._settings, self._clock = es, settings, clock
        self._watches: dict[str, Watch] = {}
        self._read_at = float("-inf")
        self._signature: tuple[int, str | None] | None = None

    async def watches(self) -> list[Watch]:
        """The saved searches, read again first when the copy is stale and they changed."""
        if self._clock() - self._read_at >= self._settings.alerts_reload_ms / 1000:
            read_at = self._clock()
            # Alerts are made and deleted, never edited: their count and newest creation
            # time change whenever the set does, and cost one small request to ask.
            signature = await alerts_signature(self._es, self._settings)
            if signature != self._signature:
                await self.reload()
                self._signature = signature
            self._read_at = read_at
        return list(self._watches.values())

    async def reload(self) -> None:
        """Read every saved search now; those known already keep their built search."""
        read_at = self._clock()
        watches: dict[str, Watch] = {}
        for alert in await list_alerts(self._es, self._settings):
            known = self._watches.get(alert.id)
            if known is not None:
                watches[alert.id] = known
                continue
            try:
                params = saved_search_params(self._settings, alert)
                clause = saved_search_clause(params, self._settings.index_alias, alert.id)
                watches[alert.id] = Watch(alert, params, clause)
            except QueryError as exc:  # stored by an older version with other rules
                log.warning("saved search skipped", alert=alert.id, error=exc.message)
        self._watches, self._read_at = watches, read_at

    async def alert(self, alert_id: str) -> Alert | None:
        """One saved search (None once deleted), from a copy no older than the reload time."""
        await self.watches()
        watch = self._watches.get(alert_id)
        return watch.alert if watch else None

    def __len__(self) -> int:
        return len(self._watches)
