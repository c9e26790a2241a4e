"""Offset bookkeeping, pure: what to commit after a batch, where to seek after giving up."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Set
from dataclasses import dataclass
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


@dataclass
class _Span:
    """One batch's records of one partition, up to offset ``end - 1``."""

    end: int
    done: bool = False


class CommitTracker:
    """Batches in flight, in the order they were taken: what may be committed as they finish.

    Batches finish in any order, but a partition's offset only moves past a batch once every
    batch taken before it with records of that partition has finished too. A batch given up
    never finishes: it holds its partitions back until ``reset``, and what came after it is
    read again (the loop rewinds), never skipped.
    """

    def __init__(self) -> None:
        self._spans: dict[TopicPartition, deque[_Span]] = {}
        self._open: dict[int, list[tuple[TopicPartition, _Span]]] = {}
        self._ready: dict[TopicPartition, int] = {}
        self._next = 0

    def take(self, batch: Iterable[Position]) -> int:
        """Register a batch (in the order batches are read); returns its ticket."""
        ticket, self._next = self._next, self._next + 1
        spans: dict[TopicPartition, _Span] = {}
        for record in batch:
            tp = TopicPartition(record.topic, record.partition)
            span = spans.setdefault(tp, _Span(record.offset + 1))
            span.end = max(span.end, record.offset + 1)
        for tp, span in spans.items():
            self._spans.setdefault(tp, deque()).append(span)
        self._open[ticket] = list(spans.items())
        return ticket

    def finish(self, ticket: int) -> None:
        """Every record of the batch is written or dead-lettered."""
        for tp, span in self._open.pop(ticket, ()):
            span.done = True
            queue = self._spans[tp]
            while queue and queue[0].done:
                self._ready[tp] = queue.popleft().end

    def ready(self, owned: Set[TopicPartition]) -> dict[TopicPartition, int]:
        """Per owned partition, the offset every record below which is done (and forgets it)."""
        ready = {tp: offset for tp, offset in self._ready.items() if tp in owned}
        self._ready.clear()
        return ready

    def reset(self) -> None:
        """Forget the batches taken (none in flight): those given up are read again."""
        self._spans.clear()
        self._open.clear()
