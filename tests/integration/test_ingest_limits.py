"""The ingest's bounds on the live Kafka: busy, slow and vanishing clients, dead-letter rate."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from services.common.settings import Settings
from services.ingest.__main__ import server_options
from services.ingest.app import create_app
from tests.factories import seed_text
from tests.integration.pipeline_helpers import asgi_client, read_topic

pytestmark = pytest.mark.integration

KEY = "limits-key"
AUTH = {"authorization": f"Bearer {KEY}"}
# A port of this session's range (NEWSWIRE_TEST_PORT_BASE) for the real uvicorn server.
SERVER_PORT = int(os.environ.get("NEWSWIRE_TEST_PORT_BASE", "29000")) + 301


def limited(settings: Settings, **limits: object) -> Settings:
    return settings.model_copy(update={"api_key": SecretStr(KEY), **limits})


@contextlib.asynccontextmanager
async def ingest(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(settings), "http://ingest") as http:
        http.headers.update(AUTH)
        yield http


class SlowBody:
    """A request body that sends one chunk, then waits until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.reading = asyncio.Event()  # the app asked for the first chunk: it holds a slot
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.sent += 1
        self.reading.set()
        yield b"date 2020-01-01 world\n\n"
        await self.release.wait()
        self.sent += 1
        yield b"The rest of the body.\n"


async def test_beyond_the_upload_limit_is_503_ingest_busy_without_reading_the_body(
    settings: Settings,
) -> None:
    async with ingest(limited(settings, ingest_max_uploads=1)) as http:
        slow = SlowBody()
        first = asyncio.create_task(
            http.post("/v1/articles", content=slow, headers={"content-type": "text/plain"})
        )
        await slow.reading.wait()  # the first upload holds the only slot
        unread = SlowBody()
        async with asyncio.timeout(30):  # without the limit, this upload would wait forever
            busy = await http.post(
                "/v1/articles", content=unread, headers={"content-type": "text/plain"}
            )
        slow.release.set()
        unread.release.set()
        done = await first
    assert busy.status_code == 503
    assert busy.json()["code"] == "ingest_busy"
    assert int(busy.headers["retry-after"]) >= 1
    assert unread.sent == 0  # refused on its headers alone
    assert done.status_code == 202


async def test_beyond_the_inflight_bytes_is_503_ingest_busy(settings: Settings) -> None:
    # An upload without a Content-Length reserves max_article_bytes + 1: two cannot fit.
    budget = settings.max_article_bytes + settings.max_article_bytes // 2
    async with ingest(limited(settings, ingest_max_inflight_bytes=budget)) as http:
        slow = SlowBody()
        first = asyncio.create_task(
            http.post("/v1/articles", content=slow, headers={"content-type": "text/plain"})
        )
        await slow.reading.wait()
        unread = SlowBody()
        async with asyncio.timeout(30):
            busy = await http.post(
                "/v1/articles", content=unread, headers={"content-type": "text/plain"}
            )
        unread.release.set()
        small = await http.post(  # a declared small body still fits beside the first
            "/v1/articles",
            content=b"x" * 10,
            headers={"content-type": "text/plain", "content-length": "10"},
        )
        slow.release.set()
        await first
    assert busy.status_code == 503
    assert busy.json()["code"] == "ingest_busy"
    assert small.status_code == 422  # admitted and parsed (and not a good article)


async def test_a_body_that_does_not_arrive_in_time_is_408_body_timeout(
    settings: Settings,
) -> None:
    async with ingest(limited(settings, ingest_body_timeout_s=0.5)) as http:
        slow = SlowBody()
        async with asyncio.timeout(30):  # without a body timeout, this would wait forever
            reply = await http.post(
                "/v1/articles", content=slow, headers={"content-type": "text/plain"}
            )
        slow.release.set()
        after = await http.post(
            "/v1/articles", content=seed_text().encode(), headers={"content-type": "text/plain"}
        )
    assert reply.status_code == 408
    assert reply.json()["code"] == "body_timeout"
    assert reply.headers["content-type"] == "application/problem+json"
    assert after.status_code == 202  # its slot was given back


async def test_dead_letters_per_client_are_rate_limited_but_every_request_is_answered(
    settings: Settings,
) -> None:
    quota = {"ingest_dlq_burst": 2, "ingest_dlq_rate_per_s": 0.001}
    async with ingest(limited(settings, **quota)) as http:
        replies = [
            await http.post(
                "/v1/articles", content=f"bad {n}".encode(), headers={"content-type": "text/plain"}
            )
            for n in range(5)
        ]
    assert [r.status_code for r in replies] == [422] * 5
    records = await read_topic(settings, settings.topic_dlq, 5, timeout=5)
    assert sorted(r.value for r in records) == [b"bad 0", b"bad 1"]


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[str]:
    """The ingest app behind a real uvicorn (as the service runs it) on this session's port."""
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=SERVER_PORT,
        lifespan="on",
        log_config=None,
        **server_options(settings),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{SERVER_PORT}"
    finally:
        server.should_exit = True
        await task


def head(length: int) -> bytes:
    return (
        "POST /v1/articles HTTP/1.1\r\nHost: ingest\r\ncontent-type: text/plain\r\n"
        f"authorization: Bearer {KEY}\r\ncontent-length: {length}\r\n\r\n"
    ).encode()


async def test_on_a_real_server_slow_and_vanishing_clients_cost_one_line_each(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    keyed = limited(settings, ingest_body_timeout_s=1.0)
    limit = settings.max_article_bytes
    caplog.set_level(logging.INFO)
    async with served(keyed) as base:
        # A slow client: headers and a few bytes, then nothing.
        reader, writer = await asyncio.open_connection("127.0.0.1", SERVER_PORT)
        writer.write(head(5000) + b"date 2020-01-01 world\n\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(4096), 30)
        writer.close()
        # Clients that announce more than the limit, send nothing and hang up.
        for _ in range(5):
            _, writer = await asyncio.open_connection("127.0.0.1", SERVER_PORT)
            writer.write(head(limit * 2))
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        await asyncio.sleep(0.5)  # let the server notice the hang-ups
        async with httpx.AsyncClient(base_url=base, headers=AUTH) as http:
            good = await http.post(
                "/v1/articles", content=seed_text().encode(), headers={"content-type": "text/plain"}
            )
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"body_timeout" in answer
    assert good.status_code == 202
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    # Nothing arrived from the hang-ups: no dead letter at all (before: 1 MiB + 1 NULs each).
    assert await read_topic(settings, settings.topic_dlq, 1, timeout=3) == []
