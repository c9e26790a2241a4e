"""``newswire bench alerts``: saved searches under a steady article stream, timed end to end.

The indexer, the alerts service and the API run as child processes on topics and an index of
their own. The bench saves the searches through the API, listens to a sample of them over
SSE (and to every alert on the event topic itself), publishes corpus articles at a steady
rate through the ingest's publisher, and polls Elasticsearch itself to learn when each
article became searchable: the matcher's own clock is reported beside, never relied on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
from pydantic import SecretStr

from services.bench import alert_figures as figures
from services.bench.alert_specs import Spec, alert_specs, kind_of, search_query
from services.bench.corpus import Corpus
from services.bench.measure import bench_parse
from services.bench.procs import Child, free_port
from services.bench.suite import cleanup, machine, scoped
from services.common.article import Article
from services.common.es import es_client
from services.common.kafka import make_admin, make_consumer
from services.common.settings import Settings
from services.ingest.publisher import Publisher

MB = 1024 * 1024
_POLL_S = 0.05  # how often the bench asks Elasticsearch which articles are searchable
_SERVICES = ("indexer", "alerts", "api")


@dataclass(frozen=True)
class AlertsPlan:
    """How big an alerts run is."""

    alerts: int = 1000
    streams: int = 50
    rate: float = 200.0
    seconds: float = 60.0
    read_topic: bool = True  # also read every alert's events from the topic itself
    seed: int = 42

    @classmethod
    def quick(cls) -> AlertsPlan:
        """About a minute and a half in all."""
        return cls(seconds=20.0)


@dataclass
class Record:
    """What the run saw: publish and searchable times, and the events as they arrived."""

    published: dict[str, float] = field(default_factory=dict)
    searchable: dict[str, float] = field(default_factory=dict)
    streamed: list[figures.Received] = field(default_factory=list)
    topic: list[figures.Received] = field(default_factory=list)


def received(data: bytes) -> figures.Received:
    """An event's JSON as it arrived now."""
    event = orjson.loads(data)
    return figures.Received(
        alert_id=event["alert_id"],
        article_id=event["article"]["id"],
        kind=event["kind"],
        at=time.perf_counter(),
        wall=time.time(),
        searchable_at=datetime.fromisoformat(event["searchable_at"]).timestamp(),
        emitted_at=datetime.fromisoformat(event["emitted_at"]).timestamp(),
    )


def run(settings: Settings, plan: AlertsPlan, work: Path) -> dict[str, Any]:
    """The whole run on the live stack; the report."""
    tag = f"{uuid.uuid4().hex[:8]}-alerts"
    run_settings = scoped(settings, tag).model_copy(
        update={"alerts_port": free_port(), "api_key": SecretStr(secrets.token_urlsafe(24))}
    )
    report: dict[str, Any] = {"machine": machine(), "load_before": load()}
    try:
        with _children(run_settings, work) as children:
            report.update(asyncio.run(_measure(run_settings, plan, children)))
            for name, child in children.items():
                report.setdefault("peak_rss_mb", {})[name] = round(child.peak_rss / MB, 1)
    finally:
        asyncio.run(cleanup(settings, [tag]))
    report["load_after"] = load()
    report["verdict"] = figures.verdict(report)
    return report


def load() -> dict[str, Any]:
    """The machine's load averages now, and the cores they are shared over."""
    one, five, fifteen = os.getloadavg()
    return {
        "1m": round(one, 2),
        "5m": round(five, 2),
        "15m": round(fifteen, 2),
        "cores": os.cpu_count(),
    }


@contextlib.contextmanager
def _children(settings: Settings, work: Path) -> Iterator[dict[str, Child]]:
    ports = {
        "indexer": settings.indexer_port,
        "alerts": settings.alerts_port,
        "api": settings.api_port,
    }
    with contextlib.ExitStack() as stack:
        children: dict[str, Child] = {}
        for name in _SERVICES:  # the alerts service makes the event topic the API reads
            child = stack.enter_context(Child(f"services.{name}", settings, work / f"{name}.log"))
            child.wait_ready(ports[name], timeout=120)
            children[name] = child
        yield children


