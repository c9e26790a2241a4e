"""Offset bookkeeping, pure: what to commit after a batch, where to seek after giving up."""

from __future__ import annotations

from collections.abc import Iterable, Set
from typing import Protocol

from aiokafka import TopicPartition


class Position(Protocol):
    """Where a record stands in the log: all the bookkeeping reads of it."""

    @property
    def topic(self) -> str:
        """The topic it was read from."""
        ...

    @property
    def partition(self) -> int:
        """Its partition."""
        ...

    @property
    def offset(self) -> int:
        """Its offset in the partition."""
        ...


def commit_offsets(
    batch: Iterable[Position], owned: Set[TopicPartition]
) -> dict[TopicPartition, int]:
    """``last offset + 1`` per partition still owned: every record up to it is done.

    A partition that moved away is left out: its new owner re-reads from the last commit, and
    the external versions make those writes no-ops. Nothing is lost or skipped.
    """
    offsets: dict[TopicPartition, int] = {}
    for record in batch:
        tp = TopicPartition(record.topic, record.partition)
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    return {tp: offset for tp, offset in offsets.items() if tp in owned}


def rewind_offsets(
    batch: Iterable[Position], owned: Set[TopicPartition]
) -> dict[TopicPartition, int]:
    """The first offset per partition still owned: seeking there reads the batch again."""
    first: dict[TopicPartition, int] = {}
    for record in batch:
        tp = TopicPartition(record.topic, record.partition)
        first[tp] = min(first.get(tp, record.offset), record.offset)
    return {tp: offset for tp, offset in first.items() if tp in owned}
