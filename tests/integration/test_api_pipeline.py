"""/v1/pipeline/status on the live stack: lag 0 once caught up, positive when stopped."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from services.api.app import create_app
from services.api.models import IndexView, KafkaView, PipelineStatus
from services.common.dlq import DeadLetter
from services.common.settings import Settings
from services.ingest.publisher import Publisher
from tests.factories import make_articles
from tests.integration.pipeline_helpers import asgi_client, publish, running_indexer, wait_until

pytestmark = pytest.mark.integration


async def status(api: httpx.AsyncClient) -> PipelineStatus:
    """The status as the API documents it: a reply that does not fit the model fails here."""
    reply = await api.get("/v1/pipeline/status")
    assert reply.status_code == 200
    return PipelineStatus.model_validate(reply.json())


def kafka_of(view: PipelineStatus) -> KafkaView:
    assert isinstance(view.kafka, KafkaView), view.kafka
    return view.kafka


def index_of(view: PipelineStatus) -> IndexView:
    assert isinstance(view.index, IndexView), view.index
    return view.index


async def test_lag_is_zero_after_catch_up_and_grows_when_the_indexer_stops(
    settings: Settings, api: httpx.AsyncClient
) -> None:
    await publish(settings, make_articles(30))
    async with running_indexer(settings):

        async def caught_up() -> bool:
            view = await status(api)
            kafka, index = view.kafka, view.index
            # Committed means written; searchable follows within the refresh interval (1 s).
            return (
                isinstance(kafka, KafkaView)
                and bool(kafka.partitions)
                and kafka.total_lag == 0
                and isinstance(index, IndexView)
                and index.documents == 30
            )

        await wait_until(caught_up, 60, "lag 0")
        view = await status(api)
        assert view.health["kafka"] == view.health["elasticsearch"] == "up"
        assert index_of(view).documents == 30
        assert index_of(view).freshness_seconds is not None
        assert all(p.status == "OK" for p in kafka_of(view).partitions)
    # The indexer is gone: what is published now waits, and the status says so.
    await publish(settings, make_articles(5, category="late"))
    view = await status(api)
    kafka = kafka_of(view)
    assert kafka.total_lag == 5
    assert kafka.group_members == 0
    lagging = [p for p in kafka.partitions if p.lag]
    assert {p.status for p in lagging} == {"STOP"}
    assert all(p.lag_seconds >= 0 for p in lagging)
    assert kafka.dlq_depth == 0


async def test_status_before_the_index_exists_is_not_an_error(
    settings: Settings, api: httpx.AsyncClient
) -> None:
    view = await status(api)
    assert index_of(view).documents == 0
    assert view.health["elasticsearch"] == "up"


OPERATOR_KEY = "operator-key-of-this-test"


async def test_the_newest_dead_letters_carry_their_reasons(settings: Settings) -> None:
    async with Publisher(settings) as publisher:
        for n in range(3):
            letter = DeadLetter(
                f"bad {n}".encode(),
                "malformed_header",
                f"reason {n}",
                f"inbox/bad-{n}.txt",
                "ingest",
            )
            await (await publisher.dead_letter(letter))
    keyed = settings.model_copy(update={"operator_key": SecretStr(OPERATOR_KEY)})
    async with asgi_client(create_app(keyed), "http://api") as api:
        reply = await api.get(
            "/v1/pipeline/dead-letters",
            params={"limit": 2},
            headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
        )
    assert reply.status_code == 200, reply.text
    items = reply.json()["items"]
    assert len(items) == 2
    assert {i["code"] for i in items} == {"malformed_header"}
    assert {i["source"] for i in items} <= {f"inbox/bad-{n}.txt" for n in range(3)}
    assert all(i["payload_head"].startswith("bad ") for i in items)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": f"Bearer {OPERATOR_KEY}x"},
        {"Authorization": f"Basic {OPERATOR_KEY}"},
        {"Authorization": OPERATOR_KEY},
    ],
)
async def test_dead_letters_without_the_operator_key_are_401(
    settings: Settings, headers: dict[str, str]
) -> None:
    keyed = settings.model_copy(update={"operator_key": SecretStr(OPERATOR_KEY)})
    async with asgi_client(create_app(keyed), "http://api") as api:
        reply = await api.get("/v1/pipeline/dead-letters", headers=headers)
        status = await api.get("/v1/pipeline/status")  # the status itself stays open
    assert reply.status_code == 401, reply.text
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == "unauthorized"
    assert "payload_head" not in reply.text
    assert status.status_code == 200


async def test_the_ingest_key_opens_dead_letters_when_no_operator_key_is_set(
    settings: Settings,
) -> None:
    keyed = settings.model_copy(update={"api_key": SecretStr("ingest-key"), "operator_key": None})
    async with asgi_client(create_app(keyed), "http://api") as api:
        right = await api.get(
            "/v1/pipeline/dead-letters", headers={"Authorization": "Bearer ingest-key"}
        )
        wrong = await api.get("/v1/pipeline/dead-letters", headers={"Authorization": "Bearer no"})
    assert right.status_code == 200, right.text
    assert right.json() == {"items": []}
    assert wrong.status_code == 401


async def test_dead_letters_are_closed_when_no_key_is_configured(settings: Settings) -> None:
    keyless = settings.model_copy(update={"api_key": None, "operator_key": None})
    async with asgi_client(create_app(keyless), "http://api") as api:
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
            reply = await api.get("/v1/pipeline/dead-letters", headers=headers)
            assert reply.status_code == 401, reply.text
            assert reply.json()["code"] == "operator_key_unset"
            assert "NEWSWIRE_OPERATOR_KEY" in reply.json()["detail"]
