"""The query API against a corpus indexed on the live Elasticsearch."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from services.api.app import create_app
from services.bench.procs import free_port
from services.common.article import Article
from services.common.settings import Settings
from tests.integration.pipeline_helpers import asgi_client

pytestmark = pytest.mark.integration


async def test_a_distinctive_phrase_finds_its_article_first(
    api: httpx.AsyncClient, indexed: list[Article]
) -> None:
    reply = await api.get("/v1/search", params={"q": '"ballistic missiles"'})
    assert reply.status_code == 200
    body = reply.json()
    assert body["items"][0]["id"] == indexed[0].id
    assert body["total"] == {"value": 1, "exact": True}
    assert "<mark>ballistic missiles</mark>" in body["items"][0]["snippet"]


async def test_boolean_syntax(api: httpx.AsyncClient, indexed: list[Article]) -> None:
    async def ids(q: str) -> set[str]:
        reply = await api.get("/v1/search", params={"q": q, "size": 100})
        assert reply.status_code == 200, reply.text
        return {item["id"] for item in reply.json()["items"]}

    missile = {indexed[0].id, indexed[1].id, indexed[3].id}
    assert await ids("missile*") == missile
    assert await ids("missile* -oil") == missile - {indexed[3].id}
    assert await ids("cricket OR marathon") == {indexed[5].id, indexed[6].id}
    assert await ids("(cricket OR marathon) AND rain") == {indexed[6].id}
    assert await ids("satellite NOT monsoon") == set()


async def test_every_filter_narrows(api: httpx.AsyncClient, indexed: list[Article]) -> None:
    async def ids(**params: object) -> set[str]:
        reply = await api.get("/v1/search", params={"size": 100, **params})
        assert reply.status_code == 200, reply.text
        return {item["id"] for item in reply.json()["items"]}

    everything = {a.id for a in indexed}
    assert await ids() == everything
    assert await ids(category="sports") == {a.id for a in indexed if a.category == "sports"}
    assert await ids(category=["sports", "health"]) == {
        a.id for a in indexed if a.category in ("sports", "health")
    }
    assert await ids(**{"from": "2022-01-01"}) == {
        a.id for a in indexed if a.published_date.isoformat() >= "2022-01-01"
    }
    assert await ids(to="2020-01-31") == {
        a.id for a in indexed if a.published_date.isoformat() <= "2020-01-31"
    }
    assert await ids(handle="@ISRO") == {indexed[7].id}
    assert await ids(has_tweets="true") == {a.id for a in indexed if a.tweets}
    assert await ids(has_tweets="false") == {a.id for a in indexed if not a.tweets}
    assert await ids(q="missiles", search_in="title") <= everything


async def test_facet_counts_are_right_and_disjunctive(
    api: httpx.AsyncClient, indexed: list[Article]
) -> None:
    reply = await api.get(
        "/v1/search",
        params={
            "category": "world",
            "facet": ["category", "published", "handle"],
            "interval": "year",
        },
    )
    body = reply.json()
    everyone = Counter(a.category for a in indexed)
    # Disjunctive: the category facet ignores the category selection itself.
    assert {b["value"]: b["count"] for b in body["facets"]["category"]} == dict(everyone)
    years = Counter(a.published_date.year for a in indexed if a.category == "world")
    assert {b["date"][:4]: b["count"] for b in body["facets"]["published"]} == {
        str(y): n for y, n in years.items()
    }
    handles = Counter(t.handle.lower() for a in indexed if a.category == "world" for t in a.tweets)
    assert {b["value"]: b["count"] for b in body["facets"]["handle"]} == dict(handles)
    assert body["total"]["value"] == everyone["world"]


async def test_cursor_paging_returns_every_match_exactly_once(
    api: httpx.AsyncClient, indexed: list[Article]
) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"size": 3, "sort": "newest", **({"cursor": cursor} if cursor else {})}
        body = (await api.get("/v1/search", params=params)).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(a.id for a in indexed)
    dates = [
        a.published_date for a in sorted(indexed, key=lambda a: a.published_date, reverse=True)
    ]
    assert [next(a.published_date for a in indexed if a.id == i) for i in seen] == dates


async def test_bad_cursor_and_bad_query_are_400_problems(
    api: httpx.AsyncClient, indexed: list[Article]
) -> None:
    for params, code in [
        ({"q": '"unterminated'}, "unterminated_phrase"),
        ({"q": "(a"}, "unbalanced_parentheses"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"search_in": "title,nope"}, "invalid_search_in"),
        ({"page": 200, "size": 100}, "page_too_deep"),
    ]:
        reply = await api.get("/v1/search", params=params)
        assert reply.status_code == 400, (params, reply.text)
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.json()["code"] == code
    # A cursor from one search is refused by another.
    first = (await api.get("/v1/search", params={"size": 2, "q": "story"})).json()
    reply = await api.get("/v1/search", params={"cursor": first["next_cursor"], "q": "other"})
    assert reply.json()["code"] == "invalid_cursor"


async def test_article_lookup_and_404(api: httpx.AsyncClient, indexed: list[Article]) -> None:
    reply = await api.get(f"/v1/articles/{indexed[0].id}")
    assert reply.status_code == 200
    assert reply.json()["body"] == indexed[0].body
    assert reply.json()["tweets"][0]["handle"] == "realDonaldTrump"
    missing = await api.get("/v1/articles/0000000000000000")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    invalid = await api.get("/v1/articles/not-an-id")
    assert invalid.status_code == 422


async def test_related_excludes_itself_and_favours_the_topic(
    api: httpx.AsyncClient, indexed: list[Article]
) -> None:
    reply = await api.get(f"/v1/articles/{indexed[0].id}/related", params={"size": 3})
    items = reply.json()["items"]
    assert indexed[0].id not in {i["id"] for i in items}
    assert items[0]["id"] in {indexed[1].id, indexed[3].id}  # the other missile stories


async def test_trends_surface_the_words_of_the_window(
    api: httpx.AsyncClient, indexed: list[Article]
) -> None:
    reply = await api.get("/v1/trends", params={"from": "2020-01-01", "to": "2020-01-31"})
    assert reply.status_code == 200
    terms = {t["term"] for t in reply.json()["terms"]}
    assert "missile" in terms or "strikes" in terms or "iraq" in terms, terms


async def test_elasticsearch_down_is_503(settings: Settings) -> None:
    broken = settings.model_copy(update={"es_url": f"http://127.0.0.1:{free_port()}"})
    async with asgi_client(create_app(broken), "http://api") as client:
        search = await client.get("/v1/search", params={"q": "x"})
        ready = await client.get("/readyz")
    assert search.status_code == ready.status_code == 503
    assert search.json()["code"] == "search_unavailable"
    assert "Traceback" not in search.text
