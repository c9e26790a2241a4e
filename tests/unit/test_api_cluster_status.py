"""The pipeline's view of the clusters: brokers, copies, nodes and homeless shards, pure."""

from __future__ import annotations

import asyncio
from typing import Any

from elasticsearch import AsyncElasticsearch
from prometheus_client import REGISTRY

from services.api.models import ClusterView, KafkaClusterView, SearchClusterView, Unavailable
from services.api.status.cluster import (
    PartitionCopies,
    kafka_cluster,
    partition_copies,
    read_cluster,
    record,
    search_cluster,
)
from services.common.errors import KafkaUnavailable

LIVE = {1: "127.0.0.1:9092", 2: "127.0.0.1:9102", 3: "127.0.0.1:9112"}


def copies(leader: int, replicas: tuple[int, ...], isr: tuple[int, ...]) -> PartitionCopies:
    return PartitionCopies("news", 0, leader, replicas, isr)


def test_a_healthy_cluster_has_no_partition_short_of_copies() -> None:
    view = kafka_cluster(LIVE, [copies(1, (1, 2, 3), (1, 2, 3)), copies(2, (2, 3, 1), (2, 3, 1))])
    assert [b.state for b in view.brokers] == ["up", "up", "up"]
    assert [b.leaders for b in view.brokers] == [1, 1, 0]
    assert (view.under_replicated_partitions, view.offline_partitions) == (0, 0)


def test_a_broker_gone_is_down_and_its_partitions_under_replicated() -> None:
    live = {k: v for k, v in LIVE.items() if k != 3}
    view = kafka_cluster(live, [copies(1, (1, 2, 3), (1, 2)), copies(2, (3, 2, 1), (2, 1))])
    assert [(b.id, b.state) for b in view.brokers] == [(1, "up"), (2, "up"), (3, "down")]
    assert view.brokers[2].address is None
    assert view.under_replicated_partitions == 2
    assert view.offline_partitions == 0


def test_a_partition_without_a_leader_is_offline_not_under_replicated() -> None:
    view = kafka_cluster({1: "a:1"}, [copies(-1, (2,), (2,)), copies(2, (2, 1), (2,))])
    assert view.offline_partitions == 2
    assert view.under_replicated_partitions == 0


def test_describe_topics_answers_become_copies_leaving_unknown_topics_out() -> None:
    described = [
        {
            "topic": "news",
            "error_code": 0,
            "partitions": [{"partition": 0, "leader": 2, "replicas": [2, 1], "isr": [2]}],
        },
        {"topic": "missing", "error_code": 3, "partitions": []},
    ]
    assert partition_copies(described) == [PartitionCopies("news", 0, 2, (2, 1), (2,))]


NODES = [
    {"name": "newswire-1", "http_address": "127.0.0.1:9200", "master": "*"},
    {"name": "newswire-2", "http_address": "127.0.0.1:9201", "master": "-"},
]
URLS = ["http://127.0.0.1:9200", "http://127.0.0.1:9201", "http://127.0.0.1:9202"]


def test_a_node_configured_but_not_in_the_cluster_is_down() -> None:
    view = search_cluster({"status": "yellow", "unassigned_shards": 2}, NODES, URLS)
    assert view.status == "yellow"
    assert view.unassigned_shards == 2
    assert [(n.name, n.state) for n in view.nodes] == [
        ("newswire-1", "up"),
        ("newswire-2", "up"),
        (None, "down"),
    ]
    assert view.nodes[2].address == "127.0.0.1:9202"
    assert view.nodes[0].master is True


def test_addresses_are_not_matched_when_no_node_is_missing() -> None:
    # Compose: the client knows http://elasticsearch:9200, the node publishes its own IP.
    view = search_cluster({"status": "green"}, NODES[:1], ["http://elasticsearch:9200"])
    assert [n.state for n in view.nodes] == ["up"]


def test_the_view_becomes_gauges() -> None:
    live = {1: "a:1", 2: "b:2"}
    kafka = kafka_cluster(live, [copies(1, (1, 2, 3), (1, 2))])
    search = search_cluster({"status": "yellow", "unassigned_shards": 1}, NODES, URLS)
    record(ClusterView(kafka=kafka, elasticsearch=search))
    value = REGISTRY.get_sample_value
    assert value("newswire_cluster_kafka_broker_up", {"broker": "3"}) == 0
    assert value("newswire_cluster_kafka_broker_up", {"broker": "1"}) == 1
    assert value("newswire_cluster_kafka_under_replicated_partitions") == 1
    assert value("newswire_cluster_kafka_offline_partitions") == 0
    assert value("newswire_cluster_es_node_up", {"node": "127.0.0.1:9202"}) == 0
    assert value("newswire_cluster_es_node_up", {"node": "127.0.0.1:9201"}) == 1
    assert value("newswire_cluster_es_unassigned_shards") == 1
    assert value("newswire_cluster_es_status") == 1


def test_each_side_is_reported_unavailable_on_its_own() -> None:
    async def kafka_away() -> Any:
        raise KafkaUnavailable("no broker answers")

    async def run() -> ClusterView:
        es = AsyncElasticsearch("http://127.0.0.1:9", request_timeout=1, max_retries=0)
        try:
            return await read_cluster(kafka_away, es, ["http://127.0.0.1:9"])
        finally:
            await es.close()

    view = asyncio.run(run())
    assert isinstance(view.kafka, Unavailable)
    assert "no broker answers" in view.kafka.error
    assert isinstance(view.elasticsearch, Unavailable)
    assert not isinstance(view.kafka, KafkaClusterView)
    assert not isinstance(view.elasticsearch, SearchClusterView)
