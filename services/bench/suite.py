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

from services.bench import measure
from services.bench.corpus import Corpus
from services.bench.procs import free_port
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

    @classmethod
    def quick(cls) -> Plan:
        """Under three minutes on two cores."""
        return cls(
            size=5000, fresh_seconds=10.0, api_seconds=10.0, burst_uploads=100, slow_connections=50
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
    tags = [f"{run_id}-ingest", f"{run_id}-raw", f"{run_id}-fresh"]
    report: dict[str, Any] = {"machine": machine(), "size": plan.size, "peak_rss_mb": {}}
    try:
        # 1. Parser, one core.
        report["parser_articles_per_s"], articles = measure.bench_parse(plan.size, plan.seed)
        # 2. newswire ingest of plan.size files into Kafka, as its own process.
        folder = work / "corpus"
        Corpus(plan.seed).write(folder, plan.size)
        ingest_settings = scoped(settings, tags[0])
        ingest = measure.bench_ingest(ingest_settings, folder, plan.size, work / "ingest.log")
        report["peak_rss_mb"]["ingest"] = ingest.pop("ingest_peak_rss") / MB
        report.update(ingest)
        shutil.rmtree(folder)
        # 3. Raw _bulk loader and the indexer on the same documents, one after the other,
        # each starting on an Elasticsearch with no merge left over from before.
        docs = measure.documents(articles)
        settled = [asyncio.run(measure.settle(settings))]
        report["raw_bulk_docs_per_s"] = asyncio.run(
            measure.bench_raw_bulk(scoped(settings, tags[1]), docs, settings.batch_max_docs)
        )
        published = sum(1 for _ in articles)
        settled.append(asyncio.run(measure.settle(settings)))
        rate, rss = asyncio.run(
            measure.bench_indexer(ingest_settings, published, work / "indexer.log")
        )
        report["indexer_docs_per_s"] = rate
        report["peak_rss_mb"]["indexer"] = rss / MB
        report["indexer_vs_bulk_ratio"] = rate / report["raw_bulk_docs_per_s"]
        # 4. Freshness at a steady offered rate, the indexer running as a service.
        report.update(_freshness(settings, plan, tags[2], work))
        # 5. API on the indexed corpus, next to the same queries sent straight to ES.
        from services.bench.api import bench_api

        settled.append(asyncio.run(measure.settle(settings)))
        report["settle_s"] = [round(seconds, 1) for seconds in settled]

        api = asyncio.run(bench_api(ingest_settings, plan, work / "api.log"))
        report["peak_rss_mb"]["api"] = api.pop("peak_rss_mb")
        report.update(api)
        # 6. The ingest service under 500 concurrent 1 MB uploads and 400 slow connections.
        from services.bench.burst import bench_burst

        burst = bench_burst(
            scoped(settings, tags[0]),
            work,
            uploads=plan.burst_uploads,
            slow=plan.slow_connections,
            slow_seconds=15.0 if plan.size < 50_000 else 30.0,
        )
        report["ingest_burst"] = burst
        report["peak_rss_mb"]["ingest_burst"] = burst["burst_peak_rss_mb"]
        report["peak_rss_mb"]["ingest_slow"] = burst["slow_peak_rss_mb"]
    finally:
        asyncio.run(cleanup(settings, tags))
    return report


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
