"""The relevance benchmark: judged queries and the metrics that score a ranking against them.

Pure functions only; ``relevance_run`` indexes the suite and asks the API. Grades: 2 is the
story a query is about, 1 a related story, anything unlisted is not relevant.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SUITE_DIR = REPO / "seeds" / "relevance"
JUDGEMENTS = Path(__file__).resolve().parent / "relevance_judgements.json"
K = 10


@dataclass(frozen=True)
class Query:
    """One judged query: what a reader types, what it exercises, which stories it wants."""

    id: str
    q: str
    tags: tuple[str, ...]
    relevant: Mapping[str, int]


@dataclass(frozen=True)
class Outcome:
    """What the search answered for one query: suite file names in rank order."""

    query: Query
    ranked: tuple[str, ...]
    total: int
    matched: str | None = None
    error: str | None = None


def load_judgements(path: Path = JUDGEMENTS) -> list[Query]:
    """The judged queries from the JSON file kept beside this module."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        Query(id=q["id"], q=q["q"], tags=tuple(q["tags"]), relevant=dict(q["relevant"]))
        for q in data["queries"]
    ]


def suite_files(folder: Path = SUITE_DIR) -> list[Path]:
    """The judged articles, in name order."""
    return sorted(folder.glob("*.txt"))


def check_judgements(queries: Sequence[Query], names: Iterable[str]) -> list[str]:
    """Problems with the judgements: unknown files, bad grades, no grade-2 story, duplicates."""
    known = set(names)
    problems = []
    seen: set[str] = set()
    for query in queries:
        if query.id in seen:
            problems.append(f"{query.id}: duplicate id")
        seen.add(query.id)
        if 2 not in query.relevant.values():
            problems.append(f"{query.id}: no grade-2 story")
        for name, grade in query.relevant.items():
            if name not in known:
                problems.append(f"{query.id}: unknown article {name!r}")
            if grade not in (1, 2):
                problems.append(f"{query.id}: grade {grade} for {name!r} is not 1 or 2")
    return problems


def first_rank(ranked: Sequence[str], relevant: Mapping[str, int], *, k: int = K) -> int | None:
    """1-based rank of the first grade-2 story within the top ``k``, or None."""
    for rank, name in enumerate(ranked[:k], start=1):
        if relevant.get(name, 0) >= 2:
            return rank
    return None


def success_at_1(ranked: Sequence[str], relevant: Mapping[str, int]) -> float:
    """1.0 when the top hit is the story the query is about (grade 2), else 0.0."""
    return 1.0 if first_rank(ranked, relevant, k=1) == 1 else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: Mapping[str, int], *, k: int = K) -> float:
    """1 / rank of the first grade-2 story within the top ``k`` (0.0 if none)."""
    rank = first_rank(ranked, relevant, k=k)
    return 1.0 / rank if rank else 0.0


def dcg(grades: Iterable[int]) -> float:
    """Discounted cumulative gain of grades in rank order: sum of (2^g - 1) / log2(rank + 1)."""
    return sum(((1 << g) - 1) / math.log2(rank + 1) for rank, g in enumerate(grades, start=1))


def ndcg(ranked: Sequence[str], relevant: Mapping[str, int], *, k: int = K) -> float:
    """nDCG@k: the ranking's DCG over that of the ideal ordering of the judged stories."""
    # A file listed twice (one id returned twice) earns its gain once: duplicates are noise.
    seen: set[str] = set()
    grades = []
    for name in ranked[:k]:
        grades.append(0 if name in seen else relevant.get(name, 0))
        seen.add(name)
    ideal = dcg(sorted(relevant.values(), reverse=True)[:k])
    return dcg(grades) / ideal if ideal else 0.0


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def aggregate(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """success@1, MRR@10, nDCG@10 and the zero-result rate over ``outcomes``."""
    zero = sum(1 for o in outcomes if not o.ranked)
    return {
        "queries": len(outcomes),
        "success_at_1": _mean([success_at_1(o.ranked, o.query.relevant) for o in outcomes]),
        "mrr_at_10": _mean([reciprocal_rank(o.ranked, o.query.relevant) for o in outcomes]),
        "ndcg_at_10": _mean([ndcg(o.ranked, o.query.relevant) for o in outcomes]),
        "zero_results": zero,
        "zero_result_rate": zero / len(outcomes) if outcomes else 0.0,
    }


def paired(
    base: Sequence[Outcome], other: Sequence[Outcome], *, resamples: int = 2000, seed: int = 7
) -> dict[str, Any]:
    """nDCG@10 of ``other`` against ``base``, query by query: is the difference real?

    The mean of the per-query differences, its standard error, a 95 % bootstrap interval
    (resampling queries, seeded) and how many queries each ranked better. A difference
    whose interval holds 0 is not one the suite can tell from noise.
    """
    by_id = {o.query.id: ndcg(o.ranked, o.query.relevant) for o in base}
    diffs = [ndcg(o.ranked, o.query.relevant) - by_id[o.query.id] for o in other]
    changed = [
        {"id": o.query.id, "q": o.query.q, "difference": round(d, 4)}
        for o, d in zip(other, diffs, strict=True)
        if abs(d) > 1e-9
    ]
    if not diffs:
        return {"queries": 0}
    mean = _mean(diffs)
    spread = (
        math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)) if len(diffs) > 1 else 0.0
    )
    draw = random.Random(seed)
    means = sorted(_mean(draw.choices(diffs, k=len(diffs))) for _ in range(resamples))
    return {
        "queries": len(diffs),
        "mean_ndcg_difference": round(mean, 4),
        "standard_error": round(spread / math.sqrt(len(diffs)), 4),
        "interval_95": [
            round(means[int(0.025 * resamples)], 4),
            round(means[int(0.975 * resamples) - 1], 4),
        ],
        "better": sum(1 for d in diffs if d > 1e-9),
        "worse": sum(1 for d in diffs if d < -1e-9),
        "same": sum(1 for d in diffs if abs(d) <= 1e-9),
        "changed": changed,
    }


def by_tag(outcomes: Sequence[Outcome]) -> dict[str, dict[str, Any]]:
    """The same figures for the queries of each tag (a query counts under each of its tags)."""
    tags = sorted({t for o in outcomes for t in o.query.tags})
    return {t: aggregate([o for o in outcomes if t in o.query.tags]) for t in tags}


def per_query(outcome: Outcome) -> dict[str, Any]:
    """One query's line of the report."""
    row: dict[str, Any] = {
        "id": outcome.query.id,
        "q": outcome.query.q,
        "tags": list(outcome.query.tags),
        "first_grade2_rank": first_rank(outcome.ranked, outcome.query.relevant),
        "hits": outcome.total,
        "matched": outcome.matched,
        "ndcg_at_10": round(ndcg(outcome.ranked, outcome.query.relevant), 4),
        "top": list(outcome.ranked[:3]),
    }
    if outcome.error:
        row["error"] = outcome.error
    return row


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The whole report body: overall figures, per tag, per query, matched-mode counts."""
    modes: dict[str, int] = {}
    for o in outcomes:
        key = o.matched or "absent"
        modes[key] = modes.get(key, 0) + 1
    return {
        "overall": aggregate(outcomes),
        "by_tag": by_tag(outcomes),
        "matched": modes,
        "per_query": [per_query(o) for o in outcomes],
    }
