"""A ninjs 2.x document read into the parts Newswire keeps: :class:`NinjsItem`, or a rejection.

The document must first be valid against IPTC's schema (services/common/ninjs_schema.py);
this module then reads what the schema leaves loose (free-form dates, BCP 47 tags, urgency
as any number) and refuses, with a stable code, what Newswire cannot index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final, Literal

from services.common.article import CATEGORY_MAX_CHARS, URI_MAX_CHARS
from services.common.errors import ArticleRejected
from services.common.ninjs_schema import problems
from services.ingest.canonical import canonical, collapse
from services.ingest.dates import quote
from services.ingest.html_text import html_paragraphs

PubStatus = Literal["usable", "withheld", "canceled"]
_HTML_TYPES: Final = frozenset({"text/html", "body_xhtml", "application/xhtml+xml", "html"})
_MAX_SUBJECTS: Final = 50
_BYLINE_MAX_CHARS: Final = 500
_SUBJECT_MAX_CHARS: Final = 100
_LANGUAGE_RE = re.compile(r"(?P<primary>[A-Za-z]{2})(?:[-_][A-Za-z0-9]{1,8})*")


@dataclass(frozen=True)
class NinjsItem:
    """What Newswire takes from one ninjs item."""

    uri: str
    version: str | None
    version_created: datetime | None
    first_created: datetime | None
    embargoed: datetime | None
    pubstatus: PubStatus
    headline: str | None
    paragraphs: tuple[str, ...]
    category: str | None
    subjects: tuple[str, ...]
    language: str | None
    urgency: int | None
    byline: str | None


def _reject(code: str, message: str, source: str) -> ArticleRejected:
    return ArticleRejected(code, message, source=source)


def _moment(doc: dict[str, Any], key: str, source: str) -> datetime | None:
    """A ninjs date-time: ISO 8601 with an offset or Z; a bare date is midnight UTC."""
    text = doc.get(key)
    if text is None:
        return None
    value = str(text).strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in "zZ" else value)
    except (ValueError, IndexError):
        raise _reject(
            "malformed_date", f"{key} {quote(value)} is not an ISO 8601 date-time", source
        ) from None
    if moment.tzinfo is None:
        raise _reject("malformed_date", f"{key} {quote(value)} has no time zone offset", source)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise _reject("malformed_date", f"{key} {quote(value)} is out of range", source) from None


def _first_value(parts: list[dict[str, Any]], *, roles: tuple[str | None, ...]) -> str | None:
    for role in roles:
        for part in parts:
            if part.get("role") == role and str(part.get("value", "")).strip():
                return str(part["value"])
    for part in parts:
        if str(part.get("value", "")).strip():
            return str(part["value"])
    return None


def _headline(doc: dict[str, Any]) -> str | None:
    text = _first_value(doc.get("headlines", []), roles=("main", None))
    return collapse(canonical(text)) or None if text else None


def _paragraphs(doc: dict[str, Any]) -> tuple[str, ...]:
    """The main body: HTML when given (it keeps the paragraphs), else plain text."""
    bodies = [b for b in doc.get("bodies", []) if b.get("role") in (None, "main", "richtext")]
    html = [b for b in bodies if str(b.get("contenttype", "")).lower() in _HTML_TYPES]
    plain = [b for b in bodies if b not in html]
    if html and (markup := _first_value(html, roles=("richtext", "main", None))):
        found = html_paragraphs(markup)
    elif plain and (text := _first_value(plain, roles=("main", None))):
        found = re.split(r"\n\s*\n", text)
    else:
        found = []
    return tuple(p for p in (collapse(canonical(p)) for p in found) if p)


def _category(doc: dict[str, Any]) -> str | None:
    """The subject marked ``rel: category`` (as Newswire writes its category out), if any."""
    for subject in doc.get("subjects", []):
        if subject.get("rel") == "category":
            return collapse(canonical(str(subject.get("name", ""))))[:CATEGORY_MAX_CHARS] or None
    return None


def _subjects(doc: dict[str, Any]) -> tuple[str, ...]:
    names = []
    for subject in doc.get("subjects", []):
        if subject.get("rel") == "category":
            continue
        name = collapse(canonical(str(subject.get("name", ""))))[:_SUBJECT_MAX_CHARS]
        if name and name not in names:
            names.append(name)
    return tuple(names[:_MAX_SUBJECTS])


def _language(doc: dict[str, Any]) -> str | None:
    match = _LANGUAGE_RE.fullmatch(str(doc.get("language", "")).strip())
    return match["primary"].lower() if match else None


def _urgency(doc: dict[str, Any], source: str) -> int | None:
    value = doc.get("urgency")
    if value is None:
        return None
    if isinstance(value, bool) or value != int(value) or not 1 <= value <= 9:
        raise _reject(
            "invalid_ninjs", f"urgency must be a whole number 1 to 9, got {value}", source
        )
    return int(value)


def read_ninjs(doc: Any, source: str) -> NinjsItem:
    """``doc`` (parsed JSON) as a :class:`NinjsItem`; ArticleRejected when it cannot be one."""
    reasons = problems(doc)
    if reasons:
        raise _reject("invalid_ninjs", "not valid ninjs 2.x: " + "; ".join(reasons), source)
    status = doc.get("pubstatus", "usable")
    uri = str(doc["uri"]).strip()
    if not uri or len(uri) > URI_MAX_CHARS:
        raise _reject("invalid_ninjs", f"uri must be 1 to {URI_MAX_CHARS} characters", source)
    byline = collapse(canonical(str(doc.get("by") or "")))[:_BYLINE_MAX_CHARS]
    item = NinjsItem(
        uri=uri,
        version=None if doc.get("version") is None else str(doc["version"]),
        version_created=_moment(doc, "versioncreated", source),
        first_created=_moment(doc, "firstcreated", source),
        embargoed=_moment(doc, "embargoed", source),
        pubstatus=status,
        headline=_headline(doc),
        paragraphs=_paragraphs(doc),
        category=_category(doc),
        subjects=_subjects(doc),
        language=_language(doc),
        urgency=_urgency(doc, source),
        byline=byline or None,
    )
    if not item.paragraphs and item.pubstatus == "usable":
        # A kill or a hold needs no body; an item to publish does.
        raise _reject("empty_body", "the ninjs item has no text body", source)
    return item
