"""The local stack in cluster mode: 3 brokers and 3 nodes, copies as promised, a member lost.

A stack of its own on test ports (NEWSWIRE_TEST_PORT_BASE + 592.. and + 700..), started
once for the module and stopped at the end. Slow: run with ``pytest -m cluster``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.api.models import KafkaClusterView, SearchClusterView
from services.api.status.cluster import read_cluster
from services.api.status.kafka_reader import KafkaReader
from services.common.es import es_client
from services.common.kafka import ensure_topics, make_admin, make_producer
from services.common.settings import Settings
from services.indexer.mapping import ensure_index
from services.stack.local_stack import LocalStack, with_shape

pytestmark = [pytest.mark.integration, pytest.mark.cluster]


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Settings, LocalStack]]:
    """A 3+3 local stack on ports of its own, in a state directory of its own."""
    base = int(os.environ.get("NEWSWIRE_TEST_PORT_BASE", "29000"))
    plain = Settings()
    settings = with_shape(
        plain.model_copy(
            update={
                "kafka_bootstrap": f"127.0.0.1:{base + 592}",
                "kafka_controller_port": base + 593,
                "es_url": f"http://127.0.0.1:{base + 700}",
                "state_dir": plain.state_dir / f"test-cluster-{base}",
            }
        ),
        3,
        3,
    )
    shutil.rmtree(settings.state_dir, ignore_errors=True)
    with LocalStack(settings) as stack:
        yield settings, stack


async def _topic_copies(settings: Settings) -> tuple[list[int], str]:
    admin = make_admin(settings.kafka_bootstrap)
    try:
        await admin.start()
        [described] = await admin.describe_topics([settings.topic_articles])
        resource = ConfigResource(ConfigResourceType.TOPIC, settings.topic_articles)
        [reply] = await admin.describe_configs([resource])
    finally:
        await admin.close()
    entries = {e[0]: e[1] for e in reply.resources[0][4]}
    return [len(p["replicas"]) for p in described["partitions"]], entries["min.insync.replicas"]


def test_status_shows_every_member_up(cluster: tuple[Settings, LocalStack]) -> None:
    settings, stack = cluster
    rows = stack.status()
    assert [r.name for r in rows] == [
        "kafka",
        "kafka-2",
        "kafka-3",
        "elasticsearch",
        "elasticsearch-2",
        "elasticsearch-3",
    ]
    assert all(r.up for r in rows)
    nodes = httpx.get(f"{settings.es_url}/_cat/nodes?format=json", timeout=10).json()
    assert len(nodes) == 3


def test_topics_get_three_copies_two_in_sync_and_the_index_a_replica(
    cluster: tuple[Settings, LocalStack],
) -> None:
    settings, _ = cluster

    async def prepare() -> None:
        await ensure_topics(settings)
        async with es_client(settings) as es:
            await ensure_index(es, settings)

    asyncio.run(prepare())
    copies, min_isr = asyncio.run(_topic_copies(settings))
    assert copies == [3] * settings.topic_partitions
    assert min_isr == "2"
    health = httpx.get(
        f"{settings.es_url}/_cluster/health/{settings.index_alias}",
        params={"wait_for_status": "green", "timeout": "60s"},
        timeout=70,
    ).json()
    assert health["status"] == "green"
    assert health["active_shards"] == 2 * health["active_primary_shards"]


def test_a_broker_killed_keeps_writes_going_and_the_page_shows_it(
    cluster: tuple[Settings, LocalStack],
) -> None:
    settings, stack = cluster
    asyncio.run(ensure_topics(settings))
    victim = next(s for s in stack.servers() if s.name == "kafka-3")
    pid = victim.process.pid()
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    victim.process.wait_exit(pid, timeout=30)

    async def send_and_look() -> tuple[int, KafkaClusterView | None]:
        producer = make_producer(settings, client_id="cluster-test")
        await producer.start()
        try:
            for n in range(50):  # acks=all: two copies in sync are enough
                await producer.send_and_wait(settings.topic_articles, b"{}", key=f"k{n}".encode())
        finally:
            await producer.stop()
        reader = KafkaReader(settings)
        deadline = time.monotonic() + 60
        view = None
        try:
            async with es_client(settings) as es:
                while time.monotonic() < deadline:
                    view = (await read_cluster(reader.copies, es, settings.es_node_urls)).kafka
                    if isinstance(view, KafkaClusterView) and any(
                        b.id == 3 and b.state == "down" for b in view.brokers
                    ):
                        return 50, view
                    await asyncio.sleep(1)
        finally:
            await reader.close()
        return 50, view if isinstance(view, KafkaClusterView) else None

    sent, view = asyncio.run(send_and_look())
    assert sent == 50
    assert view is not None
    assert [b.state for b in view.brokers] == ["up", "up", "down"]
    assert view.under_replicated_partitions > 0
    assert view.offline_partitions == 0
    stack.up()
    assert all(r.up for r in stack.status())


def test_a_node_killed_leaves_search_served_by_the_others(
    cluster: tuple[Settings, LocalStack],
) -> None:
    settings, stack = cluster
    victim = next(s for s in stack.servers() if s.name == "elasticsearch")  # the client's first
    pid = victim.process.pid()
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    victim.process.wait_exit(pid, timeout=30)

    async def look() -> SearchClusterView | None:
        async with es_client(settings) as es:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                await es.count(index=settings.index_alias)  # served through another node
                reader = KafkaReader(settings)
                try:
                    view = (
                        await read_cluster(reader.copies, es, settings.es_node_urls)
                    ).elasticsearch
                finally:
                    await reader.close()
                if (
                    isinstance(view, SearchClusterView)
                    and view.status != "red"
                    and any(n.state == "down" for n in view.nodes)
                ):
                    return view
                await asyncio.sleep(1)
        return None

    view = asyncio.run(look())
    assert view is not None
    assert sum(1 for n in view.nodes if n.state == "up") == 2
    stack.up()
    assert all(r.up for r in stack.status())
