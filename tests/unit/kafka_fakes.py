"""In-memory stand-ins for what the indexer needs of Kafka: records, a consumer, a producer."""

from __future__ import annotations

import asyncio
from collections.abc import Set
from dataclasses import dataclass, field

from aiokafka import TopicPartition

TOPIC = "articles"


@dataclass(frozen=True)
class FakeRecord:
    """A consumed record: where it stands, its key and value."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class FakeSource:
    """A group consumer over in-memory partitions: fetches, pauses, seeks and commits."""

    logs: dict[TopicPartition, list[FakeRecord]] = field(default_factory=dict)
    owned: set[TopicPartition] = field(default_factory=set)
    paused: set[TopicPartition] = field(default_factory=set)
    next: dict[TopicPartition, int] = field(default_factory=dict)
    commits: list[dict[TopicPartition, int]] = field(default_factory=list)
    seeks: list[tuple[TopicPartition, int]] = field(default_factory=list)

    def append(self, partition: int, *values: bytes) -> list[FakeRecord]:
        """Append records to a partition (which this member then owns)."""
        tp = TopicPartition(TOPIC, partition)
        log = self.logs.setdefault(tp, [])
        self.owned.add(tp)
        added = [FakeRecord(TOPIC, partition, len(log) + n, None, v) for n, v in enumerate(values)]
        log.extend(added)
        return added

    def assignment(self) -> Set[TopicPartition]:
        """The partitions owned."""
        return frozenset(self.owned)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Record the commit."""
        self.commits.append(dict(offsets))

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[FakeRecord]]:
        """What is after each unpaused partition's position, up to ``max_records`` in all."""
        await asyncio.sleep(0)
        room = max_records if max_records is not None else 10**9
        got: dict[TopicPartition, list[FakeRecord]] = {}
        for tp in sorted(self.owned - self.paused):
            start = self.next.get(tp, 0)
            part = self.logs.get(tp, [])[start : start + room]
            if part:
                got[tp] = part
                self.next[tp] = start + len(part)
                room -= len(part)
        if not got and timeout_ms:
            await asyncio.sleep(0.001)
        return got

    def pause(self, *partitions: TopicPartition) -> None:
        """Fetch nothing from these."""
        self.paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        """Fetch from these again."""
        self.paused.difference_update(partitions)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        """Read ``partition`` from ``offset`` next."""
        self.seeks.append((partition, offset))
        self.next[partition] = offset

    def highwater(self, partition: TopicPartition) -> int | None:
        """The end of the partition."""
        return len(self.logs.get(partition, []))

    async def position(self, partition: TopicPartition) -> int:
        """The next offset to be read."""
        return self.next.get(partition, 0)


@dataclass
class Sent:
    """One record the fake producer acknowledged."""

    topic: str
    value: bytes
    key: bytes | None
    headers: dict[str, bytes]


class FakeProducer:
    """Acknowledges every record, except that each call may first fail as scripted."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.sent: list[Sent] = []
        self.attempts = 0

    async def send(
        self, topic: str, value: bytes, *, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> asyncio.Future[object]:
        """Queue one record; its future fails with the next scripted error, if any."""
        self.attempts += 1
        ack: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        if self.failures:
            ack.set_exception(self.failures.pop(0))
        else:
            self.sent.append(Sent(topic, value, key, dict(headers)))
            ack.set_result(None)
        return ack
