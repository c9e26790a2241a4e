"""Run the relevance suite through the real pipeline: Kafka, the indexer, the query API.

The suite goes into a fresh, scoped topic and index through the production path, so the
analysis measured is whatever the mapping and the API do at the time of the run. It runs
twice: with the current mapping, then with mapping v2 as released (the same API, which serves
a v2 index as it serves an index not yet reindexed), so the two figures come from one run.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from services.bench import relevance
from services.bench.mapping_cost import create_index, v2_mapping
from services.bench.measure import Progress
from services.bench.procs import Child
from services.bench.relevance import Outcome, Query
from services.bench.suite import cleanup, machine, scoped
from services.common.es import es_client
from services.common.settings import Settings
from services.ingest.parser import parse_path
from services.ingest.publisher import Publisher

INDEX_TIMEOUT_S = 300.0


def load_suite(folder: Path = relevance.SUITE_DIR) -> dict[str, Any]:
    """Parse every judged article as ingest does; returns {article id: (file name, article)}."""
    suite: dict[str, Any] = {}
    for path in relevance.suite_files(folder):
        article = parse_path(path)
        if article.id in suite:
            raise ValueError(f"{path.name} has the same id as {suite[article.id][0]}")
        suite[article.id] = (path.stem, article)
    return suite


async def _publish(settings: Settings, suite: dict[str, Any]) -> None:
    async with Publisher(settings, client_id="newswire-bench-relevance") as publisher:
        deliveries = [await publisher.publish(article) for _, article in suite.values()]
        await asyncio.gather(*deliveries)


async def _wait_indexed(settings: Settings, expected: int) -> None:
    """Until the indexer committed every record and the alias holds every document."""
    deadline = time.monotonic() + INDEX_TIMEOUT_S
    async with Progress(settings) as progress:
        while await progress.committed() < expected:
            if time.monotonic() > deadline:
                raise RuntimeError("the indexer did not index the suite in time")
            await asyncio.sleep(0.2)
    async with es_client(settings) as es:
        await es.indices.refresh(index=settings.index_alias)
        count = (await es.count(index=settings.index_alias))["count"]
    if count != expected:
        # A dead-lettered article would make every later figure wrong: stop here.
        raise RuntimeError(f"{count} of {expected} suite articles were indexed")


def index_suite(settings: Settings, suite: dict[str, Any], log: Path) -> None:
    """Publish the suite to the scoped topic and let the indexer service write it."""
    asyncio.run(_publish(settings, suite))
    indexer = Child("services.indexer", settings, log).start()
    try:
        indexer.wait_ready(settings.indexer_port)
        asyncio.run(_wait_indexed(settings, len(suite)))
    finally:
        indexer.stop()


def ask(
    http: httpx.Client, query: Query, names: dict[str, str], extra: dict[str, str] | None = None
) -> Outcome:
    """One query to GET /v1/search (``extra``: more parameters), hits mapped to file names."""
    params = {"q": query.q, "size": str(relevance.K), **(extra or {})}
    reply = http.get("/v1/search", params=params)
    if reply.status_code != 200:
        return Outcome(query, (), 0, error=f"HTTP {reply.status_code}: {reply.text[:200]}")
    body = reply.json()
    ranked = tuple(names.get(item["id"], f"unknown:{item['id']}") for item in body["items"])
    matched = body.get("matched")
    return Outcome(
        query,
        ranked,
        int(body["total"]["value"]),
        matched=str(matched) if matched is not None else None,
    )


def search_all(
    settings: Settings,
    queries: list[Query],
    names: dict[str, str],
    log: Path,
    extra: dict[str, str] | None = None,
) -> Any:
    """Start the query API on the scoped alias and send every query, one at a time."""
    api = Child("services.api", settings, log).start()
    try:
        api.wait_ready(settings.api_port)
        base = f"http://127.0.0.1:{settings.api_port}"
        with httpx.Client(base_url=base, timeout=30) as http:
            return [ask(http, query, names, extra) for query in queries]
    finally:
        api.stop()


# Search modes measured on the current mapping's index, beside the default (lexical, one hit
# per story): every copy its own hit, and hybrid at several weights of the knn score.
HYBRID_BOOSTS = (2.0, 5.0, 10.0)


def modes(
    scope: Settings, queries: list[Query], names: dict[str, str], work: Path, lexical: Any
) -> dict[str, Any]:
    """nDCG and the rest for each other search mode, on the index already made.

    Each hybrid weight also carries its difference from the default (``lexical``'s
    outcomes), query by query, with its interval: what decides the default.
    """
    figures = {
        "lexical_all_versions": relevance.summarise(
            search_all(scope, queries, names, work / "api-all.log", {"versions": "all"})
        )["overall"]
    }
    for boost in HYBRID_BOOSTS:
        hybrid = scope.model_copy(update={"hybrid_vector_boost": boost})
        outcomes = search_all(hybrid, queries, names, work / "api-hybrid.log", {"mode": "hybrid"})
        figures[f"hybrid_boost_{boost:g}"] = {
            **relevance.summarise(outcomes)["overall"],
            "against_lexical": relevance.paired(lexical, outcomes),
        }
    return figures


def run(settings: Settings, *, work: Path | None = None) -> dict[str, Any]:
    """Index the suite into a fresh index, run every judged query, return the report."""
    work = work or Path(tempfile.mkdtemp(prefix="newswire-relevance-"))
    queries = relevance.load_judgements()
    suite = load_suite()
    problems = relevance.check_judgements(queries, (name for name, _ in suite.values()))
    if problems:
        raise ValueError("bad judgements: " + "; ".join(problems[:10]))
    run_id = uuid.uuid4().hex[:8]
    names = {article_id: name for article_id, (name, _) in suite.items()}
    figures = {}
    for name, mapping in (("current", None), ("v2", v2_mapping())):
        tag = f"{run_id}-relevance-{name}"
        scope = scoped(settings, tag)
        try:
            if mapping is not None:
                asyncio.run(create_index(scope, mapping))
            index_suite(scope, suite, work / f"indexer-{name}.log")
            outcomes = search_all(scope, queries, names, work / f"api-{name}.log")
            if mapping is None:
                other_modes = modes(scope, queries, names, work, outcomes)
        finally:
            asyncio.run(cleanup(settings, [tag]))
        figures[name] = relevance.summarise(outcomes)
    return {
        "machine": machine(),
        "articles": len(suite),
        "languages": _languages(suite),
        **figures["current"],
        "v2_mapping": {key: figures["v2"][key] for key in ("overall", "by_tag", "matched")},
        "modes": other_modes,
    }


def _languages(suite: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, article in suite.values():
        counts[article.language] = counts.get(article.language, 0) + 1
    return counts
