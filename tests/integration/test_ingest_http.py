"""POST /v1/articles on the live Kafka: 202 once stored, else problem+json and a dead letter."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from services.bench.procs import child_env
from services.common.dlq import (
    H_CODE,
    H_SIZE_DECLARED,
    H_SIZE_RECEIVED,
    decode_headers,
)
from services.common.errors import ConfigError
from services.common.settings import Settings
from services.ingest.app import create_app
from tests.factories import REFERENCE_SEED, seed_text
from tests.integration.pipeline_helpers import asgi_client, read_topic

pytestmark = pytest.mark.integration

KEY = "test-ingest-key"
AUTH = {"authorization": f"Bearer {KEY}"}


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    """The test's settings with the API key every real ingest must be started with."""
    return settings.model_copy(update={"api_key": SecretStr(KEY)})


@pytest.fixture
async def client(keyed: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(keyed), "http://ingest") as http:
        http.headers.update(AUTH)
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


async def test_the_api_key_is_enforced(settings: Settings) -> None:
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
    assert denied.headers["www-authenticate"].startswith("Bearer")
    assert wrong.headers["www-authenticate"].startswith("Bearer")
    assert allowed.status_code == 202


@pytest.mark.parametrize("key", [None, "", "   "])
async def test_the_app_will_not_start_without_a_key(settings: Settings, key: str | None) -> None:
    unkeyed = settings.model_copy(update={"api_key": None if key is None else SecretStr(key)})
    app = create_app(unkeyed)
    with pytest.raises(ConfigError, match=r"NEWSWIRE_API_KEY is (empty|not set)"):
        async with asgi_client(app, "http://ingest"):
            pass


@pytest.mark.parametrize(("key", "state"), [(None, "not set"), ("", "empty")])
def test_the_service_refuses_to_start_without_a_key(
    settings: Settings, tmp_path: Path, key: str | None, state: str
) -> None:
    unkeyed = settings.model_copy(
        update={"api_key": None if key is None else SecretStr(key), "state_dir": tmp_path}
    )
    env = child_env(unkeyed)
    env["NEWSWIRE_LOG_LEVEL"] = "INFO"
    done = subprocess.run(
        [sys.executable, "-m", "services.ingest"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    output = (done.stdout + done.stderr).decode()
    assert done.returncode == 2, output
    assert f"NEWSWIRE_API_KEY is {state}" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("trace_id", ["has space", "x" * 65, "semi;colon", "a/b"])
async def test_a_bad_trace_id_is_400_invalid_trace_id(
    client: httpx.AsyncClient, trace_id: str
) -> None:
    reply = await client.post(
        "/v1/articles",
        content=seed_text().encode(),
        headers={"content-type": "text/plain", "x-trace-id": trace_id},
    )
    assert reply.status_code == 400
    assert reply.json()["code"] == "invalid_trace_id"


async def test_a_good_trace_id_is_kept(client: httpx.AsyncClient) -> None:
    reply = await client.post(
        "/v1/articles",
        content=seed_text().encode(),
        headers={"content-type": "text/plain", "x-trace-id": "Ab-1.2_3"},
    )
    assert reply.status_code == 202
    assert reply.json()["trace_id"] == "Ab-1.2_3"


async def test_no_body_is_400_and_no_dead_letter(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    for _ in range(3):
        reply = await client.post("/v1/articles", headers={"content-type": "text/plain"})
        assert reply.status_code == 400
        assert reply.json()["code"] == "missing_body"
    marker = b"no header at all"
    bad = await client.post("/v1/articles", content=marker, headers={"content-type": "text/plain"})
    assert bad.status_code == 422
    # Only the malformed article is there: the three empty requests left nothing behind.
    records = await read_topic(settings, settings.topic_dlq, 4, timeout=5)
    assert [r.value for r in records] == [marker]


async def test_an_oversized_upload_dead_letters_what_arrived_with_both_sizes(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    limit = settings.max_article_bytes
    big = seed_text(paragraphs=["word " * (limit // 5 + 2000)]).encode()
    assert len(big) > limit
    reply = await client.post("/v1/articles", content=big, headers={"content-type": "text/plain"})
    assert reply.status_code == 413
    assert reply.json()["code"] == "too_large"
    [dead] = await read_topic(settings, settings.topic_dlq, 1)
    assert dead.value == big[:limit]  # the received prefix, not a made-up body
    headers = decode_headers(dead.headers)
    assert headers[H_CODE] == "too_large"
    assert headers[H_SIZE_DECLARED] == str(len(big))
    assert limit < int(headers[H_SIZE_RECEIVED]) <= len(big)


async def test_an_article_whose_record_outgrows_kafkas_limit_is_413_not_503(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # Within the input limit, but JSON writes a quote as two bytes: the record outgrows it.
    quotes = '"' * int(settings.max_article_bytes * 0.6)
    text = seed_text(paragraphs=["A quoted story.", quotes + " end"]).encode()
    reply = await client.post("/v1/articles", content=text, headers={"content-type": "text/plain"})
    assert reply.status_code == 413, reply.text
    assert reply.json()["code"] == "too_large"
    [dead] = await read_topic(settings, settings.topic_dlq, 1)
    assert dead.value == text
    assert decode_headers(dead.headers)[H_CODE] == "too_large"
