"""Burrow-like judgement of consumer lag from windows of offset samples: pure, no I/O."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from services.api.models import KafkaView, PartitionLag

WINDOW = 12  # samples kept per partition (one every SAMPLE_S seconds: a one-minute window)
SAMPLE_S = 5.0
PartitionState = Literal["OK", "WARN", "STALL", "STOP", "REWIND"]


@dataclass(frozen=True)
class Sample:
    """One observation of a partition."""

    at: float
    committed: int
    end: int

    @property
    def lag(self) -> int:
        """Records the group has not committed yet."""
        return max(0, self.end - self.committed)


@dataclass(frozen=True)
class TopicReading:
    """One look at the article topic, its consumer group and the dead-letter topic."""

    topic: str
    group: str
    members: int
    ends: dict[int, int]  # partition -> next offset
    committed: dict[int, int]  # partition -> committed offset (0 when none yet)
    oldest_at: dict[int, float]  # partition -> when its oldest uncommitted record was written
    dlq_depth: int


def evaluate(samples: list[Sample], members: int) -> PartitionState:
    """OK, WARN, STALL, STOP or REWIND for one partition, from its window of samples.

    REWIND: the committed offset went backwards. OK: no lag, or the consumer is catching up.
    STOP: lag and nobody in the group. STALL: lag, members, but the offset does not move over
    the window. WARN: the offset moves but the lag grew across the window.
    """
    if not samples:
        return "OK"
    if any(b.committed < a.committed for a, b in itertools.pairwise(samples)):
        return "REWIND"
    first, last = samples[0], samples[-1]
    if last.lag == 0:
        return "OK"
    if members == 0:
        return "STOP"
    if len(samples) >= 3 and first.committed == last.committed:
        return "STALL"
    if len(samples) >= 3 and last.lag > first.lag:
        return "WARN"
    return "OK"


def age_seconds(since: float | None, now: float) -> float:
    """Seconds from ``since`` to ``now``, in milliseconds' precision (0 when there is none)."""
    if since is None:
        return 0.0
    return round(max(0.0, now - since), 3)


@dataclass
class LagWindows:
    """The last WINDOW samples of each partition, turned into the Kafka side of the status."""

    history: dict[int, deque[Sample]] = field(default_factory=dict)

    def observe(self, reading: TopicReading, now: float) -> KafkaView:
        """Add one sample per partition and judge each over its window."""
        partitions = []
        for partition, end in sorted(reading.ends.items()):
            committed = reading.committed.get(partition, 0)
            window = self.history.setdefault(partition, deque(maxlen=WINDOW))
            sample = Sample(now, committed, end)
            window.append(sample)
            lag = sample.lag
            partitions.append(
                PartitionLag(
                    partition=partition,
                    end_offset=end,
                    committed_offset=committed,
                    lag=lag,
                    lag_seconds=age_seconds(reading.oldest_at.get(partition), now) if lag else 0.0,
                    status=evaluate(list(window), reading.members),
                )
            )
        return KafkaView(
            topic=reading.topic,
            group=reading.group,
            group_members=reading.members,
            partitions=partitions,
            total_lag=sum(p.lag for p in partitions),
            dlq_depth=reading.dlq_depth,
        )
