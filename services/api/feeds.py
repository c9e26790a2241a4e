"""Search results as Atom 1.0 and JSON Feed 1.1, with the validators conditional GET needs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Final
from xml.etree import ElementTree as ET

import orjson

from services.common.clock import parse_iso

ATOM_MEDIA_TYPE: Final = "application/atom+xml; charset=utf-8"
JSON_FEED_MEDIA_TYPE: Final = "application/feed+json; charset=utf-8"
_ATOM_NS: Final = "http://www.w3.org/2005/Atom"
_EMPTY_FEED_TIME: Final = datetime(1970, 1, 1, tzinfo=UTC)
# XML 1.0 forbids most control characters even as references: they are dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class FeedEntry:
    """One article of a feed."""

    id: str
    title: str
    updated: datetime
    url: str
    summary: str
    category: str


@dataclass(frozen=True)
class FeedMeta:
    """What a feed says about itself."""

    title: str
    feed_url: str
    home_url: str


def version_time(source: Mapping[str, Any]) -> datetime:
    """The time of a stored article's version: ``updated_at``, else its day at 00:00 UTC.

    The same moment the article's external version counts (``services.common.article``).
    """
    updated = source.get("updated_at")
    if updated:
        return parse_iso(str(updated))
    day = date.fromisoformat(str(source["published_date"]))
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def entry(source: Mapping[str, Any], url: str) -> FeedEntry:
    """The feed entry of a stored article (its ``_source``), linking to ``url``."""
    return FeedEntry(
        id=str(source["id"]),
        title=str(source.get("title", "")),
        updated=version_time(source),
        url=url,
        summary=str(source.get("summary", "")),
        category=str(source.get("category", "")),
    )


def last_modified(entries: Sequence[FeedEntry]) -> datetime:
    """The feed's own update time: its newest entry's (the epoch for an empty feed)."""
    return max((e.updated for e in entries), default=_EMPTY_FEED_TIME)


def etag(entries: Sequence[FeedEntry], variant: str) -> str:
    """A strong validator: changes when an entry comes, goes or gets a new version."""
    digest = hashlib.sha256(variant.encode())
    for entry in entries:
        digest.update(f"\x1e{entry.id}\x1f{entry.updated.isoformat()}".encode())
    return f'"{digest.hexdigest()[:32]}"'


def http_date(moment: datetime) -> str:
    """An HTTP-date (IMF-fixdate) for Last-Modified."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def not_modified(
    tag: str, modified: datetime, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    """Whether a conditional GET is answered 304 (RFC 9110, 13.1.2 and 13.2.2).

    If-None-Match, when sent, decides alone (weak comparison); If-Modified-Since counts only
    without it, and an unreadable date is ignored, as the RFC asks.
    """
    if if_none_match is not None:
        sent = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in sent or tag.removeprefix("W/") in sent
    if not if_modified_since:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    # HTTP dates have whole seconds: compare what Last-Modified said.
    return modified.replace(microsecond=0) <= since


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(parent: ET.Element, tag: str, value: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{_ATOM_NS}}}{tag}", attrs)
    element.text = _NOT_XML.sub("", value)
    return element


def atom(entries: Sequence[FeedEntry], meta: FeedMeta) -> bytes:
    """An Atom 1.0 document (RFC 4287), newest entry first as given."""
    ET.register_namespace("", _ATOM_NS)
    feed = ET.Element(f"{{{_ATOM_NS}}}feed")
    _text(feed, "id", meta.feed_url)
    _text(feed, "title", meta.title)
    _text(feed, "updated", _rfc3339(last_modified(entries)))
    ET.SubElement(feed, f"{{{_ATOM_NS}}}link", rel="self", href=meta.feed_url)
    ET.SubElement(feed, f"{{{_ATOM_NS}}}link", rel="alternate", href=meta.home_url)
    author = ET.SubElement(feed, f"{{{_ATOM_NS}}}author")
    _text(author, "name", "Newswire")
    for item in entries:
        entry = ET.SubElement(feed, f"{{{_ATOM_NS}}}entry")
        _text(entry, "id", f"urn:newswire:article:{item.id}")
        _text(entry, "title", item.title)
        _text(entry, "updated", _rfc3339(item.updated))
        ET.SubElement(entry, f"{{{_ATOM_NS}}}link", rel="alternate", href=item.url)
        ET.SubElement(entry, f"{{{_ATOM_NS}}}category", term=_NOT_XML.sub("", item.category))
        _text(entry, "summary", item.summary, type="text")
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document


def json_feed(entries: Sequence[FeedEntry], meta: FeedMeta) -> bytes:
    """A JSON Feed 1.1 document, newest item first as given."""
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": meta.title,
        "home_page_url": meta.home_url,
        "feed_url": meta.feed_url,
        "authors": [{"name": "Newswire"}],
        "items": [
            {
                "id": item.id,
                "url": item.url,
                "title": item.title,
                "content_text": item.summary,
                "date_modified": _rfc3339(item.updated),
                "tags": [item.category],
            }
            for item in entries
        ],
    }
    encoded: bytes = orjson.dumps(document)
    return encoded
