"""Atom and JSON Feed rendering: what a feed reader parses, and validators that change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import orjson

from services.api.feeds import FeedEntry, FeedMeta, atom, etag, json_feed, last_modified

META = FeedMeta("Newswire: floods", "http://x/v1/feed?q=floods", "http://x/?q=floods")
T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _entry(n: int, **change: Any) -> FeedEntry:
    entry = FeedEntry(
        id=f"{n:016x}",
        title=f"Story {n}",
        updated=T0 - timedelta(minutes=n),
        url=f"http://x/v1/articles/{n:016x}",
        summary=f"Summary {n}.",
        category="world",
    )
    return replace(entry, **change)


def test_atom_is_parsed_by_a_feed_reader_without_complaint() -> None:
    parsed = feedparser.parse(atom([_entry(0), _entry(1)], META))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == META.title
    assert [e.id for e in parsed.entries] == [
        "urn:newswire:article:0000000000000000",
        "urn:newswire:article:0000000000000001",
    ]
    assert parsed.entries[0].link == "http://x/v1/articles/0000000000000000"
    assert parsed.entries[1].updated_parsed[:5] == (2026, 12, 2, 9, 59)


def test_hostile_text_stays_text() -> None:
    hostile = "<script>alert(1)</script> ]]> & \x00\x07 \ufffe end"
    parsed = feedparser.parse(atom([_entry(0, title=hostile, summary=hostile)], META))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.entries[0].title == "<script>alert(1)</script> ]]> &   end"


def test_an_empty_feed_is_valid() -> None:
    parsed = feedparser.parse(atom([], META))
    assert parsed.bozo == 0
    assert parsed.entries == []


def test_json_feed_follows_version_1_1() -> None:
    document = orjson.loads(json_feed([_entry(0)], META))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["feed_url"] == META.feed_url
    [item] = document["items"]
    assert item["id"] == "0000000000000000"
    assert isinstance(item["id"], str)
    assert item["date_modified"] == "2026-12-02T10:00:00Z"
    assert item["content_text"] == "Summary 0."


def test_the_etag_changes_with_a_new_version_and_with_the_format() -> None:
    entries = [_entry(0), _entry(1)]
    assert etag(entries, "atom") == etag(list(entries), "atom")
    assert etag(entries, "atom") != etag(entries, "json")
    assert etag(entries, "atom") != etag(
        [_entry(0, updated=T0 + timedelta(seconds=1)), _entry(1)], "atom"
    )
    assert last_modified(entries) == T0
