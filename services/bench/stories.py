"""The stories benchmark's judged set and metrics, pure: same-story pairs and related grades.

``seeds/stories/`` holds articles written for it: stories in several copies (a rewrite, a
wire copy with another lede, a regional edition) and, on each topic, another story of the
same day (the hard negatives), plus articles with nothing like them in the set.
``stories_judgements.json`` names each article's story, topic and area. A pair is the same
story when both name one story; a related pair's grade is 2 on one topic, 1 in one area,
else 0 (copies of one story are the story, not related to it).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SET_DIR = REPO / "seeds" / "stories"
JUDGEMENTS = Path(__file__).resolve().parent / "stories_judgements.json"


@dataclass(frozen=True)
class Judged:
    """One judged article: its file's name and what it is about."""

    name: str
    story: str
    topic: str
    area: str


def load_judgements(path: Path = JUDGEMENTS) -> dict[str, Judged]:
    """The judged articles by file name (without .txt)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {
        name: Judged(name, a["story"], a["topic"], a["area"])
        for name, a in data["articles"].items()
    }


def grade(a: Judged, b: Judged) -> int:
    """How related two articles of different stories are: 2 one topic, 1 one area, else 0."""
    if a.topic == b.topic:
        return 2
    return 1 if a.area == b.area else 0


def ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing their mean rank (as Spearman's rho needs)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation (Pearson's on tie-averaged ranks); None when undefined."""
    if len(x) < 2:
        return None
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return None
    return cov / math.sqrt(vx * vy)


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """The mean and its standard error (sample standard deviation over sqrt(n))."""
    n = len(values)
    if n == 0:
        return 0.0, 0.0
    mean = sum(values) / n
    if n == 1:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


@dataclass(frozen=True)
class Pair:
    """Two judged articles, whether they are one story, and a similarity between them."""

    a: str
    b: str
    same: bool
    hard: bool  # two different stories on one topic (and day)
    similarity: float


def pairs(judged: Mapping[str, Judged], similarity: Callable[[str, str], float]) -> list[Pair]:
    """Every pair of judged articles with ``similarity``."""
    out = []
    for a, b in itertools.combinations(sorted(judged), 2):
        ja, jb = judged[a], judged[b]
        same = ja.story == jb.story
        out.append(Pair(a, b, same, not same and ja.topic == jb.topic, similarity(a, b)))
    return out


def precision_recall(same: Sequence[bool], predicted: Sequence[bool]) -> dict[str, float]:
    """Precision and recall of "same story" predictions against the judgements."""
    tp = sum(1 for s, p in zip(same, predicted, strict=True) if s and p)
    fp = sum(1 for s, p in zip(same, predicted, strict=True) if p and not s)
    fn = sum(1 for s, p in zip(same, predicted, strict=True) if s and not p)
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
    }


def threshold_sweep(found: Sequence[Pair], thresholds: Sequence[float]) -> list[dict[str, Any]]:
    """Precision and recall of "same story" at each threshold (similarity >= threshold)."""
    same = [p.same for p in found]
    return [
        {"threshold": t, **precision_recall(same, [p.similarity >= t for p in found])}
        for t in thresholds
    ]


def separation(found: Sequence[Pair]) -> dict[str, float]:
    """The lowest same-story similarity against the highest of hard and other negatives."""
    return {
        "same_min": min((p.similarity for p in found if p.same), default=0.0),
        "hard_negative_max": max((p.similarity for p in found if p.hard), default=0.0),
        "other_negative_max": max(
            (p.similarity for p in found if not p.same and not p.hard), default=0.0
        ),
    }


@dataclass(frozen=True)
class RelatedOutcome:
    """One query article: its scores for every other-story article, and the list shown."""

    query: str
    scores: Mapping[str, float]  # every judged article of another story
    shown: Sequence[str]


def related_figures(
    judged: Mapping[str, Judged], outcomes: Sequence[RelatedOutcome]
) -> dict[str, Any]:
    """Mean Spearman per query (with its standard error) and the precision of shown lists.

    A query whose candidates all have one grade (nothing related in the set) has no Spearman;
    its shown list counts for precision (every item shown is noise) and for ``empty_when_none``.
    """
    rhos: list[float] = []
    shown = relevant = strong = 0
    lonely = lonely_empty = some = 0
    for outcome in outcomes:
        q = judged[outcome.query]
        names = sorted(outcome.scores)
        grades = [grade(q, judged[n]) for n in names]
        rho = spearman([outcome.scores[n] for n in names], [float(g) for g in grades])
        if rho is not None:
            rhos.append(rho)
        shown += len(outcome.shown)
        some += bool(outcome.shown)
        relevant += sum(1 for n in outcome.shown if grade(q, judged[n]) >= 1)
        strong += sum(1 for n in outcome.shown if grade(q, judged[n]) == 2)
        if max(grades, default=0) == 0:
            lonely += 1
            lonely_empty += not outcome.shown
    mean, se = mean_se(rhos)
    return {
        "queries": len(outcomes),
        "spearman_queries": len(rhos),
        "spearman_mean": round(mean, 4),
        "spearman_se": round(se, 4),
        "shown": shown,
        "queries_shown_some": some,
        "precision_grade_1": round(relevant / shown, 4) if shown else None,
        "precision_grade_2": round(strong / shown, 4) if shown else None,
        "queries_with_nothing_related": lonely,
        "of_those_shown_nothing": lonely_empty,
    }
