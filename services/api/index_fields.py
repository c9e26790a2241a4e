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

from services.common.embedding import takes_bytes
from services.common.fields import EMBEDDING

log = structlog.get_logger(__name__)
SUGGEST = "summary.plain"  # ledes as written: the words did-you-mean suggests
_OPTIONAL = (SUGGEST,)
STORIES_MAPPING = 5  # the mapping version whose every document has a story id and embedding


@dataclass(frozen=True)
class IndexFeatures:
    """Which optional fields every index behind the alias has (default: the current mapping)."""

    suggest: bool = True
    # Mapping v5 and later: every document has a story id and an embedding (an index that
    # only had the fields added in place holds older documents without them: no collapse,
    # no vectors until `newswire reindex` computes them).
    stories: bool = True
    # Mapping v6 and later store embeddings as bytes: a query vector must be bytes too
    # (services/common/embedding.py ``takes_bytes``, as the indexer writes them).
    byte_vectors: bool = True


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
        try:
            metas = await self.es.indices.get_mapping(
                index=self.alias,
                filter_path=f"*.mappings._meta,*.mappings.properties.{EMBEDDING}.element_type",
            )
        except (ApiError, TransportError):
            return self._features
        versions = [
            int(m.get("mappings", {}).get("_meta", {}).get("mapping_version", 1))
            for m in metas.body.values()
        ]
        stories = bool(versions) and min(versions) >= STORIES_MAPPING
        features = IndexFeatures(
            suggest=SUGGEST in present,
            stories=stories,
            byte_vectors=takes_bytes(metas.body),
        )
        if features != self._features and features != IndexFeatures():
            log.warning(
                "index predates the current mapping; run `newswire reindex`",
                alias=self.alias,
                fields=sorted(present),
            )
        self._features, self._checked_at = features, time.monotonic()
        return features
