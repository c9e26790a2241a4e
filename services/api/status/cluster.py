"""The clusters behind the pipeline: per broker and per node health, copies, homeless shards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from elasticsearch import AsyncElasticsearch
from prometheus_client import Gauge

from services.api.models import (
    BrokerView,
    ClusterView,
    KafkaClusterView,
    NodeView,
    SearchClusterView,
    Unavailable,
)
from services.common import es as es_boundary
from services.common.errors import NewswireError

BROKER_UP = Gauge(
    "newswire_cluster_kafka_broker_up", "1 while the broker is in the cluster.", ["broker"]
)
URP = Gauge(
    "newswire_cluster_kafka_under_replicated_partitions",
    "Partitions of the watched topics with fewer copies in sync than replicas.",
)
OFFLINE = Gauge(
    "newswire_cluster_kafka_offline_partitions",
    "Partitions of the watched topics without a leader.",
)
NODE_UP = Gauge(
    "newswire_cluster_es_node_up", "1 while the node (by HTTP address) is in the cluster.", ["node"]
)
UNASSIGNED = Gauge("newswire_cluster_es_unassigned_shards", "Shards no node holds.")
COLOUR = Gauge("newswire_cluster_es_status", "Cluster health: 0 green, 1 yellow, 2 red.")
COLOURS = ("green", "yellow", "red")


@dataclass(frozen=True)
class PartitionCopies:
    """Where one partition lives: its leader (-1: none), its replicas and those in sync."""

    topic: str
    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


def partition_copies(described: Iterable[dict[str, Any]]) -> list[PartitionCopies]:
    """The partitions of a DescribeTopics answer (topics that do not exist are left out)."""
    return [
        PartitionCopies(
            t["topic"],
            p["partition"],
            p.get("leader", -1),
            tuple(p.get("replicas") or ()),
            tuple(p.get("isr") or ()),
        )
        for t in described
        if t.get("error_code", 0) == 0
        for p in t.get("partitions", [])
    ]


def kafka_cluster(live: dict[int, str], copies: list[PartitionCopies]) -> KafkaClusterView:
    """Brokers (those the cluster lists are up; one a partition names but it does not, down)."""
    known = set(live) | {broker for c in copies for broker in c.replicas}
    brokers = [
        BrokerView(
            id=broker,
            address=live.get(broker),
            state="up" if broker in live else "down",
            leaders=sum(1 for c in copies if c.leader == broker),
        )
        for broker in sorted(known)
    ]
    offline = [c for c in copies if c.leader < 0 or c.leader not in live]
    under = [c for c in copies if c not in offline and len(c.isr) < len(c.replicas)]
    return KafkaClusterView(
        brokers=brokers,
        partitions=len(copies),
        under_replicated_partitions=len(under),
        offline_partitions=len(offline),
    )


def search_cluster(
    health: dict[str, Any], nodes: list[dict[str, Any]], expected: list[str]
) -> SearchClusterView:
    """The nodes in the cluster, and each configured node it lacks as down.

    Configured addresses are matched to the nodes' published HTTP addresses only when nodes
    are missing: behind a proxy or in compose the two differ and nothing is missing.
    """
    views = [
        NodeView(
            name=n.get("name"),
            address=str(n.get("http_address") or ""),
            state="up",
            master=n.get("master") == "*",
        )
        for n in nodes
    ]
    if len(nodes) < len(expected):
        present = {v.address for v in views}
        for url in expected:
            address = urlsplit(url).netloc
            if address not in present:
                views.append(NodeView(name=None, address=address, state="down"))
    colour = str(health.get("status", "red"))
    return SearchClusterView(
        status=cast(Literal["green", "yellow", "red"], colour if colour in COLOURS else "red"),
        nodes=sorted(views, key=lambda v: (v.name is None, v.name or v.address)),
        unassigned_shards=int(health.get("unassigned_shards", 0)),
    )


async def read_search_cluster(es: AsyncElasticsearch, expected: list[str]) -> SearchClusterView:
    """Health and nodes from whichever node answers."""
    health = await es.cluster.health()
    nodes = await es.cat.nodes(format="json", h="name,http_address,master")
    rows: list[dict[str, Any]] = nodes.body if isinstance(nodes.body, list) else []
    return search_cluster(dict(health.body), rows, expected)


KafkaCopiesRead = Callable[[], Awaitable[tuple[dict[int, str], list[PartitionCopies]]]]


async def read_cluster(
    kafka: KafkaCopiesRead, es: AsyncElasticsearch, expected: list[str]
) -> ClusterView:
    """Both clusters, each reported as unavailable on its own when it cannot be asked."""
    kafka_view: KafkaClusterView | Unavailable
    search_view: SearchClusterView | Unavailable
    try:
        kafka_view = kafka_cluster(*await kafka())
    except NewswireError as error:
        kafka_view = Unavailable(error=f"Kafka unavailable: {error.message}")
    try:
        with es_boundary.boundary("cannot read the cluster's health"):
            search_view = await read_search_cluster(es, expected)
    except NewswireError as error:
        search_view = Unavailable(error=f"Elasticsearch unavailable: {error.message}")
    view = ClusterView(kafka=kafka_view, elasticsearch=search_view)
    record(view)
    return view


def record(view: ClusterView) -> None:
    """The view as Prometheus gauges (a side that could not be asked leaves them as they were)."""
    if isinstance(view.kafka, KafkaClusterView):
        for broker in view.kafka.brokers:
            BROKER_UP.labels(broker=str(broker.id)).set(1 if broker.state == "up" else 0)
        URP.set(view.kafka.under_replicated_partitions)
        OFFLINE.set(view.kafka.offline_partitions)
    if isinstance(view.elasticsearch, SearchClusterView):
        for node in view.elasticsearch.nodes:
            NODE_UP.labels(node=node.address).set(1 if node.state == "up" else 0)
        UNASSIGNED.set(view.elasticsearch.unassigned_shards)
        COLOUR.set(COLOURS.index(view.elasticsearch.status))
