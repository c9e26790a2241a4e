"""The stories benchmark's metrics and judged set, pure."""

from __future__ import annotations

import math

import pytest

from services.bench import stories
from services.bench.relevance_run import load_suite


def test_spearman_of_tied_ranks() -> None:
    assert stories.spearman([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert stories.spearman([3, 2, 1], [1, 2, 3]) == pytest.approx(-1.0)
    assert stories.spearman([1, 1, 1], [1, 2, 3]) is None
    assert stories.ranks([5, 1, 5, 3]) == [3.5, 1.0, 3.5, 2.0]


def test_mean_and_standard_error() -> None:
    mean, se = stories.mean_se([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert se == pytest.approx(1 / math.sqrt(3))


def test_precision_recall_counts_pairs() -> None:
    figures = stories.precision_recall([True, True, False, False], [True, False, True, False])
    assert (figures["precision"], figures["recall"]) == (0.5, 0.5)


def test_the_judged_set_names_every_article_and_meets_the_brief() -> None:
    judged = stories.load_judgements()
    names = {name for name, _ in load_suite(stories.SET_DIR).values()}
    assert names == set(judged)
    assert len(judged) >= 40
    assert len({j.topic for j in judged.values()}) >= 8
    found = stories.pairs(judged, lambda a, b: 0.0)
    assert sum(p.hard for p in found) >= 20, "hard negatives: other stories on one topic"
    assert sum(p.same for p in found) >= 20


def test_related_figures_score_rankings_and_shown_lists() -> None:
    judged = {
        "q": stories.Judged("q", "s1", "t", "a"),
        "near": stories.Judged("near", "s2", "t", "a"),
        "area": stories.Judged("area", "s3", "u", "a"),
        "far": stories.Judged("far", "s4", "v", "b"),
    }
    outcome = stories.RelatedOutcome("q", {"near": 3.0, "area": 2.0, "far": 1.0}, ["near", "far"])
    figures = stories.related_figures(judged, [outcome])
    assert figures["spearman_mean"] == pytest.approx(1.0)
    assert figures["precision_grade_1"] == 0.5
