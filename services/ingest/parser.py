"""Seed-format text into :class:`Article`; anything else is an ``ArticleRejected``.

The seed format::

    date 2020-01-08 world            header: date and (multi-word) category
    Updated: Jan 08, 2020 09:06 IST  optional; 24- or 12-hour clock, zone abbreviation or offset

    Lede paragraph...                paragraphs separated by blank lines

    Tweet text — Name (@handle) January 8, 2020

Text is made canonical before it is parsed (services/ingest/canonical.py). The parser, like
the JSON one, raises only :class:`ArticleRejected` (stable ``code``) for bad input, whatever
the bytes: a property test feeds it arbitrary data.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from services.common.article import CATEGORY_MAX_CHARS, Article, normalise_category
from services.common.errors import ArticleRejected
from services.ingest.assemble import build_article
from services.ingest.canonical import canonical, split_body
from services.ingest.dates import calendar_date, parse_updated, quote
from services.ingest.limits import DEFAULT_MAX_BYTES, check_size
from services.ingest.readers import read_named

# Case-insensitive only where needed: a whole-pattern IGNORECASE makes sre several times slower.
_HEADER_RE = re.compile(
    r"(?i:date)\s+(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})"
    r"(?:\s+(?P<category>.+))?"
)
_DATE_LIKE_RE = re.compile(r"[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}")
_FIRST_LINE_RE = re.compile(r"\s*(\S[^\n]*)")
_UPDATED_LINE_RE = re.compile(r"\s*((?i:updated)\s*:[^\n]*)")


def _reject(code: str, message: str, source: str) -> ArticleRejected:
    return ArticleRejected(code, message, source=source)


def _decode(data: bytes, source: str, max_bytes: int) -> str:
    # Size first: never spend decoding time (or memory) on what will be refused anyway.
    check_size(len(data), max_bytes, source)
    # The BOM by hand: the "utf-8-sig" codec is Python code around the same C decoder (so an
    # error's offset is counted after the BOM either way).
    try:
        text = (data[3:] if data[:3] == b"\xef\xbb\xbf" else data).decode()
    except UnicodeDecodeError as exc:
        hint = " (looks like UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise _reject(
            "undecodable", f"not UTF-8: invalid byte at offset {exc.start}{hint}", source
        ) from None
    return canonical(text)


def _parse_header(line: str, source: str) -> tuple[date, str]:
    match = _HEADER_RE.fullmatch(line)
    if match is None:
        hint = "'date YYYY-MM-DD <category>'"
        if not line.lower().startswith("date") and not _DATE_LIKE_RE.search(line[:40]):
            raise _reject(
                "missing_header",
                f"first line must be a header like {hint}, got {quote(line)}",
                source,
            )
        raise _reject(
            "malformed_header", f"header line must look like {hint}, got {quote(line)}", source
        )
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    published = calendar_date(year, month, day)
    if published is None:
        raise _reject(
            "impossible_date",
            f"header date {match['year']}-{match['month']}-{match['day']} is not a calendar date",
            source,
        )
    category = normalise_category(match["category"] or "")
    if not category:
        raise _reject(
            "malformed_header",
            f"header line has no category after the date: {quote(line)}",
            source,
        )
    if len(category) > CATEGORY_MAX_CHARS:
        raise _reject(
            "malformed_header",
            f"category is {len(category)} chars, over {CATEGORY_MAX_CHARS}: {quote(category)}",
            source,
        )
    return published, category


def parse_article(
    data: bytes,
    *,
    source: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    ingested_at: datetime | None = None,
) -> Article:
    """Parse one seed-format article; raises ArticleRejected with a stable code."""
    text = _decode(data, source, max_bytes)
    # Positions instead of strip/partition: every copy of the text costs at this speed.
    first = _FIRST_LINE_RE.match(text)
    if first is None:
        raise _reject(
            "missing_header", "input is empty: expected 'date YYYY-MM-DD <category>'", source
        )
    published, category = _parse_header(first[1].strip(), source)
    position = first.end()
    updated: datetime | None = None
    updated_line = _UPDATED_LINE_RE.match(text, position)
    if updated_line is not None:
        updated = parse_updated(updated_line[1], source)
        position = updated_line.end()
    body, paragraphs = split_body(text, position)
    if not paragraphs:
        raise _reject("empty_body", "the article has a header but no paragraphs", source)
    return build_article(
        category=category,
        published_date=published,
        updated_at=updated,
        paragraphs=paragraphs,
        source=source,
        ingested_at=ingested_at,
        body=body,
    )


def parse_path(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Article:
    """Read and parse one seed file; an unreadable one (or not a file) is 'unreadable'."""
    item = read_named(path, max_bytes)
    if item.error is not None:
        raise _reject("unreadable", item.error, item.source)
    check_size(item.received, max_bytes, item.source)
    return parse_article(item.data, source=item.source, max_bytes=max_bytes)
