"""Seed-format text and JSON into :class:`Article`; anything else is an ``ArticleRejected``.

The seed format::

    date 2020-01-08 world            header: date and (multi-word) category
    Updated: Jan 08, 2020 09:06 IST  optional; 24- or 12-hour clock, zone abbreviation or offset

    Lede paragraph...                paragraphs separated by blank lines

    Tweet text — Name (@handle) January 8, 2020

Text is canonical before it is parsed, in the seed format and in every JSON field alike
(body, title, category): CRLF and CR become LF, then control characters go (C0 and C1 but
tab and LF, and DEL): those Python splits words at (VT, FF, FS, GS, RS, US, NEL) become a
space, every other one is removed; then NFC. So an id never depends on invisible bytes, and
the published JSON cannot balloon (JSON escapes a control character into 6 bytes).

The parser raises only :class:`ArticleRejected` (stable ``code``) for bad input, whatever the
bytes: a property test feeds it arbitrary data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from services.common.article import (
    CATEGORY_MAX_CHARS,
    SCHEMA_VERSION,
    Article,
    Tweet,
    compute_content_hash,
    compute_id,
    is_collapsed,
    normalise_category,
    trusted_article,
    utc_ms,
)
from services.common.errors import ArticleRejected
from services.common.settings import Settings
from services.ingest.dates import MONTHS, calendar_date, parse_updated, quote
from services.ingest.language import detect_language
from services.ingest.limits import check_size
from services.ingest.readers import read_named
from services.ingest.text import count_words, derive_summary, derive_title

# The setting's default, for callers that parse without settings (tests, the bench).
DEFAULT_MAX_BYTES: int = Settings.model_fields["max_article_bytes"].default

_PARAGRAPH_SPLIT_RE = re.compile(r"\n\s*\n")
# Case-insensitive only where needed: a whole-pattern IGNORECASE makes sre several times slower.
_HEADER_RE = re.compile(
    r"(?i:date)\s+(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})"
    r"(?:\s+(?P<category>.+))?"
)
_DATE_LIKE_RE = re.compile(r"[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}")
_FIRST_LINE_RE = re.compile(r"\s*(\S[^\n]*)")
_UPDATED_LINE_RE = re.compile(r"\s*((?i:updated)\s*:[^\n]*)")
_TWEET_RE = re.compile(
    r"(?:—|–|--)\s*(?P<author>(?:(?!--)[^()—–]){1,100}?)\s*\(@(?P<handle>[A-Za-z0-9_]{1,15})\)"
    r"\s*(?P<month>[A-Za-z]{3,9})\.?\s+(?P<day>[0-9]{1,2}),?\s+(?P<year>[0-9]{4})$"
)
_ISO_DATE_RE = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})")

# Control characters but tab and LF (CR is made LF before): the rule of the module docstring.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_TABLE = {
    code: " " if chr(code) in "\x0b\x0c\x1c\x1d\x1e\x1f\x85" else None
    for code in (*range(0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))
}

_MINIMAL_KEYS = frozenset({"category", "published_date", "body", "updated_at", "title", "source"})


def _reject(code: str, message: str, source: str) -> ArticleRejected:
    return ArticleRejected(code, message, source=source)


def _collapse(text: str) -> str:
    return " ".join(text.split())


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
    return _canonical(text)


def _without_controls(text: str) -> str:
    """``text`` without control characters (but tab and LF), word-splitting ones as spaces."""
    # One scan finds none in almost every text; translate() only runs when there are some.
    return text.translate(_CONTROL_TABLE) if _CONTROL_RE.search(text) else text


def _canonical(text: str) -> str:
    """LF line ends, no control characters and NFC: CRLF, NFD (macOS) text parse and hash alike."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _without_controls(text)
    # normalize() hands NFC text back as it is after a quick check of its own, which measures
    # ~30% faster than asking is_normalized() first.
    return text if text.isascii() else unicodedata.normalize("NFC", text)


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