def _cpu(child: Child) -> float:
    assert child.proc is not None
    times = psutil.Process(child.proc.pid).cpu_times()
    return float(times.user + times.system)


async def _measure(
    settings: Settings, plan: AlertsPlan, children: dict[str, Child]
) -> dict[str, Any]:
    specs = alert_specs(plan.alerts, seed=plan.seed)
    count = int(plan.rate * plan.seconds)
    extra = Corpus(plan.seed + 7, malformed_share=0.0, update_share=0.0)
    articles = bench_parse(count, extra.seed, corpus=extra)[1][:count]
    base = f"http://127.0.0.1:{settings.api_port}"
    headers = {"Authorization": f"Bearer {settings.required_api_key()}"}
    record = Record()
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as api:
        started = time.perf_counter()
        alerts = await _save(api, specs)
        saving_s = time.perf_counter() - started
        await asyncio.sleep(settings.alerts_reload_ms / 1000 + 0.5)  # the matcher reads them
        # Drawn in the order the specs were made (ids are random): the same alerts every run.
        made = sorted(alerts, key=lambda alert_id: specs.index(alerts[alert_id]))
        sample = random.Random(plan.seed).sample(made, min(plan.streams, len(alerts)))
        async with _listening(base, sample, record, settings if plan.read_topic else None):
            cpu_before = {name: _cpu(child) for name, child in children.items()}
            es_before = await _es_stats(settings)
            stream = await _stream(settings, articles, plan, record)
            cpu = {n: _cpu(c) - cpu_before[n] for n, c in children.items()}
            es_after = await _es_stats(settings)
        stream["elasticsearch"] = {k: round(es_after[k] - es_before[k], 1) for k in es_after}
        stream["matcher"] = await _matcher_metrics(settings.alerts_port)
        expected = await _expected(api, {a: alerts[a] for a in _checked(alerts, sample, plan)})
    return _summary(plan, alerts, sample, expected, record, cpu, stream, saving_s, len(articles))


async def _es_stats(settings: Settings) -> dict[str, float]:
    """Elasticsearch's own CPU seconds and shard-level queries so far (all nodes)."""
    async with es_client(settings) as es:
        stats = await es.nodes.stats(metric=["process", "indices"], index_metric="search")
    nodes = stats["nodes"].values()
    return {
        "cpu_s": sum(n["process"]["cpu"]["total_in_millis"] for n in nodes) / 1000,
        "shard_queries": float(sum(n["indices"]["search"]["query_total"] for n in nodes)),
        "query_s": sum(n["indices"]["search"]["query_time_in_millis"] for n in nodes) / 1000,
    }


_METRICS = {
    "newswire_alerts_batch_seconds_count": "batches",
    "newswire_alerts_batch_seconds_sum": "batch_seconds",
    "newswire_alerts_records_total": "records",
    "newswire_alerts_search_errors_total": "search_errors",
    "newswire_alerts_never_searchable_total": "never_searchable",
}


async def _matcher_metrics(port: int) -> dict[str, float]:
    """The matcher's own counts: batches, their mean size and time (its /metrics)."""
    async with httpx.AsyncClient(timeout=30) as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    found: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in _METRICS:
            found[_METRICS[name]] = float(value)
    batches = found.get("batches", 0.0)
    if batches:
        found["mean_batch_records"] = round(found.get("records", 0.0) / batches, 1)
        found["mean_batch_s"] = round(found.get("batch_seconds", 0.0) / batches, 3)
    return found


def _checked(alerts: dict[str, Spec], sample: list[str], plan: AlertsPlan) -> list[str]:
    return sorted(alerts) if plan.read_topic else sample


async def _save(api: httpx.AsyncClient, specs: list[Spec]) -> dict[str, Spec]:
    """POST every spec (a few at a time); alert id -> spec."""
    gate = asyncio.Semaphore(8)  # each create refreshes the alerts index: overlap them
    saved: dict[str, Spec] = {}

    async def one(spec: Spec) -> None:
        async with gate:
            reply = await api.post("/v1/alerts", json=spec)
        if reply.status_code != 201:
            raise RuntimeError(f"POST /v1/alerts {spec}: {reply.status_code} {reply.text[:300]}")
        saved[reply.json()["id"]] = spec

    await asyncio.gather(*(one(spec) for spec in specs))
    return saved


