"""ninjs bytes into what the topic carries: an :class:`Article`, or a :class:`StatusEvent`.

A ``usable`` item is an article version; ``canceled`` (a kill) and ``withheld`` (a hold) are
status events for the item's id, whatever content they carry.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from services.common.article import Article, Newsroom, compute_uri_id, normalise_category
from services.common.errors import ArticleRejected
from services.common.status_event import StatusEvent
from services.ingest.assemble import build_article
from services.ingest.limits import DEFAULT_MAX_BYTES, check_size
from services.ingest.ninjs_reader import NinjsItem, read_ninjs

# ninjs has no category: the subject marked rel "category" gives one, else this.
DEFAULT_CATEGORY = "general"


def parse_ninjs(
    data: bytes,
    *,
    source: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    ingested_at: datetime | None = None,
) -> Article | StatusEvent:
    """One ninjs 2.x document (JSON bytes) as an article version or a status event."""
    check_size(len(data), max_bytes, source)
    try:
        doc = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise ArticleRejected("invalid_json", f"not valid JSON: {exc}", source=source) from None
    item = read_ninjs(doc, source)
    now = ingested_at or datetime.now(UTC)
    if item.pubstatus != "usable":
        return StatusEvent(
            event=item.pubstatus,
            id=compute_uri_id(item.uri),
            at=item.version_created or now,
            uri=item.uri,
            source=source,
        )
    return _article(item, source, now)


def _article(item: NinjsItem, source: str, now: datetime) -> Article:
    created = item.first_created or item.version_created or now
    return build_article(
        category=normalise_category(item.category or DEFAULT_CATEGORY),
        published_date=created.date(),
        updated_at=item.version_created,
        paragraphs=list(item.paragraphs),
        source=source,
        title=item.headline,
        ingested_at=now,
        language=item.language,
        newsroom=Newsroom.of(item),
    )
