"""Prometheus metrics of the ingest side (names are part of the dashboard's contract)."""

from __future__ import annotations

from prometheus_client import Counter

PUBLISHED = Counter("newswire_ingest_published_total", "Articles acknowledged by Kafka.")
REJECTED = Counter("newswire_ingest_rejected_total", "Inputs rejected, by error code.", ["code"])
SKIPPED = Counter(
    "newswire_ingest_skipped_total",
    "Folder entries not read: links, FIFOs, devices, files gone or swapped.",
    ["reason"],
)
ALREADY_SEEN = Counter(
    "newswire_ingest_already_seen_total", "Inputs skipped: this version was published before."
)
DEAD_LETTERS_DROPPED = Counter(
    "newswire_ingest_dead_letters_dropped_total",
    "Dead letters not written (the request still got its problem), by reason.",
    ["reason"],
)
HTTP_REFUSED = Counter(
    "newswire_ingest_http_refused_total",
    "Uploads answered before their body was used (busy, body timeout, disconnect), by code.",
    ["code"],
)
DEAD_LETTERS_DROPPED.labels(reason="rate_limited")

# Series that exist from the start (at 0): dashboards and alerts see "none yet", not "no data".
for _code in (
    "too_large",
    "undecodable",
    "unreadable",
    "missing_header",
    "malformed_header",
    "impossible_date",
    "malformed_updated",
    "empty_body",
    "invalid_json",
    "invalid_article",
    "internal_error",
):
    REJECTED.labels(code=_code)
for _reason in ("symlink", "fifo", "character_device", "vanished", "replaced"):
    SKIPPED.labels(reason=_reason)
