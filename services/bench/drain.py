"""Newswire's indexer and the quixstreams peer draining one topic, in alternating rounds."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from services.bench import measure
from services.bench.procs import Child, free_port
from services.bench.ratios import median_of
from services.common.es import es_client
from services.common.settings import Settings

KINDS = ("indexer", "peer")


def round_settings(settings: Settings, kind: str, n: int) -> Settings:
    """The same topic, a consumer group and an index of this run's own.

    The indexer writes the documents the peer and the raw loader write, without embeddings
    (stories off): the ratios compare like with like. What stories cost the indexer is
    ``newswire bench stories-cost``'s measure.
    """
    return settings.model_copy(
        update={
            "indexer_group": f"{settings.indexer_group}-{kind}{n}",
            "index_alias": f"{settings.index_alias}-{kind}{n}",
            "indexer_port": free_port(),
            "stories_enabled": False,
        }
    )


async def bench_peer(settings: Settings, records: int, log: Path) -> tuple[float, int]:
    """The peer draining a backlog of ``records``, timed from its assignment: rate and RSS."""
    ready = log.with_suffix(".ready")
    ready.unlink(missing_ok=True)
    child = Child("services.bench.peer", settings, log, str(ready)).start()
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            if not child.running() or time.monotonic() > deadline:
                raise RuntimeError(f"the peer did not start: {log.read_text()[-1500:]}")
            await asyncio.sleep(0.05)
        rate = await measure.drain_rate(settings, records)
    finally:
        child.stop()
    return rate, child.peak_rss


async def alternate(settings: Settings, records: int, rounds: int, work: Path) -> dict[str, Any]:
    """Indexer, peer, indexer, peer...: each on a fresh group and index, after a settle.

    Only the last indexer's index is kept (the API phase searches it); the report's
    ``api_settings`` names it.
    """
    runs: dict[str, list[float]] = {kind: [] for kind in KINDS}
    rss: dict[str, int] = dict.fromkeys(KINDS, 0)
    kept: Settings | None = None
    for n in range(rounds):
        for kind in KINDS:
            mine = round_settings(settings, kind, n)
            await measure.settle(settings)
            log = work / f"{kind}-{n}.log"
            if kind == "indexer":
                rate, peak = await measure.bench_indexer(mine, records, log)
            else:
                rate, peak = await bench_peer(mine, records, log)
            runs[kind].append(rate)
            rss[kind] = max(rss[kind], peak)
            if kind == "peer":
                await _drop(mine)
                continue
            if kept is not None:
                await _drop(kept)
            kept = mine
    return {"runs": runs, "peak_rss": rss, "kept": kept}


def summary(drained: dict[str, Any]) -> dict[str, Any]:
    """The report's keys for the alternating rounds."""
    runs = drained["runs"]
    return {
        "indexer_docs_per_s": median_of(runs["indexer"]),
        "indexer_runs_docs_per_s": runs["indexer"],
        "peer_docs_per_s": median_of(runs["peer"]),
        "peer_runs_docs_per_s": runs["peer"],
    }


async def _drop(settings: Settings) -> None:
    async with es_client(settings) as es:
        names = await es.indices.get(index=f"{settings.index_alias}*", allow_no_indices=True)
        if names.body:
            await es.indices.delete(index=sorted(names.body))
