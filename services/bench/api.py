"""API searches next to the same queries sent straight to Elasticsearch, in one run."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from services.api import search
from services.api.index_fields import IndexFields
from services.bench.corpus import CATEGORIES, VOCABULARY
from services.bench.measure import percentile
from services.bench.procs import Child
from services.bench.ratios import ratio
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


def cpu_seconds(pid: int) -> float:
    """User plus system CPU a process has used so far, from its own counters."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


@dataclass
class Tally:
    """What one side (API or ES direct) did over its measured phases."""

    done: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0
    latencies: list[float] = field(default_factory=list)

    async def phase(
        self, send: Any, queries: list[search.SearchParams], concurrency: int, pid: int | None
    ) -> None:
        """One measured phase; with ``pid``, that process's CPU over it is counted too."""
        cpu = cpu_seconds(pid) if pid else 0.0
        started = time.perf_counter()
        self.done += await _phase(send, queries, PHASE_S, concurrency, self.latencies)
        self.seconds += time.perf_counter() - started
        if pid:
            self.cpu_s += cpu_seconds(pid) - cpu

    def cpu_ms_per_request(self) -> float:
        """Milliseconds of the counted process's CPU per request."""
        return self.cpu_s * 1000 / self.done if self.done else 0.0


async def bench_api(settings: Settings, plan: Any, log: Path) -> dict[str, float]:
    """Searches/s and latency of the API (one worker) and of ES direct, alternating phases."""
    queries = query_set()
    child = Child("services.api", settings, log).start()
    api, es_side, api_seq, es_seq = Tally(), Tally(), Tally(), Tally()
    try:
        await asyncio.to_thread(child.wait_ready, settings.api_port)
        assert child.proc is not None
        pid = child.proc.pid
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
            # Under load: throughput, latency and API CPU with api_concurrency clients.
            while api.seconds < plan.api_seconds:
                await api.phase(via_api, queries, plan.api_concurrency, pid)
                await es_side.phase(direct, queries, plan.api_concurrency, None)
            # One client at a time: what the API adds to each request, without queueing.
            for _ in range(max(1, int(plan.api_seconds / 2 / PHASE_S))):
                await api_seq.phase(via_api, queries, 1, pid)
                await es_seq.phase(direct, queries, 1, None)
    finally:
        child.stop()
    return _figures(plan, api, es_side, api_seq, es_seq) | {
        "peak_rss_mb": child.peak_rss / (1024 * 1024)
    }


def _figures(plan: Any, api: Tally, es: Tally, api_seq: Tally, es_seq: Tally) -> dict[str, float]:
    api_p50, es_p50 = percentile(api_seq.latencies, 50), percentile(es_seq.latencies, 50)
    api_rate, es_rate = ratio(api.done, api.seconds), ratio(es.done, es.seconds)
    return {
        "api_concurrency": plan.api_concurrency,
        "api_search_per_s": api_rate,
        "api_p50_ms": percentile(api.latencies, 50),
        "api_p99_ms": percentile(api.latencies, 99),
        "es_direct_per_s": es_rate,
        "es_direct_p50_ms": percentile(es.latencies, 50),
        "es_direct_p99_ms": percentile(es.latencies, 99),
        "api_sequential_p50_ms": api_p50,
        "es_direct_sequential_p50_ms": es_p50,
        "api_overhead_p50_ms": api_p50 - es_p50,
        "api_vs_es_p50_ratio": ratio(api_p50, es_p50),
        "api_vs_es_throughput_ratio": ratio(api_rate, es_rate),
        "api_cpu_ms_per_search": api.cpu_ms_per_request(),
        "api_cpu_ms_per_search_one_client": api_seq.cpu_ms_per_request(),
    }
