"""The stories benchmark on the live stack: clustering and related stories, in one run.

The judged set (``seeds/stories/``) goes through Kafka and the indexer service into a fresh,
scoped index, so the story ids measured are those the indexer assigns. Then, per article,
the same two searches the API's ``/related`` sends (more_like_this and knn, the article's
own story left out) give every candidate's scores; ``more_like_this`` alone, the vector
alone and their fusion are scored against the judgements from those same replies, and the
endpoint's own code gives the list a reader is shown.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from elasticsearch import AsyncElasticsearch

from services.api import related, repository
from services.bench import stories
from services.bench.relevance_run import index_suite, load_suite
from services.bench.suite import cleanup, machine, scoped
from services.common.embedding import Embedder, embed_text
from services.common.es import es_client
from services.common.fields import EMBEDDING, STORY_ID
from services.common.settings import Settings

THRESHOLDS = [round(0.50 + 0.02 * n, 2) for n in range(16)]
WEIGHTS = [0.0, 0.1, 0.2, 0.3, 0.5, 1.0]
FLOORS = [0.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55]
SHOWN = 5  # the endpoint's default size
_RSS = """
import gc, psutil
from services.common.embedding import load_model
before = psutil.Process().memory_info().rss
model = load_model()
model.embed(["warm up"], norm=True)
gc.collect()
print((psutil.Process().memory_info().rss - before) / 1048576)
"""


def model_rss_mb() -> float:
    """What loading the model adds to a process's RSS, in MiB (measured in a fresh child)."""
    out = subprocess.run([sys.executable, "-c", _RSS], capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip().splitlines()[-1]), 1)


def clustering(judged: dict[str, stories.Judged], vectors: dict[str, Any]) -> dict[str, Any]:
    """Same-story precision and recall of the embedding cosine, threshold by threshold."""
    found = stories.pairs(judged, lambda a, b: float(vectors[a] @ vectors[b]))
    return {
        "pairs": len(found),
        "same_story_pairs": sum(p.same for p in found),
        "hard_negative_pairs": sum(p.hard for p in found),
        "separation": {k: round(v, 4) for k, v in stories.separation(found).items()},
        "sweep": stories.threshold_sweep(found, THRESHOLDS),
    }


async def _stored(es: AsyncElasticsearch, settings: Settings) -> dict[str, dict[str, Any]]:
    reply = await es.search(
        index=settings.index_alias, size=500, source_includes=["id", STORY_ID, EMBEDDING]
    )
    return {h["_source"]["id"]: h["_source"] for h in reply["hits"]["hits"]}


