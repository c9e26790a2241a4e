"""Rebuild the index behind the alias with no downtime: copy (scroll + bulk), swap, catch up.

The server-core distribution has no reindex module, so the copy is ours: a scroll over the
current index, bulk writes with the documents' own external versions into the next versioned
index, then one atomic alias swap. Writes that reach the old index during the copy are picked
up by a catch-up pass over ``indexed_at``; versions make every copy idempotent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from elasticsearch import AsyncElasticsearch

from services.common.clock import utc_now_iso
from services.common.embedding import Embedder, embed_text, quantized
from services.common.fields import EMBEDDING, STORY_ID
from services.common.settings import Settings
from services.common.visibility import STATUS
from services.indexer.bulk import BulkDoc, BulkLimits, BulkWriter
from services.indexer.bulk_target import EsBulkTarget
from services.indexer.history import version_doc, versions_writer
from services.indexer.mapping import (
    ensure_index,
    language_fields,
    load_mapping,
    source_version,
)
from services.indexer.stories import StoryAssigner, Text


@dataclass(frozen=True)
class Reindexed:
    """What a reindex did."""

    old: str
    new: str
    copied: int
    caught_up: int
    backfilled: int = 0  # documents given an embedding and a story id they lacked


def next_index(alias: str, existing: list[str]) -> str:
    """``<alias>-v<N+1>`` for the highest N among ``existing``."""
    pattern = re.compile(rf"^{re.escape(alias)}-v(\d+)$")
    numbers = [int(m.group(1)) for name in existing if (m := pattern.match(name))]
    return f"{alias}-v{max(numbers, default=0) + 1}"


def _copy_of(doc_id: str, source: dict[str, Any]) -> BulkDoc:
    if STATUS in source:
        # A kill or a hold has no dates of its own to derive a version from: it keeps its own.
        return BulkDoc(doc_id, int(source["version"]), orjson.dumps(source))
    version = source_version(source)
    source["version"] = version
    # Derived fields are derived again: an index made by an earlier v3 mapping kept the
    # language fields out of _source.
    source.update(
        language_fields(source.get("language", ""), source.get("title", ""), source["body"])
    )
    if source.get(EMBEDDING):
        # The new index takes bytes (mapping v6): an older index's floats are converted (a
        # vector already in bytes is its own stored form).
        stored = quantized(source[EMBEDDING])
        source[EMBEDDING] = stored.tolist() if stored.any() else None
    return BulkDoc(doc_id, version, orjson.dumps(source))


# Oldest first, so that a backfill gives each story the id of its first copy.
_ORDER: list[dict[str, Any]] = [
    {"ingested_at": {"order": "asc", "missing": "_last"}},
    {"id": "asc"},
]


class Backfill:
    """Embeddings and story ids for documents indexed before they existed (mapping < v5)."""

    def __init__(self, assigner: StoryAssigner) -> None:
        self.assigner = assigner
        self.filled = 0

    async def fill(self, hits: list[dict[str, Any]]) -> None:
        """Give every article document of ``hits`` lacking them its embedding and story id."""
        lacking = [
            h["_source"]
            for h in hits
            if not h["_source"].get(STATUS)
            and "body" in h["_source"]
            and not h["_source"].get(EMBEDDING)
        ]
        if not lacking:
            return
        texts = [
            Text(
                s["id"], date.fromisoformat(s["published_date"]), embed_text(s["title"], s["body"])
            )
            for s in lacking
        ]
        for source, (story, stored) in zip(
            lacking, await self.assigner.stories(texts), strict=True
        ):
            # A story id already given (stories were off when it was indexed) is kept.
            source.setdefault(STORY_ID, story)
            if stored.any():  # the new index's form (mapping v6: bytes)
                source[EMBEDDING] = stored.tolist()
        self.filled += len(lacking)


def _day(source: dict[str, Any]) -> date:
    return date.fromisoformat(source["published_date"])


async def _copy(
    es: AsyncElasticsearch,
    source: str,
    writer: BulkWriter,
    query: dict[str, Any],
    backfill: Backfill | None = None,
    versions: BulkWriter | None = None,
) -> int:
    copied = 0
    page = await es.search(
        index=source,
        scroll="2m",
        size=1000,
        query=query,
        sort=_ORDER,
        # Elasticsearch 9 leaves vectors out of _source unless asked: the copy keeps them.
        source={"exclude_vectors": False},
    )
    scroll_id = page.get("_scroll_id")
    try:
        while hits := page["hits"]["hits"]:
            if backfill is not None:
                await backfill.fill(hits)
            docs = [_copy_of(h["_id"], h["_source"]) for h in hits]
            result = await writer.write(docs, should_abort=lambda: False)
            copied += result.indexed + result.stale
            if result.failures:
                first = result.failures[0]
                raise RuntimeError(
                    f"{len(result.failures)} documents could not be copied, the first: {first}"
                )
            if versions is not None:
                await _keep_versions(versions, docs, hits)
            if backfill is not None:
                # The next page's stories are looked up among this one's (knn reads refreshed).
                await es.indices.refresh(index=writer.target.index)
            page = await es.scroll(scroll_id=scroll_id, scroll="2m")
            scroll_id = page.get("_scroll_id")
    finally:
        if scroll_id:
            await es.clear_scroll(scroll_id=scroll_id)
    return copied


async def _keep_versions(
    versions: BulkWriter, docs: list[BulkDoc], hits: list[dict[str, Any]]
) -> None:
    """Keep the copied articles as versions too: the API lists each version once.

    What the indexer wrote to the old index while the copy ran can be superseded in the new
    index (the indexer writing there since the swap) before the catch-up lands; its write
    is then stale, and the version would be in neither index.
    """
    kept = [
        version_doc(d.id, d.version, d.source)
        for d, h in zip(docs, hits, strict=True)
        if STATUS not in h["_source"]
    ]
    written = await versions.write(kept, should_abort=lambda: False)
    if written.failures:
        raise RuntimeError(f"{len(written.failures)} versions could not be kept")


async def next_versioned(es: AsyncElasticsearch, settings: Settings) -> tuple[str, BulkWriter]:
    """The index the alias points to now, and a writer into its new, empty successor."""
    alias = settings.index_alias
    old = await ensure_index(es, settings)
    existing = list((await es.indices.get(index=f"{alias}-v*")).body)
    new = next_index(alias, existing)
    await es.indices.create(index=new, **load_mapping())
    return old, BulkWriter(EsBulkTarget(es, new), BulkLimits.of(settings))


async def swap_alias(es: AsyncElasticsearch, alias: str, old: str, new: str) -> None:
    """Point ``alias`` from ``old`` to ``new`` in one atomic step."""
    await es.indices.update_aliases(
        actions=[
            {"remove": {"index": old, "alias": alias}},
            {"add": {"index": new, "alias": alias}},
        ]
    )


async def reindex(es: AsyncElasticsearch, settings: Settings) -> Reindexed:
    """Copy the alias's index into a new versioned one and point the alias at it."""
    old, writer = await next_versioned(es, settings)
    new = writer.target.index
    started = utc_now_iso()
    await es.indices.refresh(index=old)  # the copy reads through search: make writes visible
    async with Embedder() as embedder:
        backfill = Backfill(StoryAssigner(es, new, embedder, settings))
        copied = await _copy(es, old, writer, {"match_all": {}}, backfill)
        await swap_alias(es, settings.index_alias, old, new)
        # Whatever the indexer wrote to the old index while we copied: external versions decide.
        await es.indices.refresh(index=old)
        since = {"range": {"indexed_at": {"gte": started}}}
        caught_up = await _copy(es, old, writer, since, backfill, versions_writer(es, settings))
    return Reindexed(old, new, copied, caught_up, backfill.filled)
