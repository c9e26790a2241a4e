"""From consumed records to bulk documents and dead letters, pure: no client, no clock read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import ValidationError

from services.common.article import Article
from services.common.dlq import DeadLetter
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
    """A record that is a valid article."""

    record: Record
    article: Article


def dead_letter(record: Record, code: str, message: str) -> DeadLetter:
    """The dead letter of a record the indexer cannot write, pointing back at its offset."""
    source = f"kafka:{record.topic}/{record.partition}@{record.offset}"
    return DeadLetter(record.value or b"", code, message, source, "indexer", key=record.key)


def decode(batch: list[Record]) -> tuple[list[Decoded], list[DeadLetter]]:
    """Split into articles to write and poison records (not JSON, not the contract)."""
    decoded: list[Decoded] = []
    dead: list[DeadLetter] = []
    for record in batch:
        try:
            article = Article.model_validate_json(record.value or b"")
        except ValidationError as exc:
            first = exc.errors()[0]
            code = "not_json" if first["type"] == "json_invalid" else "invalid_article"
            dead.append(dead_letter(record, code, str(exc).splitlines()[0][:500]))
            continue
        decoded.append(Decoded(record, article))
    return decoded, dead


def bulk_docs(decoded: list[Decoded], *, indexed_at: str) -> list[BulkDoc]:
    """The documents to write, in the order of ``decoded`` (failures point back by position)."""
    docs: list[BulkDoc] = []
    for d in decoded:
        article = d.article
        version = article.version
        source = document_source(
            article, d.record.value or b"", indexed_at=indexed_at, version=version
        )
        docs.append(BulkDoc(article.id, version, source, article.content_hash))
    return docs
