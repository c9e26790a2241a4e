"""What the index behind the alias offers: fields that later mappings added.

Mapping v3 added the unstemmed ``summary.plain`` that spelling suggestions come from. An index
made before lacks it until ``newswire reindex`` copies it into the current mapping: until then
searches go without suggestions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from elasticsearch import ApiError, AsyncElasticsearch, TransportError

log = structlog.get_logger(__name__)
SUGGEST = "summary.plain"  # ledes as written: the words did-you-mean suggests
_OPTIONAL = (SUGGEST,)


@dataclass(frozen=True)
class IndexFeatures:
    """Which optional fields every index behind the alias has (default: the current mapping)."""

    suggest: bool = True


class IndexFields:
    """The alias's ``IndexFeatures``, looked up again every ``ttl`` s."""

    def __init__(self, es: AsyncElasticsearch, alias: str, *, ttl: float = 30.0) -> None:
        self.es = es
        self.alias = alias
        self.ttl = ttl
        self._features = IndexFeatures()
        self._checked_at = float("-inf")

    async def features(self) -> IndexFeatures:
        """What searches may use now."""
        if time.monotonic() - self._checked_at < self.ttl:
            return self._features
        try:
            reply = await self.es.indices.get_field_mapping(
                index=self.alias, fields=",".join(_OPTIONAL)
            )
        except (ApiError, TransportError):
            # No alias yet, or Elasticsearch away: the search itself reports that; ask again later.
            return self._features
        indices = [m.get("mappings", {}) for m in reply.body.values()]
        present = {f for f in _OPTIONAL if indices and all(m.get(f) for m in indices)}
        features = IndexFeatures(suggest=SUGGEST in present)
        if features != self._features and features != IndexFeatures():
            log.warning(
                "index predates the current mapping; run `newswire reindex`",
                alias=self.alias,
                fields=sorted(present),
            )
        self._features, self._checked_at = features, time.monotonic()
        return features
