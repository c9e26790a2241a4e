"""``newswire chaos --cluster``: a broker or a node lost mid-stream, and a rolling restart."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.api.models import ClusterView, KafkaClusterView, SearchClusterView
from services.api.status.cluster import read_cluster
from services.api.status.kafka_reader import KafkaReader
from services.bench.fault_scenarios import Fault, Outcome, scenario
from services.bench.loads import corpus_load
from services.bench.procs import Child
from services.common.es import es_client
from services.common.kafka import boundary, make_admin
from services.common.settings import Settings
from services.stack.elasticsearch import ElasticsearchServer
from services.stack.kafka import KafkaServer
from services.stack.local_stack import LocalStack, Server

SAMPLE_S = 0.5
HEALTHY_TIMEOUT_S = 300.0


def healthy(view: ClusterView) -> bool:
    """Every member up, every partition with all its copies in sync, Elasticsearch green."""
    kafka, search = view.kafka, view.elasticsearch
    if not isinstance(kafka, KafkaClusterView) or not isinstance(search, SearchClusterView):
        return False
    return (
        all(b.state == "up" for b in kafka.brokers)
        and kafka.under_replicated_partitions == 0
        and kafka.offline_partitions == 0
        and search.status == "green"
        and all(n.state == "up" for n in search.nodes)
    )


@dataclass
class Seen:
    """What the pipeline page showed while a fault lasted: the worst of every sample."""

    samples: int = 0
    max_under_replicated: int = 0
    max_offline: int = 0
    min_brokers_up: int | None = None
    min_nodes_up: int | None = None
    max_unassigned_shards: int = 0
    colours: list[str] = field(default_factory=list)  # each colour once, in order first seen

    def add(self, view: ClusterView) -> None:
        """Fold one sample of the pipeline's cluster view in."""
        self.samples += 1
        if isinstance(view.kafka, KafkaClusterView):
            k = view.kafka
            self.max_under_replicated = max(
                self.max_under_replicated, k.under_replicated_partitions
            )
            self.max_offline = max(self.max_offline, k.offline_partitions)
            up = sum(1 for b in k.brokers if b.state == "up")
            self.min_brokers_up = (
                up if self.min_brokers_up is None else min(self.min_brokers_up, up)
            )
        if isinstance(view.elasticsearch, SearchClusterView):
            e = view.elasticsearch
            self.max_unassigned_shards = max(self.max_unassigned_shards, e.unassigned_shards)
            up = sum(1 for n in e.nodes if n.state == "up")
            self.min_nodes_up = up if self.min_nodes_up is None else min(self.min_nodes_up, up)
            if e.status not in self.colours:
                self.colours.append(e.status)


def _least(so_far: int | None, states: list[str]) -> int:
    """The fewest members up so far, this sample's count folded in."""
    up = states.count("up")
    return up if so_far is None else min(so_far, up)


class Watch:
    """Samples the pipeline's cluster view in the background, as the /pipeline page does."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.reader = KafkaReader(settings)
        self.seen = Seen()
        self.latest: ClusterView | None = None
        self._count = 0  # samples taken: a wait judges only those taken after it began
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Watch:
        self._task = asyncio.create_task(self._sample_forever())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.reader.close()

    async def _sample_forever(self) -> None:
        async with es_client(self.settings, timeout=5.0) as es:
            while True:
                view = await read_cluster(self.reader.copies, es, self.settings.es_node_urls)
                self.latest, self._count = view, self._count + 1
                self.seen.add(view)
                await asyncio.sleep(SAMPLE_S)

    async def until(self, check: Callable[[ClusterView], bool], timeout: float) -> float | None:
        """Seconds until a sample taken from now on passes ``check``; None on timeout."""
        started, first = time.monotonic(), self._count + 1
        while time.monotonic() - started < timeout:
            if self._count >= first and self.latest is not None and check(self.latest):
                return round(time.monotonic() - started, 1)
            await asyncio.sleep(0.1)
        return None


def kill_9(server: Server) -> None:
    """SIGKILL the server's process group: a crash, no shutdown hooks."""
    pid = server.process.pid()
    if pid is None:
        raise RuntimeError(f"{server.name} is not running")
    os.killpg(pid, signal.SIGKILL)
    server.process.wait_exit(pid, timeout=30)


async def partition_leader(settings: Settings, partition: int = 0) -> int:
    """The broker leading ``partition`` of the article topic."""
    admin = make_admin(settings.kafka_bootstrap)
    try:
        with boundary("cannot find the partition's leader"):
            await admin.start()
            [described] = await admin.describe_topics([settings.topic_articles])
    finally:
        await admin.close()
    leaders = {p["partition"]: p["leader"] for p in described["partitions"]}
    return int(leaders[partition])


async def primary_holder(settings: Settings) -> str:
    """The name of the node holding the article index's primary shard."""
    async with es_client(settings) as es:
        rows = await es.cat.shards(index=settings.index_alias, format="json", h="prirep,node")
    body: list[dict[str, Any]] = rows.body if isinstance(rows.body, list) else []
    return next(str(r["node"]) for r in body if r.get("prirep") == "p")


Results = dict[str, Any]
Target = Callable[[Settings, LocalStack], Awaitable[Server]]


async def kafka_leader(s: Settings, stack: LocalStack) -> Server:
    """The broker leading partition 0 of the scenario's (busy) article topic."""
    leader = await partition_leader(s)
    kafka = [x for x in stack.servers() if isinstance(x, KafkaServer)]
    return next(x for x in kafka if x.node_id == leader)


