"""GET /v1/search against a corpus indexed on the live Elasticsearch."""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any

import httpx
import orjson
import pytest

from services.common.article import Article
from services.common.settings import Settings
from tests.factories import make_article, make_articles
from tests.integration.api_fixtures import corpus, index_corpus

pytestmark = pytest.mark.integration


async def search(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    """A search that must succeed."""
    reply = await api.get("/v1/search", params={"size": 100, **params})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    body: dict[str, Any] = reply.json()
    return body


async def ids(api: httpx.AsyncClient, **params: Any) -> set[str]:
    """The ids a search returns (one page of up to 100)."""
    return {item["id"] for item in (await search(api, **params))["items"]}


async def test_a_distinctive_phrase_finds_its_article_first(
    api: httpx.AsyncClient, indexed: list[Article]
) -> None:
    body = await search(api, q='"ballistic missiles"')
    assert body["items"][0]["id"] == indexed[0].id
    assert body["total"] == {"value": 1, "exact": True}
    first = body["items"][0]
    assert "<mark>ballistic missiles</mark>" in first["snippet"]
    assert "<mark>ballistic missiles</mark>" in first["title_html"]
    assert first["has_tweets"] is True
    assert first["score"] > 0
    assert set(first) >= {"id", "title", "category", "published_date", "updated_at", "snippet"}


async def test_boolean_syntax(api: httpx.AsyncClient, indexed: list[Article]) -> None:
    missile = {indexed[0].id, indexed[1].id, indexed[3].id}
    assert await ids(api, q="missile*") == missile
    assert await ids(api, q="missile* -oil") == missile - {indexed[3].id}
    assert await ids(api, q="missile* NOT oil") == missile - {indexed[3].id}
    assert await ids(api, q="+missile* +iraq") == {indexed[0].id, indexed[1].id}
    assert await ids(api, q="cricket OR marathon") == {indexed[5].id, indexed[6].id}
    assert await ids(api, q="(cricket OR marathon) AND rain") == {indexed[6].id}
    assert await ids(api, q="cricket OR marathon rain") == {indexed[5].id, indexed[6].id}
    assert await ids(api, q="satellite NOT monsoon") == set()
    assert await ids(api, q='"missiles ballistic"') == set()  # a phrase keeps its order


async def test_stop_words_neither_empty_nor_widen_a_search(
    api: httpx.AsyncClient, indexed: list[Article]
) -> None:
    assert await ids(api, q="the missile*") == await ids(api, q="missile*")
    assert await ids(api, q="missile* -the") == await ids(api, q="missile*")
    assert await ids(api, q="oil and markets") == {indexed[3].id}


async def test_search_in_chooses_the_fields(api: httpx.AsyncClient, indexed: list[Article]) -> None:
    # "follows" is only in each body's second paragraph, never in a title or summary.
    assert await ids(api, q="follows", search_in="body") == {a.id for a in indexed}
    assert await ids(api, q="follows", search_in="title,summary") == set()
    assert await ids(api, q="satellite", search_in="title") == {indexed[7].id}


async def test_every_filter_narrows(api: httpx.AsyncClient, indexed: list[Article]) -> None:
    assert await ids(api) == {a.id for a in indexed}
    assert await ids(api, category="sports") == {a.id for a in indexed if a.category == "sports"}
    assert await ids(api, category=["sports", "health"]) == {
        a.id for a in indexed if a.category in ("sports", "health")
    }
    assert await ids(api, category="science and tech") == {indexed[7].id, indexed[8].id}
    assert await ids(api, **{"from": "2022-01-01"}) == {
        a.id for a in indexed if a.published_date.isoformat() >= "2022-01-01"
    }
    assert await ids(api, to="2020-01-09") == {indexed[0].id, indexed[1].id}
    assert await ids(api, **{"from": "2020-01-09", "to": "2020-01-10"}) == {
        indexed[1].id,
        indexed[3].id,
    }
    assert await ids(api, handle="@ISRO") == {indexed[7].id}
    assert await ids(api, handle=["isro", "reuters"]) == {indexed[7].id, indexed[3].id}
    assert await ids(api, has_tweets="true") == {a.id for a in indexed if a.tweets}
    assert await ids(api, has_tweets="false") == {a.id for a in indexed if not a.tweets}
    assert await ids(api, q="missile*", category="business") == {indexed[3].id}


def facet(body: dict[str, Any], name: str) -> dict[str, int]:
    """A facet of a reply as {value: count}."""
    key = "date" if name == "published" else "value"
    return {b[key]: b["count"] for b in body["facets"][name]}


async def test_facet_counts_are_right_and_disjunctive(
    api: httpx.AsyncClient, indexed: list[Article]
) -> None:
    facets = ["category", "published", "handle"]
    body = await search(api, category="world", facet=facets, interval="year")
    # The category facet ignores the category selection itself; the others apply it.
    assert facet(body, "category") == dict(Counter(a.category for a in indexed))
    world = [a for a in indexed if a.category == "world"]
    assert facet(body, "published") == {
        f"{y}-01-01": n for y, n in Counter(a.published_date.year for a in world).items()
    }
    assert facet(body, "handle") == dict(Counter(t.handle.lower() for a in world for t in a.tweets))
    assert body["total"]["value"] == len(world)

    body = await search(api, handle="isro", facet=facets, interval="month")
    assert facet(body, "handle") == dict(
        Counter(t.handle.lower() for a in indexed for t in a.tweets)
    )
    assert facet(body, "category") == {"science and tech": 1}
    assert facet(body, "published") == {"2022-09-01": 1}

    body = await search(api, q="missile*", category="business", facet=facets, interval="day")
    missile = [indexed[0], indexed[1], indexed[3]]
    assert facet(body, "category") == dict(Counter(a.category for a in missile))
    assert facet(body, "published") == {"2020-01-10": 1}
    assert facet(body, "handle") == {"reuters": 1}

    assert len((await search(api, facet="category", facet_size=2))["facets"]["category"]) == 2


async def test_sorts(api: httpx.AsyncClient, indexed: list[Article]) -> None:
    newest = [i["published_date"] for i in (await search(api, sort="newest"))["items"]]
    assert newest == sorted((a.published_date.isoformat() for a in indexed), reverse=True)
    oldest = [i["published_date"] for i in (await search(api, sort="oldest"))["items"]]
    assert oldest == sorted(a.published_date.isoformat() for a in indexed)
    ranked = (await search(api, q="satellite OR monsoon OR rainfall"))["items"]
    assert ranked[0]["id"] == indexed[7].id
    assert [i["score"] for i in ranked] == sorted((i["score"] for i in ranked), reverse=True)


async def test_cursor_paging_returns_every_match_exactly_once(
    settings: Settings, api: httpx.AsyncClient
) -> None:
    # Many articles on one day: the order rests on the id tiebreak.
    articles = corpus() + make_articles(25, date="2020-01-08", updated=None)
    await index_corpus(settings, articles)
    for sort in ("newest", "oldest", "relevance"):
        seen: list[str] = []
        cursor = None
        for _ in range(20):
            params = {"size": 4, "sort": sort, "q": "-nothingmatchesthis"}
            body = await search(api, **params, **({"cursor": cursor} if cursor else {}))
            seen += [item["id"] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == len(articles), sort
        assert set(seen) == {a.id for a in articles}
    # Offset paging sees the same order.
    pages = [await search(api, sort="newest", size=7, page=n) for n in range(1, 6)]
    by_offset = [item["id"] for page in pages for item in page["items"]]
    assert len(by_offset) == len(set(by_offset)) == len(articles)


async def test_snippets_are_escaped_html(settings: Settings, api: httpx.AsyncClient) -> None:
    tricky = make_article(lede="Markup like <script>alert(1)</script> & friends stays text.")
    await index_corpus(settings, [tricky])
    item = (await search(api, q="script"))["items"][0]
    assert "<script>" not in item["snippet"]
    assert "<script>" not in item["title_html"]
    assert "&lt;<mark>script</mark>&gt;" in item["snippet"]


def forged(sort_values: list[Any], fingerprint: str) -> str:
    """A cursor with chosen content."""
    raw = orjson.dumps({"a": sort_values, "f": fingerprint})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_bad_cursor_and_bad_query_are_400_problems(
    api: httpx.AsyncClient, indexed: list[Article]
) -> None:
    first = await search(api, size=2, q="story")
    real = orjson.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=="))
    for params, code in [
        ({"q": '"unterminated'}, "unterminated_phrase"),
        ({"q": "(a"}, "unbalanced_parentheses"),
        ({"q": "a OR"}, "dangling_operator"),
        ({"q": "x" * 501}, "query_too_long"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"cursor": "e30"}, "invalid_cursor"),  # {}
        ({"cursor": first["next_cursor"], "q": "other"}, "invalid_cursor"),
        ({"cursor": forged(["x", 1], real["f"]), "q": "story"}, "invalid_cursor"),
        ({"cursor": forged([1.0], real["f"]), "q": "story"}, "invalid_cursor"),
        ({"search_in": "title,nope"}, "invalid_search_in"),
        ({"page": 200, "size": 100}, "page_too_deep"),
    ]:
        reply = await api.get("/v1/search", params=params)
        assert reply.status_code == 400, (params, reply.text)
        assert reply.headers["content-type"] == "application/problem+json"
        problem = reply.json()
        assert problem["code"] == code
        assert problem["status"] == 400
        assert problem["instance"] == "/v1/search"
        assert problem["type"].endswith(code)
    # Out-of-range parameters are 422 problems.
    for params in ({"size": 0}, {"size": 101}, {"facet": "nope"}, {"sort": "random"}):
        reply = await api.get("/v1/search", params=params)
        assert reply.status_code == 422, (params, reply.text)
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.json()["code"] == "invalid_request"
