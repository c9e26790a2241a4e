"""Feeds on the live stack: any search as Atom 1.0 or JSON Feed 1.1, read as a reader would.

Articles are written to the test's own index on the real Elasticsearch (and, for kills and
embargoes, sent through the real ingest and indexer); the API app answers in process.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
import httpx
import orjson
import pytest
from elasticsearch import NotFoundError
from pydantic import SecretStr

from services.api.app import create_app as create_api
from services.common.article import Article
from services.common.es import es_client
from services.common.ninjs_schema import NINJS_MEDIA_TYPE
from services.common.settings import Settings
from services.ingest.app import create_app as create_ingest
from tests.factories import make_article, tweet_paragraph
from tests.integration.api_fixtures import index_corpus
from tests.integration.pipeline_helpers import asgi_client, running_indexer, wait_until

pytestmark = pytest.mark.integration

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
# RFC 3339 date-time, as JSON Feed 1.1 requires of date_published and date_modified.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def _story(category: str, day: str, lede: str, updated: str | None = None, **kw: Any) -> Article:
    paragraphs = [lede, f"More reporting on this {category} story follows here.", *kw.values()]
    return make_article(category=category, date=day, updated=updated, paragraphs=paragraphs)


def wire() -> dict[str, Article]:
    """Stories whose version times order differently from their publication dates."""
    return {
        "iran": _story(
            "world",
            "2020-01-08",
            "Iran launched ballistic missiles at two bases in Iraq.",
            tweet=tweet_paragraph(
                "All is well!", "Donald J. Trump", "realDonaldTrump", "2020-01-08"
            ),
        ),
        "pentagon": _story(
            "world",
            "2020-01-09",
            "The Pentagon assessed damage after the missile strikes.",
            "Jan 09, 2020 18:30 UTC",
        ),
        # Published first, corrected last: the newest version of the four.
        "oil": _story(
            "business",
            "2020-01-07",
            "Oil prices jumped after the missile strikes rattled markets.",
            "Jan 20, 2020 08:00 UTC",
        ),
        "geneva": _story("world", "2020-01-15", "Missile talks resumed in Geneva on Monday."),
        "cricket": _story("sports", "2021-06-20", "The cricket final ended in a super over."),
    }


@pytest.fixture
async def stories(settings: Settings) -> dict[str, Article]:
    """The wire's stories, indexed under this test's alias."""
    articles = wire()
    await index_corpus(settings, list(articles.values()))
    return articles


async def atom(api: httpx.AsyncClient, **params: Any) -> Any:
    """The Atom feed for ``params``, parsed by feedparser, which must find nothing wrong."""
    reply = await api.get("/v1/feed", params=params)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(reply.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def atom_ids(parsed: Any) -> list[str]:
    """The article ids of a parsed Atom feed's entries, in order."""
    prefix = "urn:newswire:article:"
    assert all(e.id.startswith(prefix) for e in parsed.entries)
    return [e.id.removeprefix(prefix) for e in parsed.entries]


async def test_the_atom_feed_lists_matches_newest_version_first(
    stories: dict[str, Article], api: httpx.AsyncClient
) -> None:
    parsed = await atom(api, q="missile")
    order = ["oil", "geneva", "pentagon", "iran"]  # by version time, not by publication date
    assert atom_ids(parsed) == [stories[name].id for name in order]
    assert [e.title for e in parsed.entries] == [stories[name].title for name in order]
    assert parsed.feed.title == "Newswire: missile"
    assert parsed.feed.id == "http://api/v1/feed?q=missile"
    assert parsed.feed.link == "http://api/?q=missile"
    oil = parsed.entries[0]
    assert oil.link == f"http://api/?article={stories['oil'].id}"
    assert oil.summary == stories["oil"].summary
    assert oil.tags[0].term == "business"
    assert tuple(oil.updated_parsed[:5]) == (2020, 1, 20, 8, 0)  # the correction's time
    assert tuple(parsed.entries[-1].updated_parsed[:5]) == (2020, 1, 8, 0, 0)  # the day
    assert tuple(parsed.feed.updated_parsed[:5]) == (2020, 1, 20, 8, 0)


