"""The alerts bench's pure parts: the saved searches it makes and the figures it computes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from services.api.routes.search import saved_search_params
from services.bench.alert_figures import (
    Received,
    coverage,
    duplicates,
    first_rung,
    latencies,
    misses,
    spread,
    verdict,
)
from services.bench.alert_specs import KINDS, alert_specs, kind_of, search_query
from services.common.alerts import AlertSpec
from services.common.settings import Settings


def _event(alert: str, article: str, at: float, kind: str = "match") -> Received:
    return Received(
        alert, article, kind, at, wall=at + 1000.2, searchable_at=1000.0, emitted_at=1000.1
    )


def test_the_specs_are_the_same_for_the_same_seed_and_differ_for_another() -> None:
    assert alert_specs(200, seed=3) == alert_specs(200, seed=3)
    assert alert_specs(200, seed=3) != alert_specs(200, seed=4)
    assert alert_specs(50, seed=3) == alert_specs(200, seed=3)[:50]


def test_every_spec_is_a_saved_search_the_api_accepts() -> None:
    settings = Settings()
    for spec in alert_specs(1000):
        saved = AlertSpec.model_validate(spec)
        saved_search_params(settings, saved)  # raises QueryError as POST /v1/alerts would


def test_the_specs_are_varied_in_about_the_shares_asked() -> None:
    specs = alert_specs(1000)
    kinds = Counter(kind_of(spec) for spec in specs)
    for kind, share, _ in KINDS:
        assert kinds[kind] == pytest.approx(1000 * share, abs=40), kind
    assert len({spec["q"] for spec in specs}) > 900  # hardly any two alike
    filtered = [s for s in specs if s.get("category")]
    dated = [s for s in specs if "from" in s]
    assert 0.2 < len(filtered) / 1000 < 0.45
    assert 0.15 < len(dated) / 1000 < 0.45
    assert all(s["from"] <= s["to"] for s in dated)
    assert any(s["q"].startswith('"') for s in specs)  # phrases
    assert any(" OR " in s["q"] for s in specs)
    assert any(" -" in s["q"] for s in specs)
    assert any(s.get("search_in") == "title" for s in specs)


def test_the_search_query_carries_every_filter_of_the_spec() -> None:
    spec = {
        "q": "flood",
        "search_in": "title",
        "category": ["world", "india"],
        "from": "2020-01-01",
    }
    assert search_query(spec) == [
        ("q", "flood"),
        ("search_in", "title"),
        ("category", "world"),
        ("category", "india"),
        ("from", "2020-01-01"),
    ]
    assert search_query({"q": ""}) == [("q", "")]


def test_spread_gives_the_percentiles_and_nothing_for_no_values() -> None:
    assert spread([]) == {"count": 0}
    values = [float(n) for n in range(1, 101)]
    fig = spread(values)
    assert fig["count"] == 100
    assert fig["p50"] == pytest.approx(50.5)
    assert fig["p99"] == pytest.approx(99.01)
    assert fig["max"] == 100.0


def test_latencies_count_each_alert_and_article_once_at_its_first_match() -> None:
    published = {"a1": 10.0, "a2": 10.0}
    searchable = {"a1": 11.0, "a2": 12.0}
    events = [
        _event("x", "a1", 11.5),
        _event("x", "a1", 20.0),  # a repeat: counted as a duplicate, not as a latency
        _event("y", "a1", 11.2),
        _event("x", "a2", 12.4),
        _event("x", "a2", 13.0, kind="removal"),
        _event("z", "unknown", 15.0),  # published elsewhere: no clock of the bench
    ]
    figs = latencies(events, published, searchable)
    assert figs["searchable_to_event_s"]["count"] == 3
    assert figs["searchable_to_event_s"]["max"] == pytest.approx(0.5)
    assert figs["publish_to_event_s"]["max"] == pytest.approx(2.4)
    assert figs["matcher_searchable_to_emitted_s"]["p50"] == pytest.approx(0.1)
    assert figs["emitted_to_received_s"]["count"] == 4


def test_duplicates_are_matches_told_twice_for_one_alert_and_article() -> None:
    events = [
        _event("x", "a1", 1.0),
        _event("x", "a1", 2.0),
        _event("x", "a1", 3.0),
        _event("y", "a1", 1.0),
        _event("x", "a2", 1.0),
        _event("x", "a2", 2.0, kind="update"),  # an update of a match is no duplicate
    ]
    assert duplicates(events) == {"pairs": 1, "extra_events": 2}
    assert duplicates([]) == {"pairs": 0, "extra_events": 0}


def test_misses_are_what_search_finds_and_no_event_told_and_the_reverse() -> None:
    expected = {"x": {"a1", "a2"}, "y": set(), "z": {"a3"}}
    events = [
        _event("x", "a1", 1.0),
        _event("y", "a9", 1.0),  # search finds nothing for y
        _event("z", "a3", 1.0, kind="removal"),  # only a match counts as told
        _event("w", "a1", 1.0),  # an alert not checked
    ]
    found = misses(expected, events)
    assert found["alerts_checked"] == 3
    assert found["alerts_matching_nothing"] == 1
    assert found["expected_matches"] == 3
    assert found["missed"] == 2
    assert found["missed_examples"] == [["x", "a2"], ["z", "a3"]]
    assert found["unexpected"] == 1
    assert found["unexpected_examples"] == [["y", "a9"]]


def test_coverage_is_matches_per_article_and_the_share_matched() -> None:
    assert coverage({"x": {"a1", "a2"}, "y": {"a1"}, "z": set()}, 4) == {
        "matches_per_article": 0.75,
        "articles_matching_any_share": 0.5,
    }
    assert coverage({}, 0) == {"matches_per_article": 0.0, "articles_matching_any_share": 0.0}


def test_the_verdict_holds_the_figures_to_issue_17s_targets() -> None:
    def report(p99: float, publish_p99: float, missed: int, extra: int) -> dict[str, Any]:
        part = {
            "latency": {
                "searchable_to_event_s": {"p99": p99},
                "publish_to_event_s": {"p99": publish_p99},
            },
            "check": {"missed": missed},
            "duplicates": {"extra_events": extra},
        }
        return {"streamed": part, "all_alerts": part}

    met = verdict(report(0.8, 2.9, 0, 0))
    assert all(row["met"] for row in met.values())
    failed = verdict(report(1.2, 3.5, 1, 2))
    assert not any(row["met"] for row in failed.values())
    assert failed["duplicated_events"]["value"] == 2
    nothing = verdict(
        {
            "streamed": {
                **report(0, 0, 0, 0)["streamed"],
                "latency": {
                    "searchable_to_event_s": {"count": 0},
                    "publish_to_event_s": {"count": 0},
                },
            }
        }
    )
    assert not nothing["searchable_to_event_p99_s"]["met"]


def test_only_a_page_of_the_first_rung_counts_as_found() -> None:
    assert first_rung({"matched": "all", "typo_tolerant": False})
    assert first_rung({"matched": None, "typo_tolerant": False})  # no words: filters only
    assert not first_rung({"matched": "all", "typo_tolerant": True})
    assert not first_rung({"matched": "most", "typo_tolerant": False})
    assert not first_rung({"matched": "any", "typo_tolerant": True})
