"""What mapping v3's analysis costs against v2's, measured in one run, the two alternating.

The same corpus, published once, is indexed by the indexer service into a v2-mapped and a
v3-mapped index in turn (a fresh consumer group each time), then the query API is measured on
each alias with the bench's query mix. ``news-articles.v2.json`` beside this module is mapping
v2 exactly as it was released.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from services.bench.api import bench_api
from services.bench.measure import bench_indexer, bench_parse, settle
from services.bench.procs import free_port
from services.bench.suite import cleanup, scoped
from services.common.es import es_client
from services.common.settings import Settings
from services.indexer.mapping import load_mapping
from services.ingest.publisher import Publisher

V2_MAPPING = Path(__file__).resolve().parent / "news-articles.v2.json"


def v2_mapping() -> dict[str, Any]:
    """Mapping v2 exactly as it was released."""
    data: dict[str, Any] = json.loads(V2_MAPPING.read_text())
    return data


def mappings() -> dict[str, dict[str, Any]]:
    """The two mappings compared: v2 as released, and the current one."""
    return {"v2": v2_mapping(), "v3": load_mapping()}


async def _publish(settings: Settings, count: int) -> int:
    articles = bench_parse(count, seed=42)[1]
    async with Publisher(settings) as publisher:
        futures = [await publisher.publish(article) for article in articles]
        await asyncio.gather(*futures)
    return len(articles)


async def create_index(settings: Settings, mapping: dict[str, Any]) -> None:
    """The scoped index with ``mapping``, and its alias (so the indexer keeps it as it is)."""
    async with es_client(settings) as es:
        await es.indices.create(index=settings.index_name, **mapping)
        await es.indices.put_alias(index=settings.index_name, name=settings.index_alias)


def run(settings: Settings, work: Path, *, size: int, rounds: int, api_s: float) -> dict[str, Any]:
    """Indexer docs/s and API figures per mapping, ``rounds`` times each, alternating."""
    run_id = uuid.uuid4().hex[:8]
    base = scoped(settings, f"{run_id}-map")
    tags = [f"{run_id}-map"]
    figures: dict[str, dict[str, list[float]]] = {"v2": {}, "v3": {}}
    try:
        published = asyncio.run(_publish(base, size))
        for n in range(rounds):
            for name, mapping in mappings().items():
                tag = f"{run_id}-map-{name}{n}"
                tags.append(tag)
                s = base.model_copy(
                    update={
                        "index_alias": f"bench-{tag}",
                        "indexer_group": f"bench-{tag}-indexer",
                        "indexer_port": free_port(),
                        "api_port": free_port(),
                    }
                )
                asyncio.run(create_index(s, mapping))
                asyncio.run(settle(settings))
                rate, _ = asyncio.run(bench_indexer(s, published, work / f"indexer-{tag}.log"))
                plan = SimpleNamespace(api_seconds=api_s, api_concurrency=8)
                api = asyncio.run(bench_api(s, plan, work / f"api-{tag}.log"))
                row = figures[name]
                for key, value in (("indexer_docs_per_s", rate), *api.items()):
                    row.setdefault(key, []).append(float(value))
    finally:
        asyncio.run(cleanup(settings, tags))
    return summarise(figures, size=published, rounds=rounds)


def summarise(figures: dict[str, dict[str, list[float]]], **meta: Any) -> dict[str, Any]:
    """Medians per mapping, v3 over v2 ratios, and every run's figure."""
    medians = {m: {k: statistics.median(v) for k, v in rows.items()} for m, rows in figures.items()}
    ratios = {
        key: medians["v3"][key] / medians["v2"][key]
        for key in ("indexer_docs_per_s", "api_search_per_s", "es_direct_per_s")
        if medians["v2"].get(key)
    }
    extra = {
        "api_overhead_p50_ms": {m: medians[m].get("api_overhead_p50_ms") for m in medians},
    }
    return {**meta, "median": medians, "v3_over_v2": ratios, **extra, "runs": figures}
