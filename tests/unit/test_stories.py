"""Story assignment, pure: which story each article of a batch joins, from the memory."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import orjson

from services.common.embedding import DIMS, quantized
from services.common.embedding import unit as as_unit
from services.indexer.stories import as_stored, day_ranges, stored_vector, story_fields
from services.indexer.story_memory import Pending, StoryMemory

DAY = date(2025, 3, 11)


def unit(*values: float) -> npt.NDArray[np.float32]:
    """A unit vector of DIMS in the direction of ``values`` (the rest zeros)."""
    v = np.zeros(DIMS, dtype=np.float32)
    v[: len(values)] = values
    out: npt.NDArray[np.float32] = v / np.linalg.norm(v)
    return out


def memory(*stored: tuple[str, date, str, npt.NDArray[np.float32]]) -> StoryMemory:
    """A memory holding the days around DAY and the ``stored`` articles."""
    kept = StoryMemory(threshold=0.8, window_days=3, capacity=1_000)
    for day in kept.missing([DAY, date(2025, 3, 20)]):
        kept.hold(day)
    for article in stored:
        kept.put(*article)
    return kept


def test_an_article_with_no_match_starts_its_own_story() -> None:
    assert memory().decide([Pending("a", DAY, unit(1, 0))], {}) == ["a"]


def test_the_most_similar_stored_article_above_the_threshold_gives_its_story() -> None:
    kept = memory(
        ("x", DAY, "sx", unit(1, 0.5)),
        ("y", DAY, "sy", unit(1, 0.1)),
        ("z", DAY, "sz", unit(0, 1)),
    )
    assert kept.decide([Pending("a", DAY, unit(1, 0))], {}) == ["sy"]


def test_matches_below_the_threshold_are_not_the_story() -> None:
    kept = memory(("x", DAY, "sx", unit(1, 0.8)))  # cosine 0.78
    assert kept.decide([Pending("a", DAY, unit(1, 0))], {}) == ["a"]


def test_a_stored_article_keeps_its_story_whatever_it_matches_now() -> None:
    kept = memory(("x", DAY, "sx", unit(1, 0)))
    assert kept.decide([Pending("a", DAY, unit(1, 0))], {"a": "old"}) == ["old"]


def test_an_article_kept_already_keeps_its_story_when_written_again() -> None:
    kept = memory(("a", DAY, "sa", unit(0, 1)), ("x", DAY, "sx", unit(1, 0)))
    assert kept.decide([Pending("a", DAY, unit(1, 0))], {}) == ["sa"]


def test_copies_in_one_batch_join_the_first() -> None:
    pending = [
        Pending("a", DAY, unit(1, 0)),
        Pending("b", DAY, unit(1, 0.1)),
        Pending("c", DAY, unit(0, 1)),
    ]
    assert memory().decide(pending, {}) == ["a", "a", "c"]


def test_copies_outside_the_window_do_not_join() -> None:
    pending = [Pending("a", DAY, unit(1, 0)), Pending("b", date(2025, 3, 20), unit(1, 0))]
    assert memory().decide(pending, {}) == ["a", "b"]


def test_two_versions_of_one_article_in_a_batch_share_its_story() -> None:
    kept = memory(("x", DAY, "sx", unit(1, 0)))
    pending = [Pending("a", DAY, unit(1, 0)), Pending("a", DAY, unit(0, 1))]
    assert kept.decide(pending, {}) == ["sx", "sx"]


def test_ties_go_to_the_smaller_story_id() -> None:
    kept = memory(("x", DAY, "s2", unit(1, 0.1)), ("y", date(2025, 3, 12), "s1", unit(1, 0.1)))
    assert kept.decide([Pending("a", DAY, unit(1, 0))], {}) == ["s1"]


def test_an_article_moved_to_another_day_is_matched_there_only() -> None:
    kept = memory(("x", DAY, "sx", unit(1, 0)))
    kept.put("x", date(2025, 3, 20), "sx", unit(1, 0))  # a later version, another date
    assert kept.decide([Pending("a", DAY, unit(1, 0))], {}) == ["a"]
    assert kept.decide([Pending("b", date(2025, 3, 19), unit(1, 0))], {}) == ["sx"]


def test_an_article_of_a_day_not_kept_waits_for_its_day_to_be_read() -> None:
    kept = StoryMemory(threshold=0.8, window_days=1, capacity=1_000)
    kept.put("x", DAY, "sx", unit(1, 0))
    assert not kept.knows("x")
    assert kept.missing([DAY]) == [date(2025, 3, 10), DAY, date(2025, 3, 12)]


def test_weeks_least_used_are_forgotten_past_the_capacity_but_the_batch_weeks() -> None:
    kept = StoryMemory(threshold=0.8, window_days=0, capacity=3)
    days = [date(2025, 3, 3) + timedelta(weeks=n) for n in range(3)]  # three blocks of days
    for n, day in enumerate(days):
        kept.hold(day)
        kept.put(f"a{n}", day, f"a{n}", unit(1, n))
    kept.decide([Pending("q", days[0], unit(0, 1))], {})  # week 1 used last: 4 articles
    kept.forget(keep=[days[1]])
    assert [kept.knows(n) for n in ("a0", "a1", "a2", "q")] == [True, True, False, True]
    assert len(kept) == 3
    assert kept.missing([days[2]]) == [days[2]]  # its days are read again when needed


def test_the_window_holds_within_the_calendar_at_its_ends() -> None:
    kept = StoryMemory(threshold=0.8, window_days=3, capacity=1_000)
    assert kept.missing([date(1, 1, 2)])[0] == date(1, 1, 1)
    assert kept.missing([date(9999, 12, 30)])[-1] == date(9999, 12, 31)
    assert len(kept.missing([DAY])) == 7


def test_story_fields_are_json_members_to_splice_the_vector_as_bytes_in_hex() -> None:
    fields = story_fields("abc", quantized(np.array([0.6, 0.8], dtype=np.float32)), "w1")
    assert fields.startswith(b",")
    doc = orjson.loads(b"{" + fields[1:] + b"}")
    # 0.8 is the largest component: 127; 0.6 scaled alike is 95.25, rounded 95 (0x5f).
    assert doc == {"story_id": "abc", "embedding": "5f7f", "indexed_by": "w1"}


def test_an_index_of_floats_gets_the_unit_vector_the_bytes_stand_for() -> None:
    stored = quantized(np.array([0.6, 0.8], dtype=np.float32))
    doc = orjson.loads(b"{" + story_fields("abc", stored, as_bytes=False)[1:] + b"}")
    back = as_unit(stored)
    assert back is not None
    assert np.allclose(doc["embedding"], back, atol=1e-5)
    assert abs(float(np.linalg.norm(doc["embedding"])) - 1.0) < 1e-4  # dot_product wants unit


def test_a_vector_of_zeros_is_left_out() -> None:
    doc = orjson.loads(b"{" + story_fields("abc", np.zeros(4, dtype=np.int8))[1:] + b"}")
    assert doc == {"story_id": "abc"}


def test_bytes_keep_the_cosines_of_the_vectors_they_stand_for() -> None:
    rng = np.random.default_rng(3)
    a, b = (unit(*rng.standard_normal(DIMS)) for _ in range(2))
    c = unit(*(a + 0.3 * b))
    for x, y in ((a, b), (a, c), (b, c)):
        stored_x, stored_y = as_unit(quantized(x)), as_unit(quantized(y).tolist())
        assert stored_x is not None
        assert stored_y is not None
        assert abs(float(stored_x @ stored_y) - float(x @ y)) < 0.005
    hexed, listed = as_unit(quantized(a).tobytes().hex()), as_unit(quantized(a).tolist())
    assert hexed is not None
    assert listed is not None
    assert np.allclose(hexed, listed)
    rows = np.stack([a, b, np.zeros(DIMS, dtype=np.float32)])
    assert np.array_equal(
        quantized(rows), np.stack([quantized(a), quantized(b), quantized(rows[2])])
    )
    assert not quantized(rows)[2].any()
    assert as_unit([0, 0, 0]) is None
    assert as_unit("not hex") is None


def test_days_are_read_as_one_range_per_run_of_days() -> None:
    days = [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3), date(2025, 3, 9)]
    assert day_ranges(days) == [
        {"range": {"published_date": {"gte": "2025-03-01", "lte": "2025-03-03"}}},
        {"range": {"published_date": {"gte": "2025-03-09", "lte": "2025-03-09"}}},
    ]


def test_a_stored_article_without_a_usable_vector_is_not_kept() -> None:
    good = {"id": "a", "story_id": "s", "published_date": "2025-03-11", "embedding": [0.1] * DIMS}
    assert stored_vector(good) is not None
    assert stored_vector({**good, "embedding": [0.1] * 3}) is None
    assert stored_vector({**good, "published_date": "not a date"}) is None
    assert stored_vector({k: v for k, v in good.items() if k != "story_id"}) is None


def test_vectors_are_compared_as_the_index_will_give_them_back() -> None:
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((4, DIMS)).astype(np.float32)
    vectors[2] = 0.0
    kept = as_stored(quantized(vectors))
    for row, vector in zip(kept, vectors, strict=True):
        back = as_unit(quantized(vector))
        if back is None:
            assert not row.any()
        else:
            assert np.allclose(row, back, atol=1e-6)
