"""Offset bookkeeping: commit after the last record of each partition, rewind to the first."""

from __future__ import annotations

from aiokafka import TopicPartition

from services.indexer.checkpoint import commit_offsets, rewind_offsets
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
