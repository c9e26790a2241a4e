"""The index contract: mapping file, document shape, versioned index behind an alias."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import structlog
from elasticsearch import AsyncElasticsearch, BadRequestError

from services.common.article import Article, version_of
from services.common.clock import parse_iso, utc_now_iso
from services.common.es import boundary
from services.common.fields import LANGUAGE_FIELDS, STORY_ID
from services.common.settings import Settings

# The file lives in deploy/; wheels carry a copy beside this module (see pyproject.toml).
_PACKAGED = Path(__file__).resolve().parent / "news-articles.json"
_REPO = Path(__file__).resolve().parents[2] / "deploy" / "elasticsearch" / "news-articles.json"
MAPPING_FILE = _PACKAGED if _PACKAGED.is_file() else _REPO
log = structlog.get_logger(__name__)


@lru_cache(maxsize=1)
def _mapping_text() -> str:
    return MAPPING_FILE.read_text()


def load_mapping() -> dict[str, Any]:
    """Settings and mappings of the article index, from the file kept in the repo.

    A new dict each call: a caller that changes it (a test making an older index) must not
    change what the next index is made with.
    """
    data: dict[str, Any] = json.loads(_mapping_text())
    return data


def document_source(
    article: Article,
    value: bytes,
    *,
    indexed_at: str,
    version: int | None = None,
    story: bytes = b"",
) -> bytes:
    """The document for an article from its record's JSON, extended in place (no re-encoding).

    ``value`` must be the article's validated JSON object; the derived fields are spliced in
    before its closing brace, which is far cheaper than a model dump and a new encoding.
    ``version`` is the article's, when the caller has it already; ``story`` the story fields
    as JSON members, each led by a comma (services/indexer/stories.py), or nothing.
    """
    # The derived fields are formatted as orjson would encode them, in one copy of the
    # record: per document this was more of the indexer's CPU than validating the article.
    extra = b',"has_tweets":%s,"version":%d,"indexed_at":%s%s' % (
        b"true" if article.tweets else b"false",
        article.version if version is None else version,
        orjson.dumps(indexed_at),
        # Without a story assignment (stories turned off) an article is a story of its own.
        story or b',"%s":%s' % (STORY_ID.encode(), orjson.dumps(article.id)),
    )
    language = language_fields(article.language, article.title, article.body)
    body = value.rstrip()
    if b"\n" in body or b"\r" in body:
        # Valid JSON may span lines (a foreign producer pretty-printing); a bulk body may not.
        body = orjson.dumps(orjson.loads(body))
    tail = b"," + orjson.dumps(language)[1:] if language else b"}"
    return b"".join((memoryview(body)[:-1], extra, tail))


def language_fields(language: str, title: str, body: str) -> dict[str, str]:
    """The per-language search field of an article, when its language has one.

    It stays in ``_source`` (title and body again, for these articles only): a mapping that
    excluded it would make Elasticsearch re-encode every document's source as it indexes it,
    about a tenth of its indexing CPU (measured with the bench corpus). Readers leave it out.
    """
    field = LANGUAGE_FIELDS.get(language)
    return {field: f"{title}\n\n{body}"} if field else {}


def source_version(source: dict[str, Any]) -> int:
    """The external version a stored document must have, from its own dates.

    Recomputed rather than copied, so a reindex also moves documents written under an older
    versioning rule (epoch milliseconds, negative before 1970) to the current one.
    """
    updated = source.get("updated_at")
    return version_of(
        date.fromisoformat(source["published_date"]), parse_iso(updated) if updated else None
    )


def to_document(article: Article, *, indexed_at: str | None = None) -> dict[str, Any]:
    """The Elasticsearch document for an article: its JSON plus fields derived for search."""
    doc: dict[str, Any] = article.model_dump(mode="json")
    doc["has_tweets"] = bool(article.tweets)
    doc["version"] = article.version
    doc["indexed_at"] = indexed_at or utc_now_iso()
    # A story of its own unless the indexer's story assignment says otherwise: no document of
    # a current index lacks a story id (a search collapses on it).
    doc[STORY_ID] = article.id
    doc.update(language_fields(article.language, article.title, article.body))
    return doc


async def ensure_index(es: AsyncElasticsearch, settings: Settings) -> str:
    """Create the versioned index and point the alias at it unless the alias exists already.

    Returns the concrete index the alias points to (which may be a newer reindexed one).
    """
    alias = settings.index_alias
    with boundary(f"cannot prepare index {alias!r}"):
        index = await _ensure_alias(es, settings)
        await _ensure_versions_index(es, settings)
        return index


# Every version of every article, for the corrections' history: looked up by id only, so
# nothing but id and version is indexed (no text analysis: a version costs the indexer little).
# One copy on one node, two (a replica) from two nodes on: a node may go away (auto-expanded).
VERSIONS_MAPPING: dict[str, Any] = {
    "settings": {
        "index": {"number_of_shards": 1, "number_of_replicas": 0, "auto_expand_replicas": "0-1"}
    },
    "mappings": {
        "dynamic": False,
        "properties": {"id": {"type": "keyword"}, "version": {"type": "long"}},
    },
}


async def _ensure_versions_index(es: AsyncElasticsearch, settings: Settings) -> None:
    if await es.indices.exists(index=settings.versions_index):
        return
    try:
        await es.indices.create(index=settings.versions_index, **VERSIONS_MAPPING)
    except BadRequestError as exc:
        if exc.error != "resource_already_exists_exception":
            raise


def addable_fields(have: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    """Fields of ``want`` missing from ``have`` that need no analyser: added in place."""
    present = have.get("properties", {})
    return {
        name: spec
        for name, spec in want.get("properties", {}).items()
        if name not in present and "analyzer" not in json.dumps(spec)
    }


async def _ensure_alias(es: AsyncElasticsearch, settings: Settings) -> str:
    alias = settings.index_alias
    if await es.indices.exists_alias(name=alias):
        current = await es.indices.get_alias(name=alias)
        index = str(sorted(current.body)[-1])
        await _upgrade_in_place(es, index)
        return index
    index = settings.index_name
    if not await es.indices.exists(index=index):
        try:
            await es.indices.create(index=index, **load_mapping())
        except BadRequestError as exc:
            # Two processes starting at once: the loser finds the index already there.
            if exc.error != "resource_already_exists_exception":
                raise
    await es.indices.put_alias(index=index, name=alias)
    return index


def mapping_version(mapping: dict[str, Any]) -> int:
    """The ``_meta.mapping_version`` of an index's mappings (1 before it was recorded)."""
    return int(mapping.get("_meta", {}).get("mapping_version", 1))


async def _upgrade_in_place(es: AsyncElasticsearch, index: str) -> None:
    # An older index still works (searches fall back), but misses what newer mappings add:
    # fields without analysis (the lifecycle's status, embargo...) are added to it in place.
    reply = await es.indices.get_mapping(index=index)
    mappings = reply.body.get(index, {}).get("mappings", {})
    added = addable_fields(mappings, load_mapping()["mappings"])
    if added:
        await es.indices.put_mapping(index=index, properties=added)
        log.info("fields added to the index in place", index=index, fields=sorted(added))
    # A replica from two nodes on is a dynamic setting: an index made before it gets it too.
    replicas = load_mapping()["settings"]["index"].get("auto_expand_replicas")
    if replicas is not None:
        await es.indices.put_settings(index=index, settings={"auto_expand_replicas": replicas})
    have = mapping_version(mappings)
    want = mapping_version(load_mapping()["mappings"])
    if have < want:
        log.warning(
            "index has an older mapping; run `newswire reindex`",
            index=index,
            mapping_version=have,
            current=want,
        )
