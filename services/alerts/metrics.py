"""Prometheus metrics of the alerts service: matching and webhook delivery."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY = (0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 3, 5, 10, 30)

ALERTS = Gauge("newswire_alerts_saved", "Saved searches the matcher runs.")
RECORDS = Counter("newswire_alerts_records_total", "Article-topic records the matcher read.")
EVENTS = Counter("newswire_alerts_events_total", "Events emitted to alerts, by kind.", ["kind"])
SEARCH_ERRORS = Counter(
    "newswire_alerts_search_errors_total", "Saved searches Elasticsearch could not run."
)
PASSED_OVER = Counter(
    "newswire_alerts_never_searchable_total",
    "Records the indexer committed but never made searchable (dead-lettered).",
)
SEARCHABLE_TO_EVENT = Histogram(
    "newswire_alerts_searchable_to_event_seconds",
    "From the matcher seeing an article searchable to its events committed.",
    buckets=_LATENCY,
)
INGEST_TO_EVENT = Histogram(
    "newswire_alerts_ingest_to_event_seconds",
    "From an article's ingested_at to its events committed.",
    buckets=_LATENCY,
)
BATCH_SECONDS = Histogram(
    "newswire_alerts_batch_seconds", "One batch: wait, match, decide, commit.", buckets=_LATENCY
)
DELIVERIES = Counter(
    "newswire_webhook_attempts_total", "Webhook delivery attempts by outcome.", ["outcome"]
)
DELIVERIES_PENDING = Gauge(
    "newswire_webhook_pending", "Webhook deliveries not yet delivered nor given up."
)
DELIVERY_LAG = Histogram(
    "newswire_webhook_delivery_lag_seconds",
    "From an event's emission to its successful delivery.",
    buckets=_LATENCY,
)
