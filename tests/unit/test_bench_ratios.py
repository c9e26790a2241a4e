"""The bench's verdict: the sweep's best cell, medians and issue 15's ratios."""

from __future__ import annotations

import itertools

import pytest

from services.bench.bulk_sweep import FULL, QUICK, cells, interleaved
from services.bench.ratios import RATIO_KEYS, best_cell, median_of, ratio, ratios


def _row(in_flight: int, size: int, rate: float) -> dict[str, float]:
    return {"in_flight": in_flight, "bulk_docs": size, "docs_per_s": rate}


def test_the_best_cell_is_the_fastest() -> None:
    table = [_row(1, 1000, 3000.0), _row(2, 1000, 6500.0), _row(4, 500, 6000.0)]
    assert best_cell(table) == _row(2, 1000, 6500.0)


def test_of_equal_rates_the_fewer_in_flight_and_smaller_bulk_wins() -> None:
    table = [_row(4, 2000, 5000.0), _row(2, 2000, 5000.0), _row(2, 1000, 5000.0)]
    assert best_cell(table) == _row(2, 1000, 5000.0)


def test_an_empty_sweep_has_no_best() -> None:
    with pytest.raises(ValueError, match="empty"):
        best_cell([])


def test_the_sweep_spans_one_to_four_in_flight_and_always_holds_one_at_the_indexer_size() -> None:
    assert {n for n, _ in FULL} == {1, 2, 3, 4}
    assert {size for _, size in FULL} == {500, 1000, 2000}
    assert len(QUICK) < len(FULL)
    assert cells(True, 750)[0] == (1, 750)
    assert cells(False, 1000) == list(FULL)  # (1, 1000) is a cell already


def test_medians_and_ratios_of_nothing_are_zero() -> None:
    assert median_of([3.0, 1.0, 2.0]) == 2.0
    assert median_of([1.0, 2.0]) == 1.5
    assert median_of([]) == 0.0
    assert ratio(1.0, 0.0) == 0.0


def test_the_ratios_carry_exactly_the_issues_keys() -> None:
    report = {
        "indexer_docs_per_s": 6000.0,
        "raw_bulk_best_docs_per_s": 6600.0,
        "peer_docs_per_s": 3000.0,
        "ingest_articles_per_s": 14000.0,
        "producer_perf_records_per_s": 20000.0,
        "freshness_p99_s": 0.9,
        "api_cpu_ms_per_search": 0.5,
        "api_overhead_p50_ms": 0.6,
        "api_search_per_s": 800.0,
        "es_direct_per_s": 1000.0,
    }
    got = ratios(report)
    assert tuple(got) == RATIO_KEYS
    assert set(RATIO_KEYS) == {
        "indexer_vs_raw_best_ratio",
        "indexer_vs_peer_ratio",
        "ingest_vs_producer_perf_ratio",
        "freshness_p99_s",
        "api_cpu_ms_per_search",
        "api_overhead_p50_ms",
        "api_vs_es_throughput_ratio",
    }
    assert got["indexer_vs_raw_best_ratio"] == pytest.approx(6000 / 6600)
    assert got["indexer_vs_peer_ratio"] == pytest.approx(2.0)
    assert got["ingest_vs_producer_perf_ratio"] == pytest.approx(0.7)
    assert got["api_vs_es_throughput_ratio"] == pytest.approx(0.8)
    assert got["freshness_p99_s"] == 0.9


def test_a_missing_figure_gives_zero_not_an_error() -> None:
    assert ratios({})["indexer_vs_peer_ratio"] == 0.0


def test_the_sweep_meets_every_pair_once_with_both_factors_changing_each_step() -> None:
    order = interleaved((1, 2, 3, 4), (500, 1000, 2000))
    assert sorted(order) == sorted((n, s) for n in (1, 2, 3, 4) for s in (500, 1000, 2000))
    assert all(a[0] != b[0] and a[1] != b[1] for a, b in itertools.pairwise(order))
    assert sorted(QUICK) == sorted((n, s) for n in (1, 2, 4) for s in (1000, 2000))
    with pytest.raises(ValueError, match="share no factor"):
        interleaved((1, 2), (500, 1000))
