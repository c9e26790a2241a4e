"""Offset bookkeeping: commit after the last record of each partition, rewind to the first."""

from __future__ import annotations

import random

from aiokafka import TopicPartition
from hypothesis import given
from hypothesis import strategies as st

from services.indexer.checkpoint import CommitTracker, commit_offsets, rewind_offsets
from tests.unit.kafka_fakes import TOPIC, FakeRecord

P0, P1, P2 = (TopicPartition(TOPIC, n) for n in range(3))


def _batch(*positions: tuple[int, int]) -> list[FakeRecord]:
    return [FakeRecord(TOPIC, p, o, None, b"{}") for p, o in positions]


def test_commit_is_one_past_the_highest_offset_of_each_partition() -> None:
    batch = _batch((0, 7), (1, 3), (0, 5), (0, 9), (1, 4))
    assert commit_offsets(batch, {P0, P1}) == {P0: 10, P1: 5}


def test_rewind_is_the_lowest_offset_of_each_partition() -> None:
    batch = _batch((0, 7), (1, 3), (0, 5), (0, 9), (1, 4))
    assert rewind_offsets(batch, {P0, P1}) == {P0: 5, P1: 3}


def test_partitions_moved_away_are_neither_committed_nor_rewound() -> None:
    batch = _batch((0, 1), (2, 8))
    assert commit_offsets(batch, {P0}) == {P0: 2}
    assert rewind_offsets(batch, {P0}) == {P0: 1}
    assert commit_offsets(batch, set()) == rewind_offsets(batch, set()) == {}


def test_offset_zero_commits_one() -> None:
    assert commit_offsets(_batch((1, 0)), {P1}) == {P1: 1}
    assert rewind_offsets(_batch((1, 0)), {P1}) == {P1: 0}


def test_an_empty_batch_moves_nothing() -> None:
    assert commit_offsets([], {P0}) == rewind_offsets([], {P0}) == {}


def _tracker_take(tracker: CommitTracker, *positions: tuple[int, int]) -> int:
    return tracker.take(_batch(*positions))


def test_batches_finishing_out_of_order_commit_only_what_is_done_below() -> None:
    tracker = CommitTracker()
    first = _tracker_take(tracker, (0, 0), (0, 1), (1, 0))
    second = _tracker_take(tracker, (0, 2), (1, 1))
    third = _tracker_take(tracker, (0, 3))
    tracker.finish(third)
    assert tracker.ready({P0, P1}) == {}, "nothing below the third batch is done yet"
    tracker.finish(second)
    assert tracker.ready({P0, P1}) == {}
    tracker.finish(first)
    assert tracker.ready({P0, P1}) == {P0: 4, P1: 2}
    assert tracker.ready({P0, P1}) == {}, "what was handed out once is not handed out again"


def test_a_partition_moves_on_without_waiting_for_batches_of_others() -> None:
    tracker = CommitTracker()
    slow = _tracker_take(tracker, (0, 0))
    fast = _tracker_take(tracker, (1, 0), (1, 1))
    tracker.finish(fast)
    assert tracker.ready({P0, P1}) == {P1: 2}
    tracker.finish(slow)
    assert tracker.ready({P0, P1}) == {P0: 1}


def test_a_batch_given_up_holds_its_partitions_until_reset_and_rewind() -> None:
    tracker = CommitTracker()
    given_up = _tracker_take(tracker, (0, 0), (0, 1))
    after = _tracker_take(tracker, (0, 2), (1, 0))
    tracker.finish(after)
    assert tracker.ready({P0, P1}) == {P1: 1}, "P0 stays below the batch given up"
    assert rewind_offsets(_batch((0, 0), (0, 1)), {P0, P1}) == {P0: 0}
    tracker.reset()
    tracker.finish(given_up)  # a late word about a forgotten batch changes nothing
    again = _tracker_take(tracker, (0, 0), (0, 1), (0, 2))
    assert tracker.ready({P0, P1}) == {}
    tracker.finish(again)
    assert tracker.ready({P0, P1}) == {P0: 3}


def test_partitions_moved_away_are_not_handed_out_for_commit() -> None:
    tracker = CommitTracker()
    ticket = _tracker_take(tracker, (0, 4), (2, 9))
    tracker.finish(ticket)
    assert tracker.ready({P0}) == {P0: 5}


def test_a_rebalance_that_hands_a_partition_back_starts_it_afresh() -> None:
    tracker = CommitTracker()
    _tracker_take(tracker, (0, 10))  # in flight as the partition moved away, given up
    tracker.reset()
    ticket = _tracker_take(tracker, (0, 7), (0, 8))  # read again from the group's commit
    tracker.finish(ticket)
    assert tracker.ready({P0}) == {P0: 9}


def test_a_batch_with_gaps_in_its_offsets_commits_past_its_highest() -> None:
    tracker = CommitTracker()
    ticket = _tracker_take(tracker, (0, 9), (0, 3), (0, 5))  # compacted or transactional gaps
    tracker.finish(ticket)
    assert tracker.ready({P0}) == {P0: 10}


@given(
    sizes=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 4)), min_size=1, max_size=8),
    order=st.randoms(use_true_random=False),
)
def test_whatever_the_order_a_commit_never_passes_a_record_not_done(
    sizes: list[tuple[int, int]], order: random.Random
) -> None:
    tracker = CommitTracker()
    following = dict.fromkeys(range(3), 0)
    batches: dict[int, list[tuple[int, int]]] = {}
    for partition, count in sizes:  # one partition's records per batch, read in order
        positions = [(partition, following[partition] + n) for n in range(count)]
        following[partition] += count
        batches[_tracker_take(tracker, *positions)] = positions
    pending = list(batches)
    order.shuffle(pending)
    committed: dict[TopicPartition, int] = {}
    while pending:
        done = pending.pop()
        tracker.finish(done)
        committed.update(tracker.ready({P0, P1, P2}))
        waiting = [pos for ticket in pending for pos in batches[ticket]]
        for tp, offset in committed.items():
            assert all(o >= offset for p, o in waiting if p == tp.partition)
    assert committed == {TopicPartition(TOPIC, p): n for p, n in following.items() if n}
