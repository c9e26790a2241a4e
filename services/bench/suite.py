"""``newswire bench``: every figure of the README, measured side by side in one run."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from services.bench import bulk_sweep, drain, measure
from services.bench.api import bench_api
from services.bench.corpus import Corpus
from services.bench.peer import peer_settings
from services.bench.procs import free_port
from services.bench.producer_perf import bench_producer_perf
from services.bench.ratios import best_cell, ratio, ratios
from services.common.article import Article
from services.common.settings import Settings
from services.stack.isolation import isolated

MB = 1024 * 1024


@dataclass(frozen=True)
class Plan:
    """How big a run is."""

    size: int
    fresh_rate: float = 200.0
    fresh_seconds: float = 30.0
    api_seconds: float = 30.0
    api_concurrency: int = 8
    seed: int = 42

    burst_uploads: int = 500
    slow_connections: int = 400
    drain_rounds: int = 3  # indexer, peer, indexer, peer...: medians of this many each
    short_sweep: bool = False  # the raw _bulk sweep of --quick

    @classmethod
    def quick(cls) -> Plan:
        """Under five minutes on two cores."""
        return cls(
            size=5000,
            fresh_seconds=10.0,
            api_seconds=10.0,
            burst_uploads=100,
            slow_connections=50,
            drain_rounds=1,
            short_sweep=True,
        )


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def scoped(settings: Settings, tag: str) -> Settings:
    """Settings with topics, group and index of their own for one bench step."""
    return isolated(settings, f"bench-{tag}").model_copy(
        update={
            # Ports of their own: a `make up` pipeline may be running beside the bench.
            "indexer_port": free_port(),
            "api_port": free_port(),
            "ingest_port": free_port(),
        }
    )


async def cleanup(settings: Settings, tags: list[str]) -> None:
    """Delete the indices and topics of a bench run's tags."""
    from services.common.es import es_client
    from services.common.kafka import make_admin

    async with es_client(settings) as es:
        names = await es.indices.get(index=[f"bench-{t}*" for t in tags], allow_no_indices=True)
        if names.body:
            # Wildcard deletes are refused (action.destructive_requires_name): name each index.
            await es.indices.delete(index=sorted(names.body))
    admin = make_admin(settings.kafka_bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if any(tag in t for tag in tags)]
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()


def run(settings: Settings, plan: Plan, *, work: Path | None = None) -> dict[str, Any]:
    """Run every measurement and return the report."""
    work = work or Path(tempfile.mkdtemp(prefix="newswire-bench-"))
    run_id = uuid.uuid4().hex[:8]
    tags = [f"{run_id}-{step}" for step in ("ingest", "raw", "fresh", "perf")]
    report: dict[str, Any] = {"machine": machine(), "size": plan.size, "peak_rss_mb": {}}
    try:
        # 1. Parser, one core; 2. newswire ingest of plan.size files into Kafka, as its own
        # process, and Kafka's own producer with the same settings and records beside it.
        report["parser_articles_per_s"], articles = measure.bench_parse(plan.size, plan.seed)
        ingest_settings = scoped(settings, tags[0])
        report.update(_ingest(ingest_settings, plan, work, report["peak_rss_mb"]))
        report.update(_producer_perf(scoped(settings, tags[3]), articles, work))
        # 3. The raw _bulk loader swept, then the indexer and the peer in alternating rounds,
        # each phase starting on an Elasticsearch with no merge left over from before.
        settled = [asyncio.run(measure.settle(settings))]
        report.update(_raw_bulk(scoped(settings, tags[1]), plan, measure.documents(articles)))
        drained = asyncio.run(
            drain.alternate(ingest_settings, len(articles), plan.drain_rounds, work)
        )
        report.update(drain.summary(drained))
        report["peer"] = {
            "settings": peer_settings(drain.round_settings(ingest_settings, "peer", 0))
        }
        for kind, rss in drained["peak_rss"].items():
            report["peak_rss_mb"][kind] = rss / MB
        report["indexer_vs_bulk_ratio"] = ratio(
            report["indexer_docs_per_s"], report["raw_bulk_docs_per_s"]
        )
        # 4. Freshness at a steady offered rate, the indexer running as a service.
        report.update(_freshness(settings, plan, tags[2], work))
        # 5. API on the last indexer's index, next to the same queries sent straight to ES.
        settled.append(asyncio.run(measure.settle(settings)))
        report["settle_s"] = [round(seconds, 1) for seconds in settled]
        api = asyncio.run(bench_api(drained["kept"], plan, work / "api.log"))
        report["peak_rss_mb"]["api"] = api.pop("peak_rss_mb")
        report.update(api)
        # 6. The ingest service under 500 concurrent 1 MB uploads and 400 slow connections.
        report.update(_burst(scoped(settings, tags[0]), plan, work, report["peak_rss_mb"]))
        report["ratios"] = ratios(report)
    finally:
        asyncio.run(cleanup(settings, tags))
    return report


