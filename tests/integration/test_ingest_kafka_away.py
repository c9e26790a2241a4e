"""Kafka stopped for 40 s: posts get a bounded 503, readiness says not ready, then recovery."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from aiokafka.errors import KafkaTimeoutError
from pydantic import SecretStr

from services.common.settings import Settings
from services.indexer.app import create_app as indexer_app
from services.ingest.app import create_app as ingest_app
from services.ingest.publisher import Publisher
from services.stack.local_stack import LocalStack
from tests.factories import make_article, seed_text
from tests.integration.pipeline_helpers import asgi_client, running_indexer, wait_until

pytestmark = pytest.mark.integration

KEY = "kafka-away-key"
OUTAGE_S = 40.0
# The ingest's bound (ingest_kafka_timeout_s, 10 s by default) plus slack for a shared machine.
ANSWER_WITHIN_S = 25.0


def article(n: int) -> bytes:
    return seed_text(paragraphs=[f"Paragraph of article {n} during the outage test."]).encode()


async def post(http: httpx.AsyncClient, n: int) -> httpx.Response:
    async with asyncio.timeout(ANSWER_WITHIN_S):
        return await http.post(
            "/v1/articles", content=article(n), headers={"content-type": "text/plain"}
        )


async def status(http: httpx.AsyncClient, path: str = "/readyz") -> int:
    return (await http.get(path)).status_code


async def test_kafka_away_is_a_bounded_503_and_not_ready_then_it_recovers(
    settings: Settings, local_stack: LocalStack
) -> None:
    keyed = settings.model_copy(update={"api_key": SecretStr(KEY)})
    kafka = next(s for s in local_stack.servers() if s.name == "kafka")
    async with (
        asgi_client(ingest_app(keyed), "http://ingest") as http,
        running_indexer(settings) as indexer,
        asgi_client(indexer_app(indexer), "http://indexer") as idx,
    ):
        http.headers["authorization"] = f"Bearer {KEY}"
        await wait_until(lambda: indexer.ready, 60, "the indexer's assignment")
        assert (await post(http, 0)).status_code == 202
        assert await status(http) == 200
        assert await status(idx) == 200
        closing = Publisher(keyed)
        await closing.start()
        await (await closing.publish(make_article()))  # the topic's metadata is known
        stopped = time.monotonic()
        await asyncio.to_thread(kafka.process.stop)
        try:
            # A SIGTERM during the outage: the producer gives up its unacknowledged records.
            unacknowledged = await closing.publish(make_article())
            async with asyncio.timeout(ANSWER_WITHIN_S):
                await closing.close()
            assert isinstance(unacknowledged, asyncio.Future)
            assert isinstance(unacknowledged.exception(), KafkaTimeoutError)  # failed, not lost
            away = await post(http, 1)
            assert away.status_code == 503
            assert away.json()["code"] == "kafka_unavailable"
            assert int(away.headers["retry-after"]) >= 1
            await wait_until(lambda: _is(http, 503), 15, "ingest readyz 503")
            await wait_until(lambda: _is(idx, 503), 15, "indexer readyz 503")
            # Still bounded once the outage outlives the clients' own request timeouts (30 s).
            await asyncio.sleep(max(0.0, OUTAGE_S - 8 - (time.monotonic() - stopped)))
            late = await post(http, 2)
            assert late.status_code == 503
            assert late.json()["code"] == "kafka_unavailable"
        finally:
            await asyncio.to_thread(local_stack.up)
        await wait_until(lambda: _is(http, 200), 60, "ingest readyz 200 again")
        await wait_until(lambda: _accepted(http), 90, "a post accepted again")
        await wait_until(lambda: _is(idx, 200), 90, "indexer readyz 200 again")


async def _is(http: httpx.AsyncClient, expected: int) -> bool:
    return await status(http) == expected


async def _accepted(http: httpx.AsyncClient) -> bool:
    return (await post(http, 3)).status_code == 202
