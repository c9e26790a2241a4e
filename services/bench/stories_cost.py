"""What embeddings and story clustering cost the indexer, measured in one run, alternating.

The same corpus, published once, is drained by the indexer service with stories off and on in
turn (a fresh index and consumer group each time); then freshness at a steady rate with
stories on, and the indexer's peak RSS in each case.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import uuid
from pathlib import Path
from typing import Any

from services.bench import measure
from services.bench.corpus import Corpus
from services.bench.procs import Child, free_port
from services.bench.suite import cleanup, scoped
from services.common.settings import Settings
from services.ingest.publisher import Publisher


async def _publish(settings: Settings, count: int) -> int:
    articles = measure.bench_parse(count, seed=42)[1]
    async with Publisher(settings) as publisher:
        futures = [await publisher.publish(article) for article in articles]
        await asyncio.gather(*futures)
    return len(articles)


def _freshness(settings: Settings, rate: float, seconds: float, log: Path) -> dict[str, float]:
    """Seconds from publish to searchable at ``rate`` articles/s, with stories on."""
    extra = Corpus(43, malformed_share=0.0, update_share=0.0)
    articles = measure.bench_parse(int(rate * seconds) + 10, extra.seed, corpus=extra)[1]
    child = Child("services.indexer", settings, log).start()
    try:
        child.wait_ready(settings.indexer_port)
        lags = asyncio.run(measure.bench_freshness(settings, articles, rate, seconds))
    finally:
        child.stop()
    return {
        "rate_per_s": rate,
        "seen": len(lags),
        "expected": int(rate * seconds),
        "p50_s": measure.percentile(lags, 50),
        "p99_s": measure.percentile(lags, 99),
        "indexer_peak_rss_mb": child.peak_rss / 1048576,
    }


def run(
    settings: Settings, work: Path, *, size: int, rounds: int, rate: float, seconds: float
) -> dict[str, Any]:
    """Indexer docs/s with stories off and on, ``rounds`` times each, alternating."""
    run_id = uuid.uuid4().hex[:8]
    base = scoped(settings, f"{run_id}-stc")
    tags = [f"{run_id}-stc"]
    rates: dict[str, list[float]] = {"off": [], "on": []}
    rss: dict[str, list[float]] = {"off": [], "on": []}
    load = [os.getloadavg()[0]]
    try:
        published = asyncio.run(_publish(base, size))
        for n in range(rounds):
            for mode in ("off", "on"):
                tag = f"{run_id}-stc-{mode}{n}"
                tags.append(tag)
                s = base.model_copy(
                    update={
                        "index_alias": f"bench-{tag}",
                        "indexer_group": f"bench-{tag}-indexer",
                        "indexer_port": free_port(),
                        "stories_enabled": mode == "on",
                    }
                )
                asyncio.run(measure.settle(settings))
                rate_, peak = asyncio.run(
                    measure.bench_indexer(s, published, work / f"indexer-{tag}.log")
                )
                rates[mode].append(rate_)
                rss[mode].append(peak / 1048576)
                load.append(os.getloadavg()[0])
        fresh = scoped(settings, f"{run_id}-stc-fresh")
        tags.append(f"{run_id}-stc-fresh")
        freshness = _freshness(fresh, rate, seconds, work / "indexer-fresh.log")
    finally:
        asyncio.run(cleanup(settings, tags))
    medians = {m: statistics.median(v) for m, v in rates.items()}
    return {
        "size": published,
        "rounds": rounds,
        "indexer_docs_per_s": rates,
        "median_docs_per_s": medians,
        "ratio_on_over_off": medians["on"] / medians["off"],
        "indexer_peak_rss_mb": rss,
        "freshness_with_stories": freshness,
        "load_average_1m": load,
    }
