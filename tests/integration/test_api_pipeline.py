"""/v1/pipeline/status on the live stack: lag 0 once caught up, positive when stopped."""

from __future__ import annotations

import httpx
import pytest

from services.common.dlq import DeadLetter
from services.common.settings import Settings
from services.ingest.publisher import Publisher
from tests.factories import make_articles
from tests.integration.pipeline_helpers import publish, running_indexer, wait_until

pytestmark = pytest.mark.integration


async def status(api: httpx.AsyncClient) -> dict[str, object]:
    reply = await api.get("/v1/pipeline/status")
    assert reply.status_code == 200
    data: dict[str, object] = reply.json()
    return data


async def test_lag_is_zero_after_catch_up_and_grows_when_the_indexer_stops(
    settings: Settings, api: httpx.AsyncClient
) -> None:
    await publish(settings, make_articles(30))
    async with running_indexer(settings):

        async def caught_up() -> bool:
            view = await status(api)
            kafka, index = view["kafka"], view["index"]
            # Committed means written; searchable follows within the refresh interval (1 s).
            return (
                isinstance(kafka, dict)
                and bool(kafka.get("partitions"))
                and kafka["total_lag"] == 0
                and isinstance(index, dict)
                and index.get("documents") == 30
            )

        await wait_until(caught_up, 60, "lag 0")
        view = await status(api)
        assert view["health"]["kafka"] == view["health"]["elasticsearch"] == "up"  # type: ignore[index]
        assert view["index"]["documents"] == 30  # type: ignore[index]
        assert view["index"]["freshness_seconds"] is not None  # type: ignore[index]
        assert all(p["status"] == "OK" for p in view["kafka"]["partitions"])  # type: ignore[index]
    # The indexer is gone: what is published now waits, and the status says so.
    await publish(settings, make_articles(5, category="late"))
    view = await status(api)
    kafka = view["kafka"]
    assert kafka["total_lag"] == 5  # type: ignore[index]
    assert kafka["group_members"] == 0  # type: ignore[index]
    lagging = [p for p in kafka["partitions"] if p["lag"]]  # type: ignore[index]
    assert {p["status"] for p in lagging} == {"STOP"}
    assert all(p["lag_seconds"] >= 0 for p in lagging)
    assert kafka["dlq_depth"] == 0  # type: ignore[index]


async def test_status_before_the_index_exists_is_not_an_error(
    settings: Settings, api: httpx.AsyncClient
) -> None:
    view = await status(api)
    assert view["index"]["documents"] == 0  # type: ignore[index]
    assert view["health"]["elasticsearch"] == "up"  # type: ignore[index]


async def test_the_newest_dead_letters_carry_their_reasons(
    settings: Settings, api: httpx.AsyncClient
) -> None:
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
    reply = await api.get("/v1/pipeline/dead-letters", params={"limit": 2})
    assert reply.status_code == 200
    items = reply.json()["items"]
    assert len(items) == 2
    assert {i["code"] for i in items} == {"malformed_header"}
    assert {i["source"] for i in items} <= {f"inbox/bad-{n}.txt" for n in range(3)}
    assert all(i["payload_head"].startswith("bad ") for i in items)
