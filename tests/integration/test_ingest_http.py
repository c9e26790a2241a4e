"""POST /v1/articles on the live Kafka: 202 once stored, else problem+json and a dead letter."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from services.common.dlq import H_CODE, decode_headers
from services.common.settings import Settings
from services.ingest.app import create_app
from tests.factories import REFERENCE_SEED, seed_text
from tests.integration.pipeline_helpers import asgi_client, read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(settings), "http://ingest") as http:
        yield http


async def test_seed_text_is_accepted_and_published(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    reply = await client.post(
        "/v1/articles",
        content=REFERENCE_SEED.read_bytes(),
        headers={"content-type": "text/plain; charset=utf-8", "x-trace-id": "trace-1"},
    )
    assert reply.status_code == 202
    body = reply.json()
    [record] = await read_topic(settings, settings.topic_articles, 1)
    assert record.key == body["id"].encode()
    assert json.loads(record.value)["category"] == "world"
    assert dict(record.headers)["trace-id"] == b"trace-1"


async def test_json_article_is_accepted(client: httpx.AsyncClient) -> None:
    minimal = {"category": "Science", "published_date": "2024-02-02", "body": "A lede.\n\nMore."}
    reply = await client.post("/v1/articles", json=minimal)
    assert reply.status_code == 202
    assert len(reply.json()["id"]) == 16


async def test_a_malformed_article_is_422_problem_and_dead_lettered(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    bad = b"dte 2020-01-01 world\n\nNo proper header."
    reply = await client.post("/v1/articles", content=bad, headers={"content-type": "text/plain"})
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == "malformed_header"
    [dead] = await read_topic(settings, settings.topic_dlq, 1)
    assert dead.value == bad
    assert decode_headers(dead.headers)[H_CODE] == "malformed_header"


@pytest.mark.parametrize(
    ("content", "media", "status", "code"),
    [
        (b"\xff\xfe\xfa not utf-8", "text/plain", 400, "undecodable"),
        (b"{not json", "application/json", 400, "invalid_json"),
        (b"date 2020-01-01 world\n\nfine", "application/xml", 415, "unsupported_media_type"),
    ],
)
async def test_bad_requests_are_problems(
    client: httpx.AsyncClient, content: bytes, media: str, status: int, code: str
) -> None:
    reply = await client.post("/v1/articles", content=content, headers={"content-type": media})
    assert reply.status_code == status
    assert reply.json()["code"] == code


async def test_an_oversized_article_is_413(client: httpx.AsyncClient, settings: Settings) -> None:
    big = seed_text(paragraphs=["x " * (settings.max_article_bytes // 2 + 10)]).encode()
    reply = await client.post("/v1/articles", content=big, headers={"content-type": "text/plain"})
    assert reply.status_code == 413
    assert reply.json()["code"] == "too_large"


async def test_the_api_key_is_enforced_when_set(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"api_key": SecretStr("s3cret")}))
    async with asgi_client(app, "http://ingest") as http:
        body = seed_text().encode()
        denied = await http.post(
            "/v1/articles", content=body, headers={"content-type": "text/plain"}
        )
        wrong = await http.post(
            "/v1/articles",
            content=body,
            headers={"content-type": "text/plain", "authorization": "Bearer nope"},
        )
        allowed = await http.post(
            "/v1/articles",
            content=body,
            headers={"content-type": "text/plain", "authorization": "Bearer s3cret"},
        )
    assert denied.status_code == wrong.status_code == 401
    assert denied.json()["code"] == "unauthorized"
    assert allowed.status_code == 202
