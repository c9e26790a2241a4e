"""The query API under heavy queries on the live stack: timeouts, a tripped breaker, no ES."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.api.app import create_app
from services.bench.procs import free_port
from services.common.article import Article
from services.common.es import es_client
from services.common.settings import Settings
from tests.integration.pipeline_helpers import asgi_client

pytestmark = pytest.mark.integration

REQUESTS = [
    ("/v1/search", {"q": "missile", "facet": "category"}),
    ("/v1/trends", {"from": "2020-01-01", "to": "2020-12-31"}),
]


@pytest.fixture
async def request_breaker(settings: Settings) -> AsyncIterator[None]:
    """Elasticsearch's request circuit breaker set far too low, restored afterwards."""
    async with es_client(settings) as es:
        # Transient and this session's own node: nothing outlives the test.
        await es.cluster.put_settings(transient={"indices.breaker.request.limit": "1kb"})
        try:
            yield
        finally:
            await es.cluster.put_settings(transient={"indices.breaker.request.limit": None})


@pytest.mark.parametrize(("path", "params"), REQUESTS)
async def test_a_search_over_the_timeout_is_504_search_timeout(
    settings: Settings, indexed: list[Article], path: str, params: dict[str, str]
) -> None:
    # One millisecond: no search with aggregations comes back that fast, so every one times out.
    hurried = settings.model_copy(update={"search_timeout_s": 0.001})
    async with asgi_client(create_app(hurried), "http://api") as client:
        reply = await client.get(path, params=params)
    assert reply.status_code == 504, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == "search_timeout"
    assert "cannot be reached" not in reply.json()["detail"]


@pytest.mark.parametrize(("path", "params"), REQUESTS)
async def test_a_tripped_circuit_breaker_is_503_search_busy_with_retry_after(
    api: httpx.AsyncClient,
    indexed: list[Article],
    request_breaker: None,
    path: str,
    params: dict[str, str],
) -> None:
    reply = await api.get(path, params=params)
    assert reply.status_code == 503, reply.text
    problem = reply.json()
    assert problem["code"] == "search_busy"
    assert "circuit_breaking_exception" in problem["detail"]
    assert "cannot be reached" not in problem["detail"]
    assert int(reply.headers["Retry-After"]) > 0


async def test_a_closed_port_is_503_search_unavailable(settings: Settings) -> None:
    closed = settings.model_copy(update={"es_url": f"http://127.0.0.1:{free_port()}"})
    async with asgi_client(create_app(closed), "http://api") as client:
        replies = [await client.get(path, params=params) for path, params in REQUESTS]
        replies.append(await client.get("/v1/articles/0000000000000000"))
    for reply in replies:
        assert reply.status_code == 503, reply.text
        assert reply.json()["code"] == "search_unavailable"
        assert reply.json()["detail"] == "Elasticsearch cannot be reached"
        assert reply.headers["Retry-After"]


async def test_trends_beyond_the_concurrency_limit_are_503_search_busy(
    settings: Settings, indexed: list[Article]
) -> None:
    app = create_app(settings.model_copy(update={"trends_concurrency": 1}))
    window = {"from": "2020-01-01", "to": "2020-12-31"}
    async with asgi_client(app, "http://api") as client:
        # The one place is held, as by a trends request still running.
        async with app.state.trends_gate.enter():
            busy = await client.get("/v1/trends", params=window)
            search = await client.get("/v1/search", params={"q": "missile"})
        after = await client.get("/v1/trends", params=window)
    assert busy.status_code == 503, busy.text
    assert busy.json()["code"] == "search_busy"
    assert int(busy.headers["Retry-After"]) > 0
    assert search.status_code == 200  # searches are not rationed with trends
    assert after.status_code == 200, after.text
    assert after.json()["terms"]