def _ingest(settings: Settings, plan: Plan, work: Path, rss: dict[str, float]) -> dict[str, Any]:
    folder = work / "corpus"
    Corpus(plan.seed).write(folder, plan.size)
    ingest = measure.bench_ingest(settings, folder, plan.size, work / "ingest.log")
    rss["ingest"] = ingest.pop("ingest_peak_rss") / MB
    shutil.rmtree(folder)
    return ingest


def _producer_perf(settings: Settings, articles: list[Article], work: Path) -> dict[str, Any]:
    """The records the ingest published (the article JSON), as many, to a topic of their own."""
    payloads = [a.model_dump_json().encode() for a in articles]
    perf = bench_producer_perf(settings, payloads, work)
    return {"producer_perf_records_per_s": perf.pop("records_per_s"), "producer_perf": perf}


def _raw_bulk(settings: Settings, plan: Plan, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The sweep's table, its best cell, and the one-in-flight figure at the indexer's size."""
    size = settings.batch_max_docs
    table = asyncio.run(bulk_sweep.sweep(settings, docs, bulk_sweep.cells(plan.short_sweep, size)))
    best = best_cell(table)
    one = next(row for row in table if (row["in_flight"], row["bulk_docs"]) == (1, size))
    return {
        "raw_bulk_docs_per_s": one["docs_per_s"],
        "raw_bulk_sweep": table,
        "raw_bulk_best_docs_per_s": best["docs_per_s"],
        "raw_bulk_best_in_flight": best["in_flight"],
        "raw_bulk_best_bulk_docs": best["bulk_docs"],
    }


def _burst(settings: Settings, plan: Plan, work: Path, rss: dict[str, float]) -> dict[str, Any]:
    from services.bench.burst import bench_burst

    burst = bench_burst(
        settings,
        work,
        uploads=plan.burst_uploads,
        slow=plan.slow_connections,
        slow_seconds=15.0 if plan.size < 50_000 else 30.0,
    )
    rss["ingest_burst"] = burst["burst_peak_rss_mb"]
    rss["ingest_slow"] = burst["slow_peak_rss_mb"]
    return {"ingest_burst": burst}


def _freshness(settings: Settings, plan: Plan, tag: str, work: Path) -> dict[str, float]:
    from services.bench.procs import Child

    fresh = scoped(settings, tag)
    extra = Corpus(plan.seed + 1, malformed_share=0.0, update_share=0.0)
    count = int(plan.fresh_rate * plan.fresh_seconds) + 10
    articles = measure.bench_parse(count, extra.seed, corpus=extra)[1]
    # The indexer's own batching wait is part of freshness: keep the service defaults.
    child = Child("services.indexer", fresh, work / "indexer-fresh.log").start()
    try:
        child.wait_ready(fresh.indexer_port)
        lags = asyncio.run(
            measure.bench_freshness(fresh, articles, plan.fresh_rate, plan.fresh_seconds)
        )
    finally:
        child.stop()
    expected = int(plan.fresh_rate * plan.fresh_seconds)
    return {
        "freshness_rate_per_s": plan.fresh_rate,
        "freshness_seen": len(lags),
        "freshness_expected": expected,
        "freshness_p50_s": measure.percentile(lags, 50),
        "freshness_p95_s": measure.percentile(lags, 95),
        "freshness_p99_s": measure.percentile(lags, 99),
    }


def write_report(report: dict[str, Any], path: Path) -> None:
    """Write the JSON report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
