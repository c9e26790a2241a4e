"""Story assignment, pure: which story each article of a batch joins."""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import orjson

from services.indexer.stories import (
    RECENT_S,
    Match,
    Pending,
    Recent,
    choose_stories,
    neighbours_query,
    read_matches,
    story_fields,
)

DAY = date(2025, 3, 11)


def unit(*values: float) -> npt.NDArray[np.float32]:
    """A unit vector in the direction of ``values``."""
    v = np.array(values, dtype=np.float32)
    out: npt.NDArray[np.float32] = v / np.linalg.norm(v)
    return out


def choose(
    pending: list[Pending], matches: list[list[Match]], existing: dict[str, str]
) -> list[str]:
    return choose_stories(pending, matches, existing, threshold=0.8, window_days=3)


def test_an_article_with_no_match_starts_its_own_story() -> None:
    assert choose([Pending("a", DAY, unit(1, 0))], [[]], {}) == ["a"]


def test_a_stored_match_above_the_threshold_gives_its_story_the_best_wins() -> None:
    matches = [[Match("x", "sx", 0.85), Match("y", "sy", 0.95), Match("z", "sz", 0.5)]]
    assert choose([Pending("a", DAY, unit(1, 0))], matches, {}) == ["sy"]


def test_matches_below_the_threshold_are_not_the_story() -> None:
    assert choose([Pending("a", DAY, unit(1, 0))], [[Match("x", "sx", 0.79)]], {}) == ["a"]


def test_a_stored_article_keeps_its_story_whatever_it_matches_now() -> None:
    matches = [[Match("x", "sx", 0.99)]]
    assert choose([Pending("a", DAY, unit(1, 0))], matches, {"a": "old"}) == ["old"]


def test_its_own_stored_copy_is_not_a_match() -> None:
    assert choose([Pending("a", DAY, unit(1, 0))], [[Match("a", "sa", 1.0)]], {}) == ["a"]


def test_copies_in_one_batch_join_the_first() -> None:
    pending = [
        Pending("a", DAY, unit(1, 0)),
        Pending("b", DAY, unit(1, 0.1)),
        Pending("c", DAY, unit(0, 1)),
    ]
    assert choose(pending, [[], [], []], {}) == ["a", "a", "c"]


def test_copies_in_one_batch_outside_the_window_do_not_join() -> None:
    pending = [Pending("a", DAY, unit(1, 0)), Pending("b", date(2025, 3, 20), unit(1, 0))]
    assert choose(pending, [[], []], {}) == ["a", "b"]


def test_two_versions_of_one_article_in_a_batch_share_its_story() -> None:
    pending = [Pending("a", DAY, unit(1, 0)), Pending("a", DAY, unit(0, 1))]
    assert choose(pending, [[Match("x", "sx", 0.9)], []], {}) == ["sx", "sx"]


def test_ties_go_to_the_smaller_story_id() -> None:
    matches = [[Match("x", "s2", 0.9), Match("y", "s1", 0.9)]]
    assert choose([Pending("a", DAY, unit(1, 0))], matches, {}) == ["s1"]


def test_story_fields_are_json_members_to_splice() -> None:
    fields = story_fields("abc", unit(3, 4))
    assert fields.startswith(b",")
    doc = orjson.loads(b"{" + fields[1:] + b"}")
    assert doc == {"story_id": "abc", "embedding": [0.6, 0.8]}


def test_read_matches_turns_scores_into_cosines() -> None:
    reply = {"hits": {"hits": [{"_score": 0.9, "_source": {"id": "x", "story_id": "s"}}]}}
    [match] = read_matches(reply)
    assert (match.id, match.story_id) == ("x", "s")
    assert abs(match.similarity - 0.8) < 1e-9


def test_the_neighbours_window_holds_within_the_calendar_at_its_ends() -> None:
    vector = np.zeros(4, dtype=np.float32)
    for day, low, high in (
        (date(1, 1, 2), "0001-01-01", "0001-01-05"),
        (date(9999, 12, 30), "9999-12-27", "9999-12-31"),
    ):
        query = neighbours_query(vector, day, threshold=0.6, window_days=3)
        bounds = query["knn"]["filter"]["range"]["published_date"]
        assert (bounds["gte"], bounds["lte"]) == (low, high)


def test_copies_a_moment_apart_meet_before_the_index_shows_the_first() -> None:
    now = [0.0]
    recent = Recent(clock=lambda: now[0])
    first = Pending("a" * 16, date(2026, 12, 5), np.array([1.0, 0.0], dtype=np.float32))
    copy = Pending("b" * 16, date(2026, 12, 5), np.array([0.96, 0.28], dtype=np.float32))
    other = Pending("c" * 16, date(2026, 12, 5), np.array([0.0, 1.0], dtype=np.float32))
    late = Pending("d" * 16, date(2026, 12, 25), np.array([1.0, 0.0], dtype=np.float32))
    recent.add([first], ["a" * 16])
    [match] = recent.near(copy, threshold=0.64, window_days=3)
    assert (match.id, match.story_id) == ("a" * 16, "a" * 16)
    assert recent.near(other, threshold=0.64, window_days=3) == []  # not alike
    assert recent.near(late, threshold=0.64, window_days=3) == []  # outside the window
    assert recent.near(first, threshold=0.64, window_days=3) == []  # not its own match
    assert recent.stories() == {"a" * 16: "a" * 16}
    now[0] += RECENT_S + 1
    recent.add([other], ["c" * 16])  # the first is forgotten: the index shows it by now
    assert recent.stories() == {"c" * 16: "c" * 16}