@contextlib.asynccontextmanager
async def _listening(
    base: str, sample: list[str], record: Record, topic_of: Settings | None
) -> Any:
    """SSE streams of ``sample`` (and the event topic) read into ``record`` inside the block."""
    limits = httpx.Limits(max_connections=len(sample) + 1)
    async with httpx.AsyncClient(base_url=base, timeout=None, limits=limits) as sse:
        opened = [asyncio.Event() for _ in sample]
        tasks = [
            asyncio.create_task(_sse(sse, alert_id, record, ready))
            for alert_id, ready in zip(sample, opened, strict=True)
        ]
        if topic_of is not None:
            tasks.append(asyncio.create_task(_read_topic(topic_of, record)))
        try:
            while not all(e.is_set() for e in opened):
                for task in tasks:
                    if task.done():  # a stream that failed to open fails the run
                        task.result()
                        raise RuntimeError("an event stream ended before it opened")
                await asyncio.sleep(0.05)
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _sse(
    sse: httpx.AsyncClient, alert_id: str, record: Record, opened: asyncio.Event
) -> None:
    async with sse.stream("GET", f"/v1/alerts/{alert_id}/events") as reply:
        if reply.status_code != 200:
            raise RuntimeError(f"SSE of {alert_id}: {reply.status_code} {await reply.aread()!r}")
        opened.set()
        data: str | None = None
        async for line in reply.aiter_lines():
            if line.startswith("data: "):
                data = line[6:]
            elif line == "" and data is not None:
                record.streamed.append(received(data.encode()))
                data = None


