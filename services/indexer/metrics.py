"""Prometheus metrics of the indexer (names are part of the dashboard's contract)."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram

from services.common.clock import parse_iso, utc_now_iso

CONSUMED = Counter("newswire_indexer_records_consumed_total", "Records read from the topic.")
INDEXED = Counter("newswire_indexer_docs_indexed_total", "Documents created or updated.")
STALE = Counter(
    "newswire_indexer_docs_stale_total",
    "Documents skipped because the same or a newer version was already indexed.",
)
FAILED = Counter("newswire_indexer_docs_failed_total", "Documents Elasticsearch refused for good.")
DLQ = Counter("newswire_indexer_dlq_total", "Records sent to the dead-letter topic.", ["code"])
BULK_SECONDS = Histogram(
    "newswire_indexer_bulk_seconds",
    "Latency of one bulk request.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BULK_RETRIES = Counter("newswire_indexer_bulk_retries_total", "Bulk retries by cause.", ["reason"])
BULK_SPLITS = Counter(
    "newswire_indexer_bulk_splits_total",
    "Bulk requests refused as a whole and split in halves to find the records at fault.",
)
VERSION_CONFLICTS = Counter(
    "newswire_indexer_version_conflicts_total",
    "Records with the version of an indexed document but other content (dead-lettered).",
)
BATCH_SIZE = Histogram(
    "newswire_indexer_batch_size",
    "Records per batch.",
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000),
)
E2E_SECONDS = Histogram(
    "newswire_indexer_end_to_end_seconds",
    "Per batch: from its oldest article's ingested_at to the bulk acknowledgement.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
LAG = Gauge(
    "newswire_indexer_consumer_lag", "Records behind the end of the partition.", ["partition"]
)
COMMITS_FAILED = Counter(
    "newswire_indexer_commit_failures_total", "Offset commits refused (after a rebalance)."
)
HISTORY_FAILED = Counter(
    "newswire_indexer_history_failures_total",
    "Versions indexed whose copy in the versions index could not be written.",
)

# Series that exist from the start (at 0): dashboards and alerts see "none yet", not "no data".
for _code in (
    "not_json",
    "invalid_article",
    "index_rejected",
    "index_retries_exhausted",
    "too_large",
    "invalid_version",
    "version_conflict",
):
    DLQ.labels(code=_code)


def observe_batch(records: int) -> None:
    """A batch read from the topic."""
    CONSUMED.inc(records)
    BATCH_SIZE.observe(records)


def observe_written(oldest: datetime | None, *, indexed: int, stale: int, failed: int) -> None:
    """A batch written: what became of its documents, and how long its oldest took."""
    INDEXED.inc(indexed)
    STALE.inc(stale)
    FAILED.inc(failed)
    # Once per batch, not per document (that was 4 % of the indexer's CPU): the oldest
    # article bounds the batch, so the dashboard's p99 stays an upper bound.
    if oldest is not None:
        E2E_SECONDS.observe(max(0.0, (parse_iso(utc_now_iso()) - oldest).total_seconds()))


def observe_dead_letter(code: str) -> None:
    """One record acknowledged on the dead-letter topic."""
    DLQ.labels(code=code).inc()


def observe_lag(partition: int, behind: int) -> None:
    """Records behind the end of one partition."""
    LAG.labels(partition=str(partition)).set(max(0, behind))
