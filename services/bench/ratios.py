"""The bench's verdict: medians of repeated runs, the raw-bulk sweep's best, the ratios."""

from __future__ import annotations

import statistics
from typing import Any

# The ratios of issue 15, in the order the bench prints them: each (key, label, format).
RATIO_ROWS = (
    ("indexer_vs_raw_best_ratio", "indexer / raw _bulk at its best", "{:.2f}"),
    ("indexer_vs_peer_ratio", "indexer / quixstreams peer", "{:.2f}"),
    ("ingest_vs_producer_perf_ratio", "ingest / Kafka ProducerPerformance", "{:.2f}"),
    ("freshness_p99_s", "freshness p99 (s)", "{:.3f}"),
    ("api_cpu_ms_per_search", "API CPU per search, 8 clients (ms)", "{:.3f}"),
    ("api_overhead_p50_ms", "API overhead p50, one client (ms)", "{:.2f}"),
    ("api_vs_es_throughput_ratio", "API / ES direct searches/s, 8 clients", "{:.2f}"),
)
RATIO_KEYS = tuple(key for key, _, _ in RATIO_ROWS)


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; 0.0 when there is nothing to divide by."""
    return numerator / denominator if denominator else 0.0


def median_of(runs: list[float]) -> float:
    """The median of repeated runs; 0.0 for none."""
    return statistics.median(runs) if runs else 0.0


def best_cell(table: list[dict[str, Any]]) -> dict[str, Any]:
    """The sweep row with the most docs/s; of equal rates, the fewer in flight and smaller bulk."""
    if not table:
        raise ValueError("an empty sweep has no best")
    return max(table, key=lambda row: (row["docs_per_s"], -row["in_flight"], -row["bulk_docs"]))


def ratios(report: dict[str, Any]) -> dict[str, float]:
    """Exactly the keys of ``RATIO_KEYS``, from the report's figures (0.0 where one is missing)."""
    return {
        "indexer_vs_raw_best_ratio": ratio(
            report.get("indexer_docs_per_s", 0.0), report.get("raw_bulk_best_docs_per_s", 0.0)
        ),
        "indexer_vs_peer_ratio": ratio(
            report.get("indexer_docs_per_s", 0.0), report.get("peer_docs_per_s", 0.0)
        ),
        "ingest_vs_producer_perf_ratio": ratio(
            report.get("ingest_articles_per_s", 0.0),
            report.get("producer_perf_records_per_s", 0.0),
        ),
        "freshness_p99_s": float(report.get("freshness_p99_s", 0.0)),
        "api_cpu_ms_per_search": float(report.get("api_cpu_ms_per_search", 0.0)),
        "api_overhead_p50_ms": float(report.get("api_overhead_p50_ms", 0.0)),
        "api_vs_es_throughput_ratio": ratio(
            report.get("api_search_per_s", 0.0), report.get("es_direct_per_s", 0.0)
        ),
    }