def _tweet(paragraph: str) -> Tweet | None:
    """The tweet a paragraph quotes when it ends in '— Name (@handle) Month D, YYYY'."""
    # Cheap tests first: almost no paragraph is a tweet.
    if not paragraph[-1:].isdigit():
        return None
    at = paragraph.rfind("(@")
    if at < 0:
        return None
    # The author is at most 100 chars, so the dash is near the '(@': never scan the whole text.
    match = _TWEET_RE.search(paragraph, max(0, at - 110))
    if match is None:
        return None
    month = MONTHS.get(match["month"].lower())
    posted = calendar_date(int(match["year"]), month, int(match["day"])) if month else None
    author = match["author"].strip()
    if posted is None or not author:
        return None
    # Validated: pydantic-core checks a small model faster than model_construct builds one.
    return Tweet(
        text=paragraph[: match.start()].rstrip(),
        author=author,
        handle=match["handle"],
        posted_date=posted,
    )


def _body(text: str, start: int = 0) -> tuple[str, list[str]]:
    """The body of ``text[start:]`` and its paragraphs, split at blank lines and collapsed."""
    # Whitespace around the body (the Updated line's end, the file's last newline) means
    # nothing: it would be an empty paragraph or the edge of the first or last one.
    body = text[start:].strip()  # text[0:] is text itself: no copy
    if not body:
        return "", []
    parts = body.split("\n\n")
    # One test of the whole body, not one per paragraph: joined by spaces, the parts are all
    # one line with single spaces (none empty) exactly when the result is collapsed. Almost
    # every article's are, and then the body is already final.
    if is_collapsed(" ".join(parts)):
        return body, parts
    paragraphs = _paragraphs(body)
    return "\n\n".join(paragraphs), paragraphs


def _paragraphs(text: str) -> list[str]:
    """Paragraphs of ``text`` split at blank lines, each one line with single spaces."""
    # str.split at "\n\n" is much faster than the regex, which only splits what is left.
    paragraphs = []
    for part in text.split("\n\n"):
        if not part:
            continue
        if is_collapsed(part):
            paragraphs.append(part)
        elif "\n" in part:
            # Blank lines holding spaces, a third newline, wrapped or indented lines.
            paragraphs.extend(filter(None, map(_collapse, _PARAGRAPH_SPLIT_RE.split(part))))
        else:
            collapsed = _collapse(part)  # tabs, runs of spaces, odd Unicode spaces
            if collapsed:
                paragraphs.append(collapsed)
    return paragraphs


def _ingest_time(ingested_at: datetime | None) -> datetime:
    if ingested_at is None:
        ingested_at = datetime.now(UTC)
    # A naive time from a caller is taken as UTC.
    # Construction skips the model's own truncation to the milliseconds the wire carries.
    return utc_ms(ingested_at if ingested_at.tzinfo else ingested_at.replace(tzinfo=UTC))


def build_article(
    *,
    category: str,
    published_date: date,
    updated_at: datetime | None,
    paragraphs: list[str],
    source: str,
    title: str | None = None,
    ingested_at: datetime | None = None,
    body: str | None = None,
) -> Article:
    """An Article from already-validated parts, every derived field computed here.

    ``category`` must be normalised and ``paragraphs`` non-empty and whitespace-collapsed;
    ``body``, when the caller has it, must be the paragraphs joined by blank lines.
    """
    lede = paragraphs[0]
    if body is None:
        body = "\n\n".join(paragraphs)
    # Every value is valid by construction (checked by the callers or computed here), so
    # validation is skipped: it would cost ~5% of the parse. Property tests re-validate whatever
    # the parser makes from arbitrary input, so a gap here fails the test suite, not production.
    return trusted_article(
        {
            "id": compute_id(published_date, category, lede),
            "schema_version": SCHEMA_VERSION,
            "category": category,
            "published_date": published_date,
            "updated_at": utc_ms(updated_at) if updated_at else None,
            "title": title or derive_title(lede),
            "title_derived": not title,
            "summary": derive_summary(lede),
            "body": body,
            # Only a paragraph ending in a digit (the tweet's year) can quote a tweet.
            "tweets": tuple(filter(None, [_tweet(p) for p in paragraphs if p[-1].isdigit()])),
            "word_count": count_words(body, paragraphs=len(paragraphs)),
            "language": detect_language(body),
            "content_hash": compute_content_hash(
                category=category,
                published_date=published_date,
                updated_at=updated_at,
                title=title,
                body=body,
            ),
            "source": source,
            "ingested_at": _ingest_time(ingested_at),
        }
    )


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
    body, paragraphs = _body(text, position)
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


