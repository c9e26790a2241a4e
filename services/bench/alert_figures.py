"""The alerts bench's figures from what it recorded: latencies, missed and doubled events, pure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from services.bench.measure import percentile


@dataclass(frozen=True)
class Received:
    """One event as a listener got it, with the bench's clock at arrival."""

    alert_id: str
    article_id: str
    kind: str
    at: float  # the bench's monotonic clock (perf_counter) when it arrived
    wall: float  # the same moment, epoch seconds: to set against the event's own times
    searchable_at: float  # the matcher's, epoch seconds
    emitted_at: float  # epoch seconds


def spread(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of ``values`` (seconds), rounded to the millisecond."""
    if not values:
        return {"count": 0}
    cuts = {f"p{q}": percentile(sorted(values), q) for q in (50, 95, 99)}
    return {
        "count": len(values),
        **{k: round(v, 3) for k, v in cuts.items()},
        "max": round(max(values), 3),
    }


def first_rung(page: dict[str, Any]) -> bool:
    """Whether a ``/v1/search`` page was found with every word as typed, as alerts match.

    A relaxed rung (typos allowed, fewer words) answers only when the first found nothing
    there: a saved search never relaxes, so such a page counts as nothing found.
    """
    return not page.get("typo_tolerant") and page.get("matched") in (None, "all")


def first_matches(events: list[Received]) -> dict[tuple[str, str], Received]:
    """The first ``match`` event of each (alert, article)."""
    first: dict[tuple[str, str], Received] = {}
    for event in sorted(events, key=lambda e: e.at):
        if event.kind == "match":
            first.setdefault((event.alert_id, event.article_id), event)
    return first


def latencies(
    events: list[Received], published: dict[str, float], searchable: dict[str, float]
) -> dict[str, dict[str, float]]:
    """Seconds from searchable (the bench's own poll) and from publish to arrival, and parts.

    Each (alert, article) counts once, at its first match; articles the bench never saw
    searchable (or did not publish) count only where the clock they need is known.
    """
    from_searchable, from_publish, matcher_wait, delivery = [], [], [], []
    for (_, article_id), event in first_matches(events).items():
        if article_id in searchable:
            from_searchable.append(event.at - searchable[article_id])
        if article_id in published:
            from_publish.append(event.at - published[article_id])
        matcher_wait.append(event.emitted_at - event.searchable_at)
        delivery.append(event.wall - event.emitted_at)
    return {
        "searchable_to_event_s": spread(from_searchable),
        "publish_to_event_s": spread(from_publish),
        "matcher_searchable_to_emitted_s": spread(matcher_wait),
        "emitted_to_received_s": spread(delivery),
    }


def duplicates(events: list[Received]) -> dict[str, int]:
    """(alert, article) pairs told ``match`` more than once: how many, and the extra events."""
    counts = Counter((e.alert_id, e.article_id) for e in events if e.kind == "match")
    doubled = {pair: n for pair, n in counts.items() if n > 1}
    return {"pairs": len(doubled), "extra_events": sum(n - 1 for n in doubled.values())}


def misses(
    expected: dict[str, set[str]], events: list[Received], *, limit: int = 20
) -> dict[str, Any]:
    """Against what search finds per alert: articles no event told (missed), and the reverse.

    ``expected`` holds every alert checked, even those search finds nothing for.
    """
    told: dict[str, set[str]] = {alert_id: set() for alert_id in expected}
    for event in events:
        if event.kind == "match" and event.alert_id in told:
            told[event.alert_id].add(event.article_id)
    missed = sorted((a, i) for a, ids in expected.items() for i in ids - told[a])
    extra = sorted((a, i) for a, ids in told.items() for i in ids - expected[a])
    return {
        "alerts_checked": len(expected),
        "alerts_matching_nothing": sum(1 for ids in expected.values() if not ids),
        "expected_matches": sum(len(ids) for ids in expected.values()),
        "missed": len(missed),
        "unexpected": len(extra),
        "missed_examples": [list(pair) for pair in missed[:limit]],
        "unexpected_examples": [list(pair) for pair in extra[:limit]],
    }


def coverage(expected: dict[str, set[str]], articles: int) -> dict[str, float]:
    """How the saved searches spread over the stream: matches per article, share matched."""
    matched = set().union(*expected.values()) if expected else set()
    total = sum(len(ids) for ids in expected.values())
    return {
        "matches_per_article": round(total / articles, 3) if articles else 0.0,
        "articles_matching_any_share": round(len(matched) / articles, 3) if articles else 0.0,
    }


def verdict(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Issue 17's targets against the streamed alerts' figures."""
    streamed = report["streamed"]
    searchable_p99 = streamed["latency"]["searchable_to_event_s"].get("p99")
    publish_p99 = streamed["latency"]["publish_to_event_s"].get("p99")
    checks = report.get("all_alerts", streamed)["check"]
    doubled = report.get("all_alerts", streamed)["duplicates"]["extra_events"]
    return {
        "searchable_to_event_p99_s": {
            "value": searchable_p99,
            "target": 1.0,
            "met": searchable_p99 is not None and searchable_p99 <= 1.0,
        },
        "publish_to_event_p99_s": {
            "value": publish_p99,
            "target": 3.0,
            "met": publish_p99 is not None and publish_p99 <= 3.0,
        },
        "missed_events": {"value": checks["missed"], "target": 0, "met": checks["missed"] == 0},
        "duplicated_events": {"value": doubled, "target": 0, "met": doubled == 0},
    }
