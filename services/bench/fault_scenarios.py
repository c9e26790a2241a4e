"""``newswire chaos``: stream articles while something breaks; count what was lost or doubled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from services.bench.corpus import Corpus
from services.bench.loads import (
    Item,
    Load,
    check_dead_letters,
    corpus_load,
    large_burst_load,
    poison_load,
)
from services.bench.measure import Progress
from services.bench.procs import Child
from services.bench.suite import scoped
from services.common.errors import NewswireError
from services.common.es import es_client
from services.common.kafka import boundary, ensure_topics, make_producer, topic_offsets
from services.common.settings import Settings
from services.ingest.parser import parse_path
from services.stack.local_stack import LocalStack


@dataclass
class Outcome:
    """One scenario's count: lost and duplicated must both be 0."""

    scenario: str
    sent: int = 0
    accepted: int = 0
    dlq: int = 0
    indexed: int = 0
    unique_ids: int = 0
    expected_ids: int = 0  # distinct ids among the accepted (later edits share an id)
    lost: int = 0
    duplicated: int = 0
    seconds: float = 0.0
    dlq_by_code: dict[str, int] = field(default_factory=dict)  # expected, checked in notes
    # Cluster scenarios: the member lost, failover and recovery times, what the page showed.
    recovery: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing doubled."""
        return self.lost == 0 and self.duplicated == 0


class Stream:
    """Publishes records at a steady pace, re-sending what failed."""

    def __init__(self, settings: Settings, items: list[Item], rate: float):
        self.settings = settings
        self.items = items
        self.rate = rate
        self.sent = 0

    async def run(self) -> None:
        """Send everything; a record whose ack failed is sent again until it is acknowledged."""
        producer = make_producer(self.settings, client_id="chaos")
        await producer.start()
        try:
            start = time.perf_counter()
            pending: list[tuple[asyncio.Future[Any], Item]] = []
            for n, item in enumerate(self.items):
                await asyncio.sleep(max(0.0, start + n / self.rate - time.perf_counter()))
                pending.append((await self._send(producer, item), item))
                self.sent += 1
                if len(pending) >= 500:
                    await self._settle(producer, pending)
                    pending = []
            await self._settle(producer, pending)
        finally:
            await producer.stop()

    async def _send(self, producer: AIOKafkaProducer, item: Item) -> asyncio.Future[Any]:
        while True:
            try:
                with boundary("chaos stream: cannot send"):
                    future: asyncio.Future[Any] = await producer.send(
                        self.settings.topic_articles, item[1], key=item[0]
                    )
                return future
            except NewswireError as error:
                if not error.retriable:  # a refusal for good: sending again cannot pass
                    raise
                await asyncio.sleep(0.5)

    async def _settle(
        self,
        producer: AIOKafkaProducer,
        pending: list[tuple[asyncio.Future[Any], Item]],
    ) -> None:
        for future, item in pending:
            while True:
                try:
                    with boundary("chaos stream: no ack"):
                        await future
                    break
                except NewswireError as error:
                    if not error.retriable:
                        raise
                    await asyncio.sleep(0.5)
                    future = await self._send(producer, item)


async def verify(settings: Settings, expected: set[str], outcome: Outcome) -> None:
    """Count the index and the DLQ against what was accepted."""
    offsets = await topic_offsets(settings.kafka_bootstrap, settings.topic_dlq)
    outcome.dlq = sum(end - start for start, end in offsets.values())
    ids: list[str] = []
    async with es_client(settings, timeout=120) as es:
        await es.indices.refresh(index=settings.index_alias)
        after: list[Any] | None = None
        while True:
            reply = await es.search(
                index=settings.index_alias,
                size=5000,
                source_includes=["id"],
                sort=[{"id": "asc"}],
                search_after=after,
                query={"match_all": {}},
            )
            hits = reply["hits"]["hits"]
            if not hits:
                break
            ids.extend(h["_source"]["id"] for h in hits)
            after = hits[-1]["sort"]
    outcome.indexed = len(ids)
    outcome.unique_ids = len(set(ids))
    outcome.duplicated = len(ids) - len(set(ids)) + len(set(ids) - expected)
    outcome.lost = len(expected - set(ids))
    outcome.expected_ids = len(expected)


Fault = Callable[[Settings, Path, list[Child]], Awaitable[None]]


async def _wait_committed(settings: Settings, total: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    async with Progress(settings) as progress:
        while time.monotonic() < deadline:
            if await progress.committed() >= total:
                return True
            await asyncio.sleep(0.5)
    return False


async def scenario(
    settings: Settings,
    name: str,
    load: Load,
    work: Path,
    fault: Fault,
    *,
    rate: float = 2000.0,
    indexer: dict[str, Any] | None = None,
) -> Outcome:
    """Stream ``load`` through a running indexer while ``fault`` runs beside it."""
    s = scoped(settings, f"chaos-{name}-{int(time.time())}")
    await ensure_topics(s)
    outcome = Outcome(name)
    started = time.perf_counter()
    stream = Stream(s, load.items, rate)
    child_settings = s.model_copy(update=indexer or {})
    indexers = [Child("services.indexer", child_settings, work / f"{name}-indexer-0.log").start()]
    try:
        await asyncio.to_thread(indexers[0].wait_ready, s.indexer_port)
        await asyncio.gather(stream.run(), fault(child_settings, work, indexers))
        if not await _wait_committed(s, len(load.items), timeout=300):
            outcome.notes.append("indexer did not commit everything within 5 minutes")
    finally:
        for child in indexers:
            child.stop()
    outcome.sent = stream.sent
    outcome.accepted = len(load.articles)
    await verify(s, {a.id for a in load.articles}, outcome)
    outcome.dlq_by_code = dict(load.dead)
    outcome.notes.extend(await check_dead_letters(s, load))
    outcome.seconds = round(time.perf_counter() - started, 1)
    return outcome


async def kill_indexer(s: Settings, work: Path, children: list[Child]) -> None:
    """kill -9 the indexer three times mid-stream, restarting it each time."""
    for n in range(3):
        await asyncio.sleep(2.5)
        children[-1].kill()
        children.append(Child("services.indexer", s, work / f"kill-{n}.log").start())


def restart_server(stack: LocalStack | None, name: str, down_s: float) -> Fault:
    """Stop one server of the local stack mid-stream and bring it back after ``down_s``."""

    async def fault(s: Settings, work: Path, children: list[Child]) -> None:
        if stack is None:
            raise RuntimeError("restarting a server needs the local stack")
        await asyncio.sleep(3)
        server = next(x for x in stack.servers() if x.name == name)
        await asyncio.to_thread(server.process.stop)
        await asyncio.sleep(down_s)
        await asyncio.to_thread(stack.up)

    return fault


async def nothing(s: Settings, work: Path, children: list[Child]) -> None:
    """No fault: the poison records themselves are the test."""


async def rebalance(s: Settings, work: Path, children: list[Child]) -> None:
    """A second and a third indexer join mid-stream, then leave (SIGTERM)."""
    await asyncio.sleep(2)
    joined = [
        Child(
            "services.indexer",
            s.model_copy(update={"indexer_port": _port()}),
            work / f"join-{n}.log",
        ).start()
        for n in range(2)
    ]
    await asyncio.sleep(4)
    for child in joined:
        await asyncio.to_thread(child.stop)


def _port() -> int:
    from services.bench.procs import free_port

    return free_port()


async def ingest_killed(settings: Settings, count: int, work: Path) -> Outcome:
    """``newswire ingest`` of a backfill killed with -9 mid-way, then run again."""
    s = scoped(settings, f"chaos-ingest-{int(time.time())}")
    s = s.model_copy(update={"state_dir": work / "ingest-state"})
    outcome = Outcome("ingest_killed")
    started = time.perf_counter()
    folder = work / "backfill"
    Corpus(seed=99, malformed_share=0.0).write(folder, count)
    articles = [parse_path(path) for path in sorted(folder.iterdir())]
    indexer = Child("services.indexer", s, work / "ingest-indexer.log").start()
    try:
        await asyncio.to_thread(indexer.wait_ready, s.indexer_port)
        first = Child("services.cli", s, work / "ingest-1.log", "ingest", str(folder), "-q").start()
        await asyncio.sleep(2.0)
        first.kill()
        second = Child("services.cli", s, work / "ingest-2.log", "ingest", str(folder), "-q")
        if await asyncio.to_thread(second.start().wait, 900) != 0:
            outcome.notes.append("second ingest failed")
        total = await _published(s)
        await _wait_committed(s, total, timeout=300)
    finally:
        indexer.stop()
    outcome.sent = count
    outcome.accepted = len(articles)
    await verify(s, {a.id for a in articles}, outcome)
    outcome.seconds = round(time.perf_counter() - started, 1)
    return outcome


async def _published(s: Settings) -> int:
    offsets = await topic_offsets(s.kafka_bootstrap, s.topic_articles)
    return sum(end for _, end in offsets.values())


SCENARIOS = [
    "indexer_kill9",
    "es_restart",
    "kafka_restart",
    "poison_1pct",
    "poison_records",
    "large_burst",
    "ingest_killed",
    "rebalance",
]
# Records over this are dead-lettered unsent in poison_records (it carries a few on purpose).
POISON_BULK_MAX_BYTES = 256 * 1024


async def run_scenarios(
    settings: Settings, stack: LocalStack | None, count: int, work: Path, names: list[str]
) -> list[Outcome]:
    """Run the named scenarios one after the other."""

    def run(name: str, fault: Fault, **kwargs: Any) -> Callable[[], Awaitable[Outcome]]:
        return lambda: scenario(settings, name, corpus_load(name, count), work, fault, **kwargs)

    table: dict[str, Callable[[], Awaitable[Outcome]]] = {
        "indexer_kill9": run("indexer_kill9", kill_indexer),
        "es_restart": run("es_restart", restart_server(stack, "elasticsearch", 10)),
        "kafka_restart": run("kafka_restart", restart_server(stack, "kafka", 5)),
        "poison_1pct": lambda: scenario(
            settings, "poison_1pct", corpus_load("poison_1pct", count, 0.01), work, nothing
        ),
        "poison_records": lambda: scenario(
            settings,
            "poison_records",
            poison_load(count, POISON_BULK_MAX_BYTES),
            work,
            nothing,
            indexer={"bulk_max_bytes": POISON_BULK_MAX_BYTES},
        ),
        # 500 articles of about 1 MB as fast as Kafka takes them.
        "large_burst": lambda: scenario(
            settings, "large_burst", large_burst_load(500), work, nothing, rate=10_000
        ),
        "ingest_killed": lambda: ingest_killed(settings, count, work),
        "rebalance": run("rebalance", rebalance),
    }
    names = [name.replace("-", "_") for name in names]  # poison-records as well as poison_records
    unknown = sorted(set(names) - set(table))
    if unknown:
        raise ValueError(f"unknown scenarios {unknown}; known: {sorted(table)}")
    return [await table[name]() for name in names]


def as_report(outcomes: list[Outcome]) -> dict[str, Any]:
    """The JSON report: one entry per scenario."""
    return {"scenarios": [asdict(o) for o in outcomes], "ok": all(o.ok for o in outcomes)}
