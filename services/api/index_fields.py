"""What the index behind the alias offers: mapping v2 added the combined ``text`` field."""

from __future__ import annotations

import time

import structlog
from elasticsearch import ApiError, AsyncElasticsearch, TransportError

log = structlog.get_logger(__name__)
COMBINED = "text"  # title and body, copied in at index time (see deploy/elasticsearch)


class IndexFields:
    """Whether every index behind the alias has ``text``; looked up again every ``ttl`` s.

    An index made before mapping v2 lacks it until ``newswire reindex`` copies it into the
    current mapping: until then searches fall back to the three fields, slower but complete.
    """

    def __init__(self, es: AsyncElasticsearch, alias: str, *, ttl: float = 30.0) -> None:
        self.es = es
        self.alias = alias
        self.ttl = ttl
        self._combined = True
        self._checked_at = float("-inf")

    async def combined(self) -> bool:
        """True when searches may use the combined ``text`` field."""
        if time.monotonic() - self._checked_at < self.ttl:
            return self._combined
        try:
            reply = await self.es.indices.get_field_mapping(index=self.alias, fields=COMBINED)
        except (ApiError, TransportError):
            # No alias yet, or Elasticsearch away: the search itself reports that; ask again later.
            return self._combined
        found = [bool(m.get("mappings", {}).get(COMBINED)) for m in reply.body.values()]
        combined = bool(found) and all(found)
        if not combined and self._combined:
            log.warning(
                "index predates the combined text field; run `newswire reindex`",
                alias=self.alias,
            )
        self._combined, self._checked_at = combined, time.monotonic()
        return combined