async def test_the_json_feed_follows_json_feed_1_1(
    stories: dict[str, Article], api: httpx.AsyncClient
) -> None:
    reply = await api.get("/v1/feed", params={"q": "missile", "format": "json", "size": 2})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/feed+json; charset=utf-8"
    document = orjson.loads(reply.content)
    assert json_feed_problems(document) == []
    assert document["feed_url"] == "http://api/v1/feed?q=missile&format=json&size=2"
    assert [item["id"] for item in document["items"]] == [stories["oil"].id, stories["geneva"].id]
    oil = document["items"][0]
    assert oil["date_modified"] == "2020-01-20T08:00:00Z"
    assert oil["title"] == stories["oil"].title
    assert oil["url"] == f"http://api/?article={stories['oil'].id}"


def json_feed_problems(document: Any) -> list[str]:
    """What breaks JSON Feed 1.1's rules (https://jsonfeed.org/version/1.1) in ``document``."""
    problems = []
    if not isinstance(document, dict) or document.get("version") != JSON_FEED_VERSION:
        return ["not a JSON Feed 1.1 document (version)"]
    if not isinstance(document.get("title"), str):
        problems.append("the feed has no title")
    for key in ("home_page_url", "feed_url"):
        if key in document and not str(document[key]).startswith(("http://", "https://")):
            problems.append(f"{key} is not a URL")
    for author in document.get("authors", []):
        if not isinstance(author, dict) or not {"name", "url", "avatar"} & set(author):
            problems.append("an author has none of name, url, avatar")
    items = document.get("items")
    if not isinstance(items, list):
        return [*problems, "items is not an array"]
    ids = [item.get("id") for item in items]
    if len(set(map(str, ids))) != len(ids):
        problems.append("item ids repeat")
    for item in items:
        problems += _item_problems(item)
    return problems


def _item_problems(item: dict[str, Any]) -> list[str]:
    problems = []
    if not isinstance(item.get("id"), str) or not item["id"]:
        problems.append(f"an item's id is not a non-empty string: {item.get('id')!r}")
    if not isinstance(item.get("content_html"), str) and not isinstance(
        item.get("content_text"), str
    ):
        problems.append(f"item {item.get('id')} has neither content_html nor content_text")
    for key in ("date_published", "date_modified"):
        if key in item and not RFC3339.fullmatch(str(item[key])):
            problems.append(f"item {item.get('id')}: {key} is not RFC 3339")
    if "tags" in item and not all(isinstance(t, str) for t in item["tags"]):
        problems.append(f"item {item.get('id')}: tags are not strings")
    return problems


async def test_a_conditional_get_answers_304_until_the_feed_changes(
    stories: dict[str, Article], settings: Settings, api: httpx.AsyncClient
) -> None:
    first = await api.get("/v1/feed", params={"q": "missile"})
    tag, modified = first.headers["etag"], first.headers["last-modified"]
    assert parsedate_to_datetime(modified) == datetime(2020, 1, 20, 8, 0, tzinfo=UTC)
    assert "max-age" in first.headers["cache-control"]
    again = await api.get("/v1/feed", params={"q": "missile"}, headers={"if-none-match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    since = await api.get(
        "/v1/feed", params={"q": "missile"}, headers={"if-modified-since": modified}
    )
    assert since.status_code == 304
    # The JSON Feed of the same search is another representation: another validator.
    other = await api.get("/v1/feed", params={"q": "missile", "format": "json"})
    assert other.headers["etag"] != tag

    newer = _story("world", "2020-03-01", "A missile defence deal was signed.")
    await index_corpus(settings, [newer])
    changed = await api.get("/v1/feed", params={"q": "missile"}, headers={"if-none-match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag
    assert atom_ids(feedparser.parse(changed.content))[0] == newer.id


# (search and feed parameters) pairs: the same words and filters through both endpoints.
SELECTIONS: list[dict[str, Any]] = [
    {"q": "missile"},
    {"q": "missile", "category": ["world"]},
    {"q": "missile", "from": "2020-01-09", "to": "2020-01-15"},
    {"q": "missile", "has_tweets": "true"},
    {"q": "strikes", "search_in": "title"},
    {"q": "missile -oil"},
    {"handle": "realDonaldTrump"},
    {},
]


@pytest.mark.parametrize("selection", SELECTIONS, ids=lambda s: orjson.dumps(s).decode())
async def test_the_feed_holds_what_search_finds_as_typed(
    stories: dict[str, Article], api: httpx.AsyncClient, selection: dict[str, Any]
) -> None:
    reply = await api.get("/v1/search", params={**selection, "size": 100})
    found = reply.json()
    assert found["matched"] in (None, "all")
    assert not found["typo_tolerant"]
    searched = {item["id"] for item in found["items"]}
    assert searched  # each selection finds something: the comparison means something
    assert set(atom_ids(await atom(api, **selection, size=100))) == searched


async def test_a_feed_never_relaxes_the_words_or_forgives_typos(
    stories: dict[str, Article], api: httpx.AsyncClient
) -> None:
    for q in ("missle strikes", "missile zebrafish"):
        forgiving = (await api.get("/v1/search", params={"q": q})).json()
        assert forgiving["items"], q  # search climbs its ladder ...
        assert (await atom(api, q=q)).entries == []  # ... a standing query does not


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"q": '"unterminated'}, 400, "unterminated_phrase"),
        ({"q": "x", "search_in": "nowhere"}, 400, "invalid_search_in"),
        ({"q": "x", "format": "rss"}, 422, "invalid_request"),
        ({"q": "x", "size": 101}, 422, "invalid_request"),
        ({"q": "x", "from": "yesterday"}, 422, "invalid_request"),
    ],
)
async def test_bad_parameters_are_the_problems_search_answers(
    settings: Settings, api: httpx.AsyncClient, params: dict[str, Any], status: int, code: str
) -> None:
    await index_corpus(settings, [])
    reply = await api.get("/v1/feed", params=params)
    assert reply.status_code == status
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json()["code"] == code
    if "format" not in params:  # search has no format parameter (it ignores one)
        searched = await api.get("/v1/search", params=params)
        assert (searched.status_code, searched.json()["code"]) == (status, code)


