"""The query API against the live stack: articles, related, trends, health, errors, metrics."""

from __future__ import annotations

import httpx
import pytest

from services.api.app import create_app
from services.bench.procs import free_port
from services.common.article import Article
from services.common.settings import Settings
from tests.integration.pipeline_helpers import asgi_client

pytestmark = pytest.mark.integration


async def test_article_lookup_and_404(api: httpx.AsyncClient, indexed: list[Article]) -> None:
    reply = await api.get(f"/v1/articles/{indexed[0].id}")
    assert reply.status_code == 200
    assert reply.json()["body"] == indexed[0].body
    assert reply.json()["tweets"][0]["handle"] == "realDonaldTrump"
    missing = await api.get("/v1/articles/0000000000000000")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    # A malformed id names no article either: the same 404 problem, never a 422.
    for malformed in ("not-an-id", "14D38489E204FF07", "0" * 17, "%20", "a" * 3000):
        for path in (f"/v1/articles/{malformed}", f"/v1/articles/{malformed}/related"):
            invalid = await api.get(path)
            assert invalid.status_code == 404, (path, invalid.text)
            assert invalid.headers["content-type"] == "application/problem+json"
            assert invalid.json()["code"] == "not_found"


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


async def test_health_endpoints(api: httpx.AsyncClient) -> None:
    assert (await api.get("/livez")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text


async def test_unknown_paths_are_problems(api: httpx.AsyncClient) -> None:
    reply = await api.get("/v1/nope")
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == "not_found"


async def test_metrics_use_route_templates(api: httpx.AsyncClient, indexed: list[Article]) -> None:
    await api.get(f"/v1/articles/{indexed[0].id}")
    await api.get("/v1/articles/0000000000000000")
    text = (await api.get("/metrics")).text
    template = 'route="/v1/articles/{article_id}"'
    assert f'newswire_api_requests_total{{method="GET",{template},status="200"}}' in text
    assert f'newswire_api_requests_total{{method="GET",{template},status="404"}}' in text
    assert f'newswire_api_request_duration_seconds_count{{method="GET",{template}}}' in text
    assert indexed[0].id not in text


async def test_cors_allows_the_configured_origins(settings: Settings) -> None:
    allowed = settings.model_copy(update={"cors_origins": ["https://news.example"]})
    async with asgi_client(create_app(allowed), "http://api") as client:
        ok = await client.get("/livez", headers={"Origin": "https://news.example"})
        other = await client.get("/livez", headers={"Origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "https://news.example"
    assert "access-control-allow-origin" not in other.headers


async def test_openapi_documents_examples_and_problems(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    search = spec["paths"]["/v1/search"]["get"]
    assert {"400", "422", "503"} <= set(search["responses"])
    assert "application/problem+json" in search["responses"]["400"]["content"]
    assert spec["components"]["schemas"]["SearchResponse"]["examples"]
    assert "/" not in spec["paths"]
    for path in ("/v1/articles/{article_id}", "/v1/articles/{article_id}/related"):
        # No pattern on the id: a malformed one is documented as the 404 it gets.
        (param,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["in"] == "path"]
        assert "pattern" not in param["schema"]
        assert "404" in spec["paths"][path]["get"]["responses"]
    assert "504" in spec["paths"]["/v1/trends"]["get"]["responses"]
    letters = spec["paths"]["/v1/pipeline/dead-letters"]["get"]
    assert "401" in letters["responses"]
    assert letters["security"] == [{"HTTPBearer": []}]
    assert (await api.get("/docs")).status_code == 200