def _string_field(obj: Mapping[str, Any], key: str, source: str, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise _reject("invalid_article", f"field {key!r} is required", source)
        return None
    if not isinstance(value, str):
        raise _reject(
            "invalid_article", f"field {key!r} must be a string, got {type(value).__name__}", source
        )
    return value


def _json_updated(value: str | None, source: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
    except ValueError:
        # Not ISO-8601: perhaps the seed format's own 'Jan 08, 2020 09:06 IST'.
        return parse_updated(text, source)
    if moment.tzinfo is None:
        raise _reject(
            "malformed_updated", f"updated_at {quote(text)} has no time zone offset", source
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise _reject(
            "malformed_updated", f"updated_at {quote(text)} is out of range", source
        ) from None


def _validation_message(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "article"
        problems.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def parse_json_article(
    data: bytes | str,
    *,
    source: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    ingested_at: datetime | None = None,
) -> Article:
    """Parse a full Article JSON or a minimal {category, published_date, body...} object.

    Derived fields (id, content_hash, tweets, counts...) are always recomputed, so a client
    cannot forge them. A ``source`` in the JSON wins over the ``source`` argument.
    """
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            raise _reject(
                "undecodable", "the JSON text holds unpaired surrogates", source
            ) from None
    check_size(len(data), max_bytes, source)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _reject("invalid_json", f"not valid JSON: {exc}", source) from None
    if not isinstance(obj, dict):
        kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        kind = kinds.get(type(obj), "a number")
        raise _reject("invalid_article", f"expected a JSON object, got {kind}", source)
    if "id" in obj or "schema_version" in obj:
        return _from_full(obj, source, ingested_at)
    return _from_minimal(obj, source, ingested_at)


def _from_full(obj: dict[str, Any], source: str, ingested_at: datetime | None) -> Article:
    try:
        given = Article.model_validate(obj)
    except ValidationError as exc:
        raise _reject("invalid_article", _validation_message(exc), source) from None
    category = normalise_category(_canonical(given.category))
    body, paragraphs = _body(_canonical(given.body))
    if not category:
        raise _reject("invalid_article", "category is blank", source)
    if not paragraphs:
        raise _reject("empty_body", "the article body has no paragraphs", source)
    return build_article(
        category=category,
        published_date=given.published_date,
        updated_at=given.updated_at,
        paragraphs=paragraphs,
        source=given.source or source,
        title=None if given.title_derived else _collapse(_canonical(given.title)) or None,
        ingested_at=ingested_at,
        body=body,
    )


def _from_minimal(obj: dict[str, Any], source: str, ingested_at: datetime | None) -> Article:
    unknown = sorted(set(obj) - _MINIMAL_KEYS)
    if unknown:
        raise _reject(
            "invalid_article",
            f"unknown field(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(_MINIMAL_KEYS))}",
            source,
        )
    raw_category = _string_field(obj, "category", source, required=True) or ""
    category = normalise_category(_canonical(raw_category))
    if not category or len(category) > CATEGORY_MAX_CHARS:
        raise _reject(
            "invalid_article", f"category must be 1 to {CATEGORY_MAX_CHARS} characters", source
        )
    raw_date = _string_field(obj, "published_date", source, required=True) or ""
    match = _ISO_DATE_RE.fullmatch(raw_date.strip())
    if match is None:
        raise _reject(
            "invalid_article", f"published_date must be YYYY-MM-DD, got {quote(raw_date)}", source
        )
    published = calendar_date(int(match["year"]), int(match["month"]), int(match["day"]))
    if published is None:
        raise _reject(
            "impossible_date", f"published_date {raw_date.strip()} is not a calendar date", source
        )
    updated = _json_updated(_string_field(obj, "updated_at", source, required=False), source)
    body = _string_field(obj, "body", source, required=True) or ""
    body, paragraphs = _body(_canonical(body))
    if not paragraphs:
        raise _reject("empty_body", "the article body has no paragraphs", source)
    title = _collapse(_canonical(_string_field(obj, "title", source, required=False) or ""))
    return build_article(
        category=category,
        published_date=published,
        updated_at=updated,
        paragraphs=paragraphs,
        source=_string_field(obj, "source", source, required=False) or source,
        title=title or None,
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
