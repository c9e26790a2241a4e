"""Prometheus metrics of the ingest side (names are part of the dashboard's contract)."""

from __future__ import annotations

from prometheus_client import Counter

PUBLISHED = Counter("newswire_ingest_published_total", "Articles acknowledged by Kafka.")
REJECTED = Counter("newswire_ingest_rejected_total", "Inputs rejected, by error code.", ["code"])
ALREADY_SEEN = Counter(
    "newswire_ingest_already_seen_total", "Inputs skipped: this version was published before."
)
