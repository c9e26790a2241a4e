"""One input's verdict: a Prepared Kafka record, or the ArticleRejected that says why not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.common.article import SCHEMA_VERSION, Article
from services.common.clock import to_iso
from services.common.errors import ArticleRejected
from services.common.status_event import StatusEvent
from services.ingest.dates import check_not_future
from services.ingest.json_parser import parse_json_article
from services.ingest.limits import InputLimits, check_size, too_large
from services.ingest.ninjs_parser import parse_ninjs
from services.ingest.parser import parse_article
from services.ingest.readers import InputFormat, Item

# Each input format's parser: bytes into a topic event (an article version or, for ninjs, a
# status event too), else ArticleRejected.
PARSERS: dict[InputFormat, Callable[..., Article | StatusEvent]] = {
    "seed": parse_article,
    "json": parse_json_article,
    "ninjs": parse_ninjs,
}


@dataclass(frozen=True)
class Prepared:
    """An accepted article already serialised (by a parsing worker): cheap to ship and send."""

    id: str
    version: int
    ledger_key: str
    value: bytes
    headers: list[tuple[str, bytes]]

    def article(self) -> Article:
        """The article the record carries (validated again: for readers, not the hot path)."""
        return Article.model_validate_json(self.value)


def parse_item(
    item: Item, limits: InputLimits, *, trace_id: str | None = None
) -> Prepared | ArticleRejected:
    """Read, parse, date-check and serialise one input; the rejection is returned, not raised."""
    try:
        if item.skipped is not None:  # not an input: the caller counts it, never sends it
            raise ArticleRejected("skipped", item.skipped, source=item.source)
        if item.error is not None:
            raise ArticleRejected("unreadable", item.error, source=item.source)
        # What arrived counts, not what was kept of it (an HTTP body is cut past the limit).
        check_size(item.received, limits.max_bytes, item.source)
        event = PARSERS[item.format](item.data, source=item.source, max_bytes=limits.max_bytes)
        if isinstance(event, Article):
            check_not_future(
                event.published_date,
                event.updated_at,
                item.source,
                max_future_s=limits.max_future_s,
            )
        return prepare(event, limit=limits.record_limit, source=item.source, trace_id=trace_id)
    except ArticleRejected as exc:
        return exc


def prepare(
    article: Article | StatusEvent, *, limit: int, source: str, trace_id: str | None = None
) -> Prepared:
    """Serialise once, where the parsing happens; a record over ``limit`` bytes is too_large.

    The limit applies to the record Kafka gets (key + value + headers): JSON escapes a control
    character into 6 bytes and a quote into 2, and derived fields add to the source text.
    """
    value = article.model_dump_json().encode()
    headers = article_headers(article, trace_id)
    size = len(article.id) + len(value) + sum(len(n) + len(v) for n, v in headers)
    if size > limit:
        raise too_large(
            source,
            f"its Kafka record would be {size} bytes (JSON escaping and derived fields count), "
            f"over the {limit}-byte limit",
        )
    return Prepared(article.id, article.version, article_key(article), value, headers)


def article_key(article: Article | StatusEvent) -> str:
    """Ledger key of one version of an article (or of one status event)."""
    return f"{article.id}@{article.version}:{article.content_hash}"


def article_headers(
    article: Article | StatusEvent, trace_id: str | None
) -> list[tuple[str, bytes]]:
    """Headers that let consumers route and trace without parsing the value."""
    if isinstance(article, StatusEvent):
        kind, made = b"status", article.at
    else:
        kind, made = b"article", article.ingested_at
    headers = [
        ("schema-version", str(SCHEMA_VERSION).encode()),
        ("content-type", b"application/json"),
        ("event", kind),
        ("ingested-at", to_iso(made).encode()),
    ]
    if trace_id:
        headers.append(("trace-id", trace_id.encode()))
    return headers


def internal_error(exc: Exception, source: str) -> ArticleRejected:
    """The rejection of an input that hit a bug: dead-lettered so it can be replayed later."""
    return ArticleRejected(
        "internal_error", f"unexpected {type(exc).__name__}: {exc}", source=source
    )