async def _candidates(
    es: AsyncElasticsearch, settings: Settings, doc: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Both searches of /related for one article, with every candidate (not only 20)."""
    source = ["id", STORY_ID, EMBEDDING]
    alias = settings.index_alias
    mlt = related.mlt_search(alias, doc["id"], doc[STORY_ID], source)
    knn = related.knn_search(doc[EMBEDDING], doc["id"], doc[STORY_ID], source)
    mlt["size"] = knn["size"] = knn["knn"]["k"] = 200
    knn["knn"]["num_candidates"] = 400
    reply = await es.msearch(index=alias, searches=[{}, mlt, {}, knn])
    mlt_hits, knn_hits = (r["hits"]["hits"] for r in reply.body["responses"])
    return mlt_hits, knn_hits


async def _related(settings: Settings, names: dict[str, str]) -> dict[str, Any]:
    """Spearman and precision of more_like_this, the vector and their fusion, one run."""
    judged = stories.load_judgements()
    systems: dict[str, list[stories.RelatedOutcome]] = {}
    async with es_client(settings) as es:
        stored = await _stored(es, settings)
        for doc_id, name in names.items():
            doc = stored[doc_id]
            mlt_hits, knn_hits = await _candidates(es, settings, doc)
            mlt = {names[h["_id"]]: float(h["_score"]) for h in mlt_hits}
            best = max(mlt.values(), default=1.0) or 1.0
            cos = {
                names[i]: related.cosine(doc[EMBEDDING], d[EMBEDDING])
                for i, d in stored.items()
                if i != doc_id
            }
            others = [n for n in cos if judged[n].story != judged[name].story]
            shown_mlt = [names[h["_id"]] for h in mlt_hits if names[h["_id"]] in others][:SHOWN]
            endpoint = await repository.related(es, settings, doc_id, SHOWN, "missing")
            shown_api = [names[i["id"]] for i in endpoint]
            outcomes = {
                "more_like_this": ({n: mlt.get(n, 0.0) for n in others}, shown_mlt),
                "vector": ({n: cos[n] for n in others}, []),
                **{
                    f"fused_w{w}": ({n: cos[n] + w * mlt.get(n, 0.0) / best for n in others}, [])
                    for w in WEIGHTS
                },
                "endpoint": (
                    {n: cos[n] + related.WEIGHT * mlt.get(n, 0.0) / best for n in others},
                    shown_api,
                ),
            }
            for system, (scores, shown) in outcomes.items():
                systems.setdefault(system, []).append(stories.RelatedOutcome(name, scores, shown))
            for floor in FLOORS:
                fused = related.fuse(
                    doc[EMBEDDING], mlt_hits[:20], knn_hits[:20], size=SHOWN, floor=floor
                )
                shown_f = [names[s.hit["_source"]["id"]] for s in fused]
                systems.setdefault(f"floor_{floor}", []).append(
                    stories.RelatedOutcome(name, outcomes["endpoint"][0], shown_f)
                )
    return {system: stories.related_figures(judged, o) for system, o in systems.items()}


async def _assigned(settings: Settings, names: dict[str, str]) -> dict[str, Any]:
    """Precision and recall of the story ids the indexer assigned."""
    judged = stories.load_judgements()
    async with es_client(settings) as es:
        stored = await _stored(es, settings)
    story = {names[i]: d[STORY_ID] for i, d in stored.items()}
    found = stories.pairs(judged, lambda a, b: float(story[a] == story[b]))
    same = [p.same for p in found]
    figures = stories.precision_recall(same, [p.similarity == 1.0 for p in found])
    hard = [p for p in found if p.hard]
    figures["hard_negatives_joined"] = sum(1 for p in hard if p.similarity == 1.0)
    figures["stories_judged"] = len({j.story for j in judged.values()})
    figures["stories_assigned"] = len(set(story.values()))
    return figures


def run(settings: Settings) -> dict[str, Any]:
    """The whole stories benchmark; its report."""
    settings = scoped(settings, "stories")
    suite = load_suite(stories.SET_DIR)
    names = {doc_id: name for doc_id, (name, _) in suite.items()}
    judged = stories.load_judgements()
    if set(names.values()) != set(judged):
        raise ValueError("seeds/stories/ and stories_judgements.json name different articles")
    embedder = Embedder()
    vectors = {
        name: embedder.embed_now([embed_text(a.title, a.body)])[0] for name, a in suite.values()
    }
    log = Path(tempfile.mkdtemp(prefix="newswire-stories-")) / "indexer.log"
    try:
        index_suite(settings, suite, log)
        report = {
            "machine": machine(),
            "load_average": os.getloadavg(),
            "articles": len(suite),
            "threshold": settings.story_threshold,
            "related_floor": settings.related_floor,
            "related_weight": related.WEIGHT,
            "model_rss_mib": model_rss_mb(),
            "clustering_by_cosine": clustering(judged, vectors),
            "clustering_assigned": asyncio.run(_assigned(settings, names)),
            "related": asyncio.run(_related(settings, names)),
        }
    finally:
        asyncio.run(cleanup(settings, ["stories"]))
    return report


def main() -> None:
    """Run against the stack of the environment's settings; the report as JSON on stdout."""
    print(json.dumps(run(Settings()), indent=1))
