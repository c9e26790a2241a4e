"""JSON into :class:`Article`: a full Article JSON or a minimal object; else ArticleRejected.

Derived fields are always recomputed, and every text field is made canonical first
(services/ingest/canonical.py), as in the seed format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ConfigDict, ValidationError, create_model

from services.common.article import CATEGORY_MAX_CHARS, Article, Newsroom, normalise_category
from services.common.errors import ArticleRejected
from services.ingest.assemble import build_article
from services.ingest.canonical import canonical, collapse, split_body
from services.ingest.dates import calendar_date, parse_updated, quote
from services.ingest.limits import DEFAULT_MAX_BYTES, check_size

_ISO_DATE_RE = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})")
_NEWSROOM_KEYS = ("uri", "embargoed", "urgency", "subjects", "byline")
_MINIMAL_KEYS = frozenset(
    {"category", "published_date", "body", "updated_at", "title", "source", *_NEWSROOM_KEYS}
)
# The v2 fields of a minimal object are checked by the contract's own field rules.
_NEWSROOM_FIELDS: dict[str, Any] = {
    key: (Article.model_fields[key].annotation, Article.model_fields[key]) for key in _NEWSROOM_KEYS
}
_NewsroomIn = create_model("NewsroomIn", __config__=ConfigDict(extra="forbid"), **_NEWSROOM_FIELDS)


def _reject(code: str, message: str, source: str) -> ArticleRejected:
    return ArticleRejected(code, message, source=source)


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
    category = normalise_category(canonical(given.category))
    body, paragraphs = split_body(canonical(given.body))
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
        title=None if given.title_derived else collapse(canonical(given.title)) or None,
        ingested_at=ingested_at,
        body=body,
        newsroom=Newsroom.of(given),
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
    category = normalise_category(canonical(raw_category))
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
    body, paragraphs = split_body(canonical(body))
    if not paragraphs:
        raise _reject("empty_body", "the article body has no paragraphs", source)
    title = collapse(canonical(_string_field(obj, "title", source, required=False) or ""))
    newsroom = _newsroom(obj, source)
    return build_article(
        category=category,
        published_date=published,
        updated_at=updated,
        paragraphs=paragraphs,
        source=_string_field(obj, "source", source, required=False) or source,
        title=title or None,
        ingested_at=ingested_at,
        body=body,
        newsroom=newsroom,
    )


def _newsroom(obj: dict[str, Any], source: str) -> Newsroom:
    """The v2 fields of a minimal object, checked by the contract's rules for each."""
    given = {key: obj[key] for key in _NEWSROOM_KEYS if obj.get(key) is not None}
    if not given:
        return Newsroom()
    try:
        valid = _NewsroomIn.model_validate(given)
    except ValidationError as exc:
        raise _reject("invalid_article", _validation_message(exc), source) from None
    return Newsroom(**{key: getattr(valid, key) for key in given})