# ---- kills and embargoes, through the real ingest and indexer ----------------------------

KEY = "test-feed-key"


def ninjs(uri: str, headline: str, **fields: Any) -> bytes:
    """A ninjs 2.x text item about a flood."""
    return orjson.dumps(
        {
            "uri": uri,
            "type": "text",
            "versioncreated": "2026-12-01T10:00:00Z",
            "language": "en",
            "headlines": [{"role": "main", "value": headline}],
            "bodies": [
                {
                    "role": "main",
                    "contenttype": "text/plain",
                    "value": f"{headline}: the river flooded.\n\nMore to follow.",
                }
            ],
            **fields,
        }
    )


@pytest.fixture
async def newsroom(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    """The ingest app (keyed) with the indexer running behind it."""
    keyed = settings.model_copy(update={"api_key": SecretStr(KEY)})
    async with running_indexer(keyed), asgi_client(create_ingest(keyed), "http://ingest") as ingest:
        ingest.headers["authorization"] = f"Bearer {KEY}"
        yield ingest, keyed


async def test_killed_withheld_and_embargoed_articles_stay_out_of_the_feed(
    newsroom: tuple[httpx.AsyncClient, Settings],
) -> None:
    ingest, settings = newsroom

    async def post(uri: str, headline: str, **fields: Any) -> str:
        reply = await ingest.post(
            "/v1/articles",
            content=ninjs(uri, headline, **fields),
            headers={"content-type": NINJS_MEDIA_TYPE},
        )
        assert reply.status_code == 202, reply.text
        return str(reply.json()["id"])

    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    shown = await post("urn:newswire:test:shown", "Flood in the valley")
    killed = await post("urn:newswire:test:killed", "Flood in the town")
    held = await post("urn:newswire:test:held", "Flood in the hills")
    embargoed = await post("urn:newswire:test:embargoed", "Flood report", embargoed=later)
    later_version = {"versioncreated": "2026-12-01T11:00:00Z"}
    await post(
        "urn:newswire:test:killed", "Flood in the town", pubstatus="canceled", **later_version
    )
    await post(
        "urn:newswire:test:held", "Flood in the hills", pubstatus="withheld", **later_version
    )
    async with es_client(settings) as es:

        async def settled() -> bool:
            try:
                docs = [
                    (await es.get(index=settings.index_alias, id=i))["_source"]
                    for i in (shown, killed, held, embargoed)
                ]
            except NotFoundError:
                return False
            await es.indices.refresh(index=settings.index_alias)
            return bool(docs[1].get("status") == "canceled" and docs[2].get("status") == "withheld")

        await wait_until(settled, 30, "the four articles, the kill and the hold indexed")
    async with asgi_client(create_api(settings), "http://api") as api:
        assert atom_ids(await atom(api, q="flood")) == [shown]
        assert atom_ids(await atom(api)) == [shown]  # no words: every visible article
        items = orjson.loads((await api.get("/v1/feed", params={"format": "json"})).content)
        assert [item["id"] for item in items["items"]] == [shown]
