"""From consumed records to bulk documents and dead letters, pure: no client, no clock read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import orjson
from pydantic import ValidationError

from services.common.article import Article
from services.common.clock import to_iso
from services.common.dlq import DeadLetter
from services.common.status_event import StatusEvent
from services.indexer.bulk import BulkDoc
from services.indexer.checkpoint import Position
from services.indexer.mapping import document_source


class Record(Position, Protocol):
    """A consumed Kafka record, as far as the indexer reads it (aiokafka's ConsumerRecord)."""

    @property
    def key(self) -> bytes | None:
        """The record's key (the article id)."""
        ...

    @property
    def value(self) -> bytes | None:
        """The record's value (the article's JSON)."""
        ...


@dataclass
class Decoded:
    """A record that is a valid article version, or a status event (a kill, a hold)."""

    record: Record
    event: Article | StatusEvent

    @property
    def made_at(self) -> datetime:
        """When the event entered Newswire: the article's ingest time, the status's own."""
        event = self.event
        return event.ingested_at if isinstance(event, Article) else event.at


def dead_letter(record: Record, code: str, message: str) -> DeadLetter:
    """The dead letter of a record the indexer cannot write, pointing back at its offset."""
    source = f"kafka:{record.topic}/{record.partition}@{record.offset}"
    return DeadLetter(record.value or b"", code, message, source, "indexer", key=record.key)


def decode(batch: list[Record]) -> tuple[list[Decoded], list[DeadLetter]]:
    """Split into articles to write and poison records (not JSON, not the contract)."""
    decoded: list[Decoded] = []
    dead: list[DeadLetter] = []
    for record in batch:
        if not record.value:
            continue  # a tombstone (compaction's delete marker): nothing to write
        try:
            article = Article.model_validate_json(record.value)
        except ValidationError as exc:
            status = _status_event(record.value)
            if status is not None:
                decoded.append(Decoded(record, status))
                continue
            first = exc.errors()[0]
            code = "not_json" if first["type"] == "json_invalid" else "invalid_article"
            dead.append(dead_letter(record, code, str(exc).splitlines()[0][:500]))
            continue
        decoded.append(Decoded(record, article))
    return decoded, dead


def _status_event(value: bytes) -> StatusEvent | None:
    """The status event ``value`` holds, or None (then it is judged as an article)."""
    # Rare next to articles: tried only once the article contract refused the record.
    if b'"event"' not in value:
        return None
    try:
        return StatusEvent.model_validate_json(value)
    except ValidationError:
        return None


def status_source(event: StatusEvent, *, indexed_at: str) -> bytes:
    """The document a status event leaves in the index: no content, only what happened."""
    document = {
        "id": event.id,
        "schema_version": event.schema_version,
        "status": event.event,
        "status_at": to_iso(event.at),
        "uri": event.uri,
        "reason": event.reason,
        "version": event.version,
        "content_hash": event.content_hash,
        "indexed_at": indexed_at,
    }
    source: bytes = orjson.dumps(document)
    return source


def bulk_docs(
    decoded: list[Decoded], *, indexed_at: str, stories: Mapping[int, bytes] | None = None
) -> list[BulkDoc]:
    """The documents to write, in the order of ``decoded`` (failures point back by position).

    ``stories``: by position in ``decoded``, the story fields to splice into an article's
    document (services/indexer/stories.py).
    """
    docs: list[BulkDoc] = []
    stories = stories or {}
    for position, d in enumerate(decoded):
        article = d.event
        version = article.version
        if isinstance(article, StatusEvent):
            source = status_source(article, indexed_at=indexed_at)
            docs.append(BulkDoc(article.id, version, source, article.content_hash))
            continue
        source = document_source(
            article,
            d.record.value or b"",
            indexed_at=indexed_at,
            version=version,
            story=stories.get(position, b""),
        )
        docs.append(BulkDoc(article.id, version, source, article.content_hash))
    return docs
