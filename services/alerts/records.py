"""Article-topic records read as candidates for matching, pure: no client, no clock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import ValidationError

from services.alerts.matching import Candidate
from services.common.article import Article
from services.common.status_event import StatusEvent


class Record(Protocol):
    """A consumed record, as far as the matcher reads it (aiokafka's ConsumerRecord)."""

    @property
    def partition(self) -> int:
        """Its partition."""
        ...

    @property
    def offset(self) -> int:
        """Its offset."""
        ...

    @property
    def value(self) -> bytes | None:
        """The article or status event, as JSON."""
        ...


def candidate(record: Record) -> Candidate | None:
    """What ``record`` asks to match; None for a tombstone or poison (the indexer's to judge)."""
    if not record.value:
        return None
    try:
        article = Article.model_validate_json(record.value)
    except ValidationError:
        return _status(record)
    return Candidate(
        article.id, article.version, record.partition, record.offset, None, article.ingested_at
    )


def _status(record: Record) -> Candidate | None:
    if not record.value or b'"event"' not in record.value:
        return None
    try:
        event = StatusEvent.model_validate_json(record.value)
    except ValidationError:
        return None
    return Candidate(
        event.id, event.version, record.partition, record.offset, event.event, event.at
    )


def candidates(records: Sequence[Record]) -> list[Candidate]:
    """The candidates of a batch, in record order."""
    found = (candidate(record) for record in records)
    return [c for c in found if c is not None]