async def es_primary(s: Settings, stack: LocalStack) -> Server:
    """The node holding the primary of the scenario's index."""
    name = await primary_holder(s)
    nodes = [x for x in stack.servers() if isinstance(x, ElasticsearchServer)]
    return next(x for x in nodes if f"newswire-{x.member + 1}" == name)


def member_killed(
    stack: LocalStack, target: Target, results: Results, *, after_s: float, down_s: float
) -> Fault:
    """kill -9 the member ``target`` picks mid-stream, start it again ``down_s`` later.

    Detected: the kill until the pipeline shows the member down. Failover: until, besides,
    no partition is offline and Elasticsearch is not red (writes and reads served by the
    others). Recovery: until the member is back and the cluster whole (every copy, green).
    """

    async def fault(s: Settings, work: Path, children: list[Child]) -> None:
        async with Watch(s) as watch:
            try:
                await asyncio.sleep(after_s)
                server = await target(s, stack)
                killed = time.monotonic()
                await asyncio.to_thread(kill_9, server)
                results["killed"] = server.name
                gone = _member_down(server)
                seen_down = await watch.until(gone, _left(killed, down_s))
                results["detected_s"] = _since(killed, seen_down)
                served = await watch.until(lambda v: gone(v) and _serving(v), _left(killed, down_s))
                results["failover_s"] = _since(killed, served)
                await asyncio.sleep(max(0.0, killed + down_s - time.monotonic()))
                await asyncio.to_thread(stack.up)
                if await watch.until(healthy, HEALTHY_TIMEOUT_S) is not None:
                    results["recovery_s"] = round(time.monotonic() - killed, 1)
            finally:
                results["seen"] = watch.seen

    return fault


def _left(start: float, span: float) -> float:
    """Seconds left of ``span`` begun at ``start``."""
    return max(0.0, start + span - time.monotonic())


def _since(start: float, waited: float | None) -> float | None:
    """Seconds from ``start`` to now when the wait succeeded, else None."""
    return None if waited is None else round(time.monotonic() - start, 1)


def _member_down(server: Server) -> Callable[[ClusterView], bool]:
    """Whether a view shows ``server`` down (a broker by its id, a node by its address)."""

    def check(view: ClusterView) -> bool:
        if isinstance(server, KafkaServer) and isinstance(view.kafka, KafkaClusterView):
            return any(b.id == server.node_id and b.state == "down" for b in view.kafka.brokers)
        if isinstance(view.elasticsearch, SearchClusterView):
            address = f"127.0.0.1:{server.port}"
            return all(n.address != address or n.state == "down" for n in view.elasticsearch.nodes)
        return False

    return check


def _serving(view: ClusterView) -> bool:
    """Every partition has a leader and every shard a home (Elasticsearch yellow or green)."""
    kafka, search = view.kafka, view.elasticsearch
    return (
        isinstance(kafka, KafkaClusterView)
        and kafka.offline_partitions == 0
        and isinstance(search, SearchClusterView)
        and search.status != "red"
    )


def rolling_restart(stack: LocalStack, results: Results, *, after_s: float) -> Fault:
    """Every member stopped and started again, one by one, each once the cluster is whole."""

    async def fault(s: Settings, work: Path, children: list[Child]) -> None:
        times: dict[str, float | None] = {}
        async with Watch(s) as watch:
            try:
                await asyncio.sleep(after_s)
                for server in stack.servers():
                    started = time.monotonic()
                    await asyncio.to_thread(server.process.stop)
                    await asyncio.to_thread(stack.up)
                    whole = await watch.until(healthy, HEALTHY_TIMEOUT_S)
                    times[server.name] = (
                        None if whole is None else round(time.monotonic() - started, 1)
                    )
                results["member_s"] = times
                if all(t is not None for t in times.values()):
                    results["recovery_s"] = max(t for t in times.values() if t is not None)
            finally:
                results["seen"] = watch.seen

    return fault


CLUSTER_SCENARIOS = ["kafka_leader_killed", "es_node_killed", "rolling_restart"]


async def run_cluster_scenarios(
    settings: Settings, stack: LocalStack, count: int, work: Path, names: list[str]
) -> list[Outcome]:
    """Run the named cluster scenarios one after the other (the stack must be a cluster)."""
    names = [name.replace("-", "_") for name in names]
    unknown = sorted(set(names) - set(CLUSTER_SCENARIOS))
    if unknown:
        raise ValueError(f"unknown cluster scenarios {unknown}; known: {CLUSTER_SCENARIOS}")
    outcomes = []
    for name in names:
        results: Results = {}
        if name == "rolling_restart":
            # Paced so the stream lasts through the restarts (about 30 s per member here).
            rate = max(20.0, count / (30.0 * len(stack.servers())))
            fault = rolling_restart(stack, results, after_s=2.0)
        else:
            rate = max(100.0, count / 30.0)  # about 30 s of stream: the kill lands early in it
            target = kafka_leader if name == "kafka_leader_killed" else es_primary
            # Down long enough for the controller to fence a broker (its session: 9 s).
            fault = member_killed(stack, target, results, after_s=4.0, down_s=20.0)
        outcome = await scenario(settings, name, corpus_load(name, count), work, fault, rate=rate)
        outcome.recovery = _recovery(results)
        outcomes.append(outcome)
    return outcomes


def _recovery(results: Results) -> dict[str, Any]:
    """What the report says of a fault: who, how long, what the pipeline page showed."""
    seen: Seen | None = results.get("seen")
    shown = {} if seen is None else {k: v for k, v in vars(seen).items() if k != "samples"}
    return {k: v for k, v in results.items() if k != "seen"} | {"pipeline_showed": shown}
