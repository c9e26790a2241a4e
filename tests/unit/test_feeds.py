"""Atom and JSON Feed rendering: what a feed reader parses, and validators that change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import orjson

from services.api import backend, search
from services.api.feeds import (
    FeedEntry,
    FeedMeta,
    atom,
    entry,
    etag,
    http_date,
    json_feed,
    last_modified,
    not_modified,
    version_time,
)
from services.api.routes.feed import feed_meta
from services.api.routes.search import search_params
from services.common.settings import get_settings
from services.common.visibility import hidden_clauses

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


def test_an_entry_is_dated_by_its_version_time() -> None:
    corrected = {
        "id": "a" * 16,
        "published_date": "2026-12-01",
        "updated_at": "2026-12-02T09:30:00Z",
    }
    assert version_time(corrected) == datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    assert version_time({"published_date": "2026-12-01"}) == datetime(2026, 12, 1, tzinfo=UTC)
    made = entry({**corrected, "title": "T", "summary": "S", "category": "world"}, "http://x/a")
    assert (made.id, made.title, made.url, made.updated) == (
        "a" * 16,
        "T",
        "http://x/a",
        version_time(corrected),
    )


def test_a_conditional_get_is_304_only_when_the_validators_hold() -> None:
    tag = etag([_entry(0)], "atom")
    assert not_modified(tag, T0, tag, None)
    assert not_modified(tag, T0, f'"other", W/{tag}', None)
    assert not_modified(tag, T0, "*", None)
    assert not not_modified(tag, T0, '"other"', None)
    # If-None-Match decides alone when sent, even against a later If-Modified-Since.
    assert not not_modified(tag, T0, '"other"', http_date(T0 + timedelta(days=1)))
    assert not_modified(tag, T0 + timedelta(microseconds=5), None, http_date(T0))
    assert not not_modified(tag, T0, None, http_date(T0 - timedelta(seconds=1)))
    assert not not_modified(tag, T0, None, "not a date")
    assert not not_modified(tag, T0, None, None)
    assert http_date(T0) == "Wed, 02 Dec 2026 10:00:00 GMT"


def test_a_feed_search_is_the_first_rung_newest_version_first_without_hidden_articles() -> None:
    params = search.SearchParams(q="quake", categories=("world",), size=20)
    request = search.feed_request(params, "news-articles")
    first_rung = search.build(params, "news-articles", attempt=search.Attempt())
    assert request["query"] == first_rung["query"]
    assert request["post_filter"] == first_rung["post_filter"]
    assert request["query"]["bool"]["must_not"] == hidden_clauses()
    assert request["sort"][0]["version"]["order"] == "desc"
    assert "highlight" not in request
    assert "suggest" not in request
    assert backend.search_request(request) is not None  # sent the API's fast way


def test_the_feed_url_is_canonical_and_names_only_what_differs_from_defaults() -> None:
    params = search_params(get_settings(), q="iran missiles", category=["World"], size=20)
    meta = feed_meta(params, "json", "http://api/")
    assert meta.feed_url == "http://api/v1/feed?q=iran+missiles&category=world&format=json"
    assert meta.home_url == "http://api/?q=iran+missiles&category=world"
    assert meta.title == "Newswire: iran missiles (world)"
    assert feed_meta(search_params(get_settings(), size=20), "atom", "http://api/").feed_url == (
        "http://api/v1/feed"
    )
