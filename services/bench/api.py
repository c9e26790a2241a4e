"""API searches next to the same queries sent straight to Elasticsearch, in one run."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from pathlib import Path
from typing import Any

import aiohttp

from services.api import search
from services.api.index_fields import IndexFields
from services.bench.corpus import CATEGORIES, VOCABULARY
from services.bench.measure import percentile
from services.bench.procs import Child
from services.common.es import es_client
from services.common.settings import Settings

PHASE_S = 3.0  # API and ES direct take turns, so drift on a shared machine hits both alike


def query_set(count: int = 200, seed: int = 7) -> list[search.SearchParams]:
    """A deterministic mix of what search pages send: words, phrases, prefixes, filters."""
    rng = random.Random(seed)
    # Words of middling frequency, as people search for: not "the", not a typo.
    pool = VOCABULARY[20:800]
    out = []
    for n in range(count):
        kind = n % 10
        if kind < 4:
            q = rng.choice(pool)
        elif kind < 6:
            q = f"{rng.choice(pool)} {rng.choice(pool)}"
        elif kind == 6:
            q = f'"{rng.choice(pool)} {rng.choice(pool)}"'
        elif kind == 7:
            q = rng.choice(pool)[:4] + "*"
        else:
            q = f"{rng.choice(pool)} OR {rng.choice(pool)}"
        with_facets = n % 2 == 0
        out.append(
            search.SearchParams(
                q=q,
                categories=(rng.choice(CATEGORIES),) if kind >= 8 else (),
                sort="newest" if n % 5 == 0 else "relevance",
                facets=("category", "published") if with_facets else (),
            )
        )
    return out


def _url_params(p: search.SearchParams) -> list[tuple[str, str]]:
    params = [("q", p.q), ("sort", p.sort), ("size", str(p.size))]
    params += [("category", c) for c in p.categories]
    params += [("facet", f) for f in p.facets]
    return params


async def _phase(
    send: Any,
    queries: list[search.SearchParams],
    seconds: float,
    concurrency: int,
    latencies: list[float],
) -> int:
    """Run ``send`` from ``concurrency`` workers for ``seconds``; returns requests done."""
    cycle = itertools.cycle(queries)
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            params = next(cycle)
            started = time.perf_counter()
            await send(params)
            latencies.append((time.perf_counter() - started) * 1000)
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def bench_api(settings: Settings, plan: Any, log: Path) -> dict[str, float]:
    """Searches/s and latency of the API (one worker) and of ES direct, alternating phases."""
    queries = query_set()
    child = Child("services.api", settings, log).start()
    api_lat: list[float] = []
    es_lat: list[float] = []
    api_seq: list[float] = []
    es_seq: list[float] = []
    api_done = es_done = 0
    api_time = es_time = 0.0
    try:
        await asyncio.to_thread(child.wait_ready, settings.api_port)
        base = f"http://127.0.0.1:{settings.api_port}/v1/search"
        connector = aiohttp.TCPConnector(limit=plan.api_concurrency * 2)
        async with aiohttp.ClientSession(connector=connector) as http, es_client(settings) as es:

            async def via_api(p: search.SearchParams) -> None:
                async with http.get(base, params=_url_params(p)) as reply:
                    await reply.read()
                    if reply.status != 200:
                        raise RuntimeError(f"API answered {reply.status}")

            # The request the API sends for this index (which fields it has), sent directly.
            features = await IndexFields(es, settings.index_alias).features()

            async def direct(p: search.SearchParams) -> None:
                await es.search(**search.build(p, settings.index_alias, features=features))

            # Warm both paths (connections, caches) before measuring.
            await _phase(via_api, queries, 2.0, plan.api_concurrency, [])
            await _phase(direct, queries, 2.0, plan.api_concurrency, [])
            # Under load: throughput and latency with api_concurrency clients.
            while api_time < plan.api_seconds:
                started = time.perf_counter()
                api_done += await _phase(via_api, queries, PHASE_S, plan.api_concurrency, api_lat)
                api_time += time.perf_counter() - started
                started = time.perf_counter()
                es_done += await _phase(direct, queries, PHASE_S, plan.api_concurrency, es_lat)
                es_time += time.perf_counter() - started
            # One client at a time: what the API adds to each request, without queueing.
            for _ in range(max(1, int(plan.api_seconds / 2 / PHASE_S))):
                await _phase(via_api, queries, PHASE_S, 1, api_seq)
                await _phase(direct, queries, PHASE_S, 1, es_seq)
    finally:
        child.stop()
    api_p50, es_p50 = percentile(api_seq, 50), percentile(es_seq, 50)
    return {
        "api_concurrency": plan.api_concurrency,
        "api_search_per_s": api_done / api_time,
        "api_p50_ms": percentile(api_lat, 50),
        "api_p99_ms": percentile(api_lat, 99),
        "es_direct_per_s": es_done / es_time,
        "es_direct_p50_ms": percentile(es_lat, 50),
        "es_direct_p99_ms": percentile(es_lat, 99),
        "api_sequential_p50_ms": api_p50,
        "es_direct_sequential_p50_ms": es_p50,
        "api_overhead_p50_ms": api_p50 - es_p50,
        "api_vs_es_p50_ratio": api_p50 / es_p50 if es_p50 else 0.0,
        "peak_rss_mb": child.peak_rss / (1024 * 1024),
    }
