"""The benchmark measurements, one function each; ``suite`` strings them together."""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

import orjson

from services.bench.corpus import Corpus
from services.bench.procs import Child
from services.common.article import Article
from services.common.errors import ArticleRejected
from services.common.es import es_client
from services.common.kafka import make_admin
from services.common.settings import Settings
from services.indexer.mapping import ensure_index, to_document
from services.ingest.parser import parse_article
from services.ingest.publisher import Publisher


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


def bench_parse(
    count: int, seed: int, *, corpus: Corpus | None = None
) -> tuple[float, list[Article]]:
    """Articles parsed per second on one core, and the articles."""
    texts = [d.text.encode() for d in (corpus or Corpus(seed)).docs(count)]
    started = time.perf_counter()
    articles = []
    for n, text in enumerate(texts):
        # The corpus holds malformed inputs on purpose: rejecting them is parsing work too.
        with contextlib.suppress(ArticleRejected):
            articles.append(parse_article(text, source=f"bench:{n}"))
    return count / (time.perf_counter() - started), articles


def bench_ingest(settings: Settings, folder: Path, files: int, log: Path) -> dict[str, float]:
    """``newswire ingest`` of a folder as its own process: rates with and without start-up."""
    out = log.with_suffix(".json")
    args = ("ingest", str(folder), "--force", "--quiet", "--json")
    child = Child("services.cli", settings, log, *args)
    started = time.perf_counter()
    child.start(stdout=out)
    if child.wait(timeout=3600) != 0:
        raise RuntimeError(f"ingest failed: {log.read_text()[-1500:]}")
    wall = time.perf_counter() - started
    summary = json.loads(out.read_text())
    return {
        "ingest_articles_per_s": files / summary["seconds"],
        "ingest_wall_articles_per_s": files / wall,
        "ingest_peak_rss": float(child.peak_rss),
    }


async def settle(settings: Settings, *, timeout: float = 120.0) -> float:
    """Wait until Elasticsearch runs no merge (seen twice), at most ``timeout``; seconds waited.

    Phases run one after the other: without this, the merges a phase leaves behind would be
    paid for by the next one and not by the phase that caused them.
    """
    started = time.perf_counter()
    quiet = 0
    async with es_client(settings) as es:
        while quiet < 2 and time.perf_counter() - started < timeout:
            stats = await es.nodes.stats(metric="indices", index_metric="merge")
            running = sum(n["indices"]["merges"]["current"] for n in stats["nodes"].values())
            quiet = quiet + 1 if running == 0 else 0
            await asyncio.sleep(0.5)
    return time.perf_counter() - started


async def bench_raw_bulk(
    settings: Settings, docs: list[dict[str, Any]], chunk: int, *, in_flight: int = 1
) -> float:
    """A plain ``_bulk`` loader with ``in_flight`` requests at a time: documents per second."""
    async with es_client(settings, timeout=120) as es:
        await ensure_index(es, settings)
        offsets = iter(range(0, len(docs), chunk))

        async def loader() -> None:
            # Workers share one iterator: each takes the next chunk as soon as its bulk returns.
            for offset in offsets:
                # The fastest plain loader: orjson NDJSON, no versions, no checks beyond "errors".
                lines = []
                for doc in docs[offset : offset + chunk]:
                    action = {"index": {"_index": settings.index_alias, "_id": doc["id"]}}
                    lines.append(orjson.dumps(action))
                    lines.append(orjson.dumps(doc))
                body = b"\n".join(lines) + b"\n"
                reply = await es.bulk(operations=body, filter_path="errors")  # type: ignore[arg-type]
                if reply.get("errors"):
                    raise RuntimeError("raw bulk loader got item errors")

        started = time.perf_counter()
        await asyncio.gather(*(loader() for _ in range(in_flight)))
        return len(docs) / (time.perf_counter() - started)


class Progress:
    """The indexer group's committed total, read through one long-lived admin client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.admin = make_admin(settings.kafka_bootstrap)

    async def __aenter__(self) -> Progress:
        await self.admin.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.admin.close()

    async def committed(self) -> int:
        """Records the group has committed on the article topic."""
        offsets = await self.admin.list_consumer_group_offsets(self.settings.indexer_group)
        topic = self.settings.topic_articles
        return sum(m.offset for tp, m in offsets.items() if tp.topic == topic)


async def bench_indexer(settings: Settings, records: int, log: Path) -> tuple[float, int]:
    """The indexer service draining a backlog of ``records``: docs per second and peak RSS."""
    child = Child("services.indexer", settings, log)
    child.start()
    try:
        await asyncio.to_thread(child.wait_ready, settings.indexer_port)
        rate = await drain_rate(settings, records)
    finally:
        child.stop()
    return rate, child.peak_rss


async def drain_rate(settings: Settings, records: int) -> float:
    """Records per second until ``indexer_group`` has committed ``records``, from now."""
    async with Progress(settings) as progress:
        started = time.perf_counter()
        while await progress.committed() < records:
            if time.perf_counter() - started > 1800:
                raise RuntimeError(f"{settings.indexer_group} did not catch up in 30 minutes")
            await asyncio.sleep(0.1)
        return records / (time.perf_counter() - started)


async def bench_freshness(
    settings: Settings, articles: list[Article], rate: float, seconds: float
) -> list[float]:
    """Publish at a steady ``rate`` with the indexer running: seconds from send to searchable."""
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    plan = articles[: int(rate * seconds)]
    async with Publisher(settings) as publisher, es_client(settings) as es:
        done = asyncio.Event()

        async def poll() -> None:
            while not done.is_set() or len(seen) < len(sent):
                pending = [i for i in sent if i not in seen][:2000]
                if pending:
                    reply = await es.search(
                        index=settings.index_alias,
                        query={"ids": {"values": pending}},
                        source=False,
                        size=len(pending),
                        filter_path="hits.hits._id",
                    )
                    now = time.perf_counter()
                    for hit in reply.body.get("hits", {}).get("hits", []):
                        seen.setdefault(hit["_id"], now)
                if done.is_set() and time.perf_counter() - finished > 30:
                    break
                await asyncio.sleep(0.05)

        finished = float("inf")
        poller = asyncio.create_task(poll())
        start = time.perf_counter()
        for n, article in enumerate(plan):
            await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
            sent[article.id] = time.perf_counter()
            await publisher.publish(article)
        finished = time.perf_counter()
        done.set()
        await poller
    return sorted(seen[i] - sent[i] for i in seen)


def documents(articles: list[Article]) -> list[dict[str, Any]]:
    """The documents the indexer would write for these articles."""
    return [to_document(a) for a in articles]
