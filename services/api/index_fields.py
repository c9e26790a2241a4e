"""What the index behind the alias offers: fields that later mappings added.

Mapping v2 added the combined ``text`` field; v3 the unstemmed ``summary.plain`` that spelling
suggestions come from. An index made before either lacks them until ``newswire reindex``
copies it into the current mapping: until then searches do without, slower or plainer but
complete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from elasticsearch import ApiError, AsyncElasticsearch, TransportError

log = structlog.get_logger(__name__)
COMBINED = "text"  # title and body, copied in at index time (see deploy/elasticsearch)
SUGGEST = "summary.plain"  # ledes as written: the words did-you-mean suggests
_OPTIONAL = (COMBINED, SUGGEST)


@dataclass(frozen=True)
class IndexFeatures:
    """Which optional fields every index behind the alias has."""

    combined: bool = True
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
        features = IndexFeatures(combined=COMBINED in present, suggest=SUGGEST in present)
        if features != self._features and features != IndexFeatures():
            log.warning(
                "index predates the current mapping; run `newswire reindex`",
                alias=self.alias,
                missing=sorted(set(_OPTIONAL) - present),
            )
        self._features, self._checked_at = features, time.monotonic()
        return features