async def _read_topic(settings: Settings, record: Record) -> None:
    """Every committed event on the alert-event topic, from its start."""
    consumer = make_consumer(
        settings.kafka_bootstrap,
        settings.topic_alert_events,
        group_id=None,
        isolation_level="read_committed",
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    try:
        while True:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                record.topic += [received(r.value) for r in batch if r.value]
    finally:
        await consumer.stop()


async def _stream(
    settings: Settings, articles: list[Article], plan: AlertsPlan, record: Record
) -> dict[str, Any]:
    """Publish at a steady rate while polling for searchability; wait for the matcher."""
    async with Publisher(settings) as publisher, es_client(settings) as es:
        poller = asyncio.create_task(_poll_searchable(settings, es, record, len(articles)))
        start = time.perf_counter()
        for n, article in enumerate(articles):
            await asyncio.sleep(max(0.0, start + n / plan.rate - time.perf_counter()))
            record.published[article.id] = time.perf_counter()
            await publisher.publish(article)
        published_s = time.perf_counter() - start
        caught_up_s = await _matcher_caught_up(settings, len(articles))
        # Events committed last still travel to the listeners: wait until none arrives.
        await _quiet(record, 2.0, 30.0)
        with contextlib.suppress(asyncio.CancelledError):
            poller.cancel()
            await poller
    return {
        "published_s": round(published_s, 2),
        "offered_rate_per_s": round(len(articles) / published_s, 1),
        "matcher_done_after_last_publish_s": round(caught_up_s, 2),
    }


async def _poll_searchable(settings: Settings, es: Any, record: Record, total: int) -> None:
    """Every ~50 ms, which published articles a search finds now (ids queries)."""
    while len(record.searchable) < total:
        pending = [i for i in record.published if i not in record.searchable]
        # Every pending id in each round, in chunks at once: with a backlog of thousands, a
        # capped list would note the later ones late, whenever the earlier ones were found.
        chunks = [pending[n : n + 2000] for n in range(0, len(pending), 2000)]
        await asyncio.gather(*(_found_now(settings, es, record, chunk) for chunk in chunks))
        await asyncio.sleep(_POLL_S)


async def _found_now(settings: Settings, es: Any, record: Record, ids: list[str]) -> None:
    reply = await es.search(
        index=settings.index_alias,
        query={"ids": {"values": ids}},
        source=False,
        size=len(ids),
        filter_path="hits.hits._id",
    )
    now = time.perf_counter()
    for hit in reply.body.get("hits", {}).get("hits", []):
        record.searchable.setdefault(hit["_id"], now)


async def _matcher_caught_up(settings: Settings, total: int, timeout: float = 600.0) -> float:
    """Seconds until the matcher's group has committed all ``total`` articles."""
    admin = make_admin(settings.kafka_bootstrap)
    await admin.start()
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            offsets = await admin.list_consumer_group_offsets(settings.alerts_group)
            done = sum(m.offset for tp, m in offsets.items() if tp.topic == settings.topic_articles)
            if done >= total:
                break
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
    return time.perf_counter() - started


async def _quiet(record: Record, quiet_s: float, timeout: float) -> None:
    started = time.perf_counter()
    seen = -1
    while time.perf_counter() - started < timeout:
        now = len(record.streamed) + len(record.topic)
        if now == seen:
            return
        seen = now
        await asyncio.sleep(quiet_s)


async def _expected(api: httpx.AsyncClient, alerts: dict[str, Spec]) -> dict[str, set[str]]:
    """Per alert, every id ``/v1/search`` finds on the first rung, every copy of a story."""
    gate = asyncio.Semaphore(2)

    async def one(alert_id: str) -> tuple[str, set[str]]:
        async with gate:
            return alert_id, await _found(api, alerts[alert_id])

    return dict(await asyncio.gather(*(one(alert_id) for alert_id in alerts)))


async def _found(api: httpx.AsyncClient, spec: Spec) -> set[str]:
    found: set[str] = set()
    cursor: str | None = None
    while True:
        params: list[tuple[str, str | int | float | bool | None]] = [
            *search_query(spec),
            ("size", 100),
            ("sort", "oldest"),
            ("versions", "all"),  # an alert is told of every copy of a story, not the best one
        ]
        if cursor:
            params.append(("cursor", cursor))
        reply = await _search(api, params)
        if reply.status_code != 200:
            raise RuntimeError(f"/v1/search {spec}: {reply.status_code} {reply.text[:300]}")
        page = reply.json()
        if not figures.first_rung(page):
            return found
        found |= {item["id"] for item in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            return found


async def _search(api: httpx.AsyncClient, params: Any) -> httpx.Response:
    """GET /v1/search, again after a timeout: a relaxed rung's typo search is slow on a busy box."""
    for attempt in range(5):
        reply = await api.get("/v1/search", params=params)
        if reply.status_code != 504:
            break
        await asyncio.sleep(0.5 * (attempt + 1))
    return reply


def _summary(
    plan: AlertsPlan,
    alerts: dict[str, Spec],
    sample: list[str],
    expected: dict[str, set[str]],
    record: Record,
    cpu: dict[str, float],
    stream: dict[str, Any],
    saving_s: float,
    articles: int,
) -> dict[str, Any]:
    chosen = set(sample)
    streamed_expected = {a: ids for a, ids in expected.items() if a in chosen}
    report: dict[str, Any] = {
        "plan": {**plan.__dict__, "articles": articles},
        "alerts_saved_s": round(saving_s, 1),
        "alert_kinds": dict(sorted(_kinds(alerts).items())),
        **stream,
        "searchable_seen": len(record.searchable),
        "freshness_s": figures.spread(
            [record.searchable[i] - record.published[i] for i in record.searchable]
        ),
        "cpu_s": {name: round(seconds, 2) for name, seconds in cpu.items()},
        "alerts_cpu_s_per_1000_articles": round(cpu["alerts"] / articles * 1000, 3),
        "streamed": {
            "alerts": len(sample),
            "events": len(record.streamed),
            "latency": figures.latencies(record.streamed, record.published, record.searchable),
            "check": figures.misses(streamed_expected, record.streamed),
            "duplicates": figures.duplicates(record.streamed),
        },
    }
    if plan.read_topic:
        report["all_alerts"] = {
            "events": len(record.topic),
            "latency_topic": figures.latencies(record.topic, record.published, record.searchable),
            "check": figures.misses(expected, record.topic),
            "duplicates": figures.duplicates(record.topic),
            "coverage": figures.coverage(expected, articles),
        }
    return report


def _kinds(alerts: dict[str, Spec]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for spec in alerts.values():
        counts[kind_of(spec)] = counts.get(kind_of(spec), 0) + 1
    return counts
