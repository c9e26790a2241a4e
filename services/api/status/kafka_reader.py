"""The monitor's Kafka reads: offsets and group of the article topic, and the dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.api.models import DeadLetterView
from services.api.status.cluster import PartitionCopies, partition_copies
from services.api.status.lag import TopicReading
from services.common.dlq import H_CODE, H_FAILED_AT, H_MESSAGE, H_SOURCE, H_STAGE, decode_headers
from services.common.kafka import boundary, make_admin, make_consumer
from services.common.settings import Settings

T = TypeVar("T")
Clients = tuple[AIOKafkaAdminClient, AIOKafkaConsumer]
OFFSETS_TOPIC = "__consumer_offsets"
REQUEST_TIMEOUT_MS = 5000  # every request is bounded: the monitor never waits on a dead broker


def _clients(settings: Settings) -> Clients:
    """An admin client and a consumer of no group (it reads, never commits), both bounded."""
    bootstrap = settings.kafka_bootstrap
    admin = make_admin(bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS)
    # Positions are always sought; one out of range (retention) reads nothing, as before.
    consumer = make_consumer(
        bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS, auto_offset_reset="latest"
    )
    return admin, consumer


class KafkaReader:
    """Long-lived clients, one request at a time, reconnected after any failure.

    Kafka's exceptions leave it converted by the one Kafka table (``kafka.boundary``).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: Clients | None = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        """Close the clients (opened again by the next read); safe to call twice."""
        clients, self._clients = self._clients, None
        if clients is not None:
            admin, consumer = clients
            await consumer.stop()
            await admin.close()

    async def _connect(self) -> Clients:
        if self._clients is None:
            admin, consumer = _clients(self.settings)
            try:
                await admin.start()
                await consumer.start()
            except BaseException:  # also a cancellation at shutdown: close what was opened
                await consumer.stop()
                await admin.close()
                raise
            self._clients = admin, consumer
        return self._clients

    async def _run(self, work: Callable[[Clients], Awaitable[T]]) -> T:
        async with self._lock:
            try:
                with boundary("cannot read the pipeline's topics"):
                    return await work(await self._connect())
            except Exception:
                await self.close()  # reconnect on the next call
                raise

    async def reading(self) -> TopicReading:
        """Ends, committed offsets and members of the indexer group; the DLQ depth."""
        return await self._run(self._reading)

    async def dead_letters(self, limit: int) -> list[DeadLetterView]:
        """The newest ``limit`` dead letters, newest first."""
        return await self._run(lambda clients: self._dead_letters(clients, limit))

    async def copies(self) -> tuple[dict[int, str], list[PartitionCopies]]:
        """The brokers the cluster lists now, and the copies of the watched topics' partitions."""
        return await self._run(self._copies)

    async def _copies(self, clients: Clients) -> tuple[dict[int, str], list[PartitionCopies]]:
        admin, _ = clients
        s = self.settings
        # Kafka's own offsets topic too: the indexer commits through it.
        described = await admin.describe_topics([s.topic_articles, s.topic_dlq, OFFSETS_TOPIC])
        cluster = await admin.describe_cluster()
        live = {b["node_id"]: f"{b['host']}:{b['port']}" for b in cluster.get("brokers", [])}
        return live, partition_copies(described)

    async def _reading(self, clients: Clients) -> TopicReading:
        admin, consumer = clients
        s = self.settings
        topics = await admin.describe_topics([s.topic_articles, s.topic_dlq])
        parts = {
            t["topic"]: [p["partition"] for p in t["partitions"]]
            for t in topics
            if t.get("error_code", 0) == 0
        }
        tps = [TopicPartition(s.topic_articles, p) for p in sorted(parts.get(s.topic_articles, []))]
        dlq = [TopicPartition(s.topic_dlq, p) for p in parts.get(s.topic_dlq, [])]
        ends = await consumer.end_offsets(tps + dlq) if tps or dlq else {}
        starts = await consumer.beginning_offsets(dlq) if dlq else {}
        committed = await admin.list_consumer_group_offsets(s.indexer_group)
        groups = await admin.describe_consumer_groups([s.indexer_group])
        offsets = {tp.partition: _offset(committed.get(tp)) for tp in tps}
        oldest = {}
        for tp in tps:
            if ends[tp] > offsets[tp.partition]:
                written = await _written_at(consumer, tp, offsets[tp.partition])
                if written is not None:
                    oldest[tp.partition] = written
        return TopicReading(
            topic=s.topic_articles,
            group=s.indexer_group,
            members=_members(groups, s.indexer_group),
            ends={tp.partition: ends[tp] for tp in tps},
            committed=offsets,
            oldest_at=oldest,
            dlq_depth=sum(ends[tp] - starts[tp] for tp in dlq),
        )

    async def _dead_letters(self, clients: Clients, limit: int) -> list[DeadLetterView]:
        admin, consumer = clients
        topic = self.settings.topic_dlq
        [described] = await admin.describe_topics([topic])
        if described.get("error_code", 0) != 0:
            return []
        tps = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        consumer.assign(tps)
        letters: list[DeadLetterView] = []
        for tp in tps:
            first = max(starts[tp], ends[tp] - limit)
            if first >= ends[tp]:
                continue
            consumer.seek(tp, first)
            while True:
                got = await consumer.getmany(tp, timeout_ms=1000, max_records=limit)
                records = got.get(tp, [])
                letters += [letter_view(r) for r in records]
                if not records or records[-1].offset >= ends[tp] - 1:
                    break
        letters.sort(key=lambda d: d.timestamp, reverse=True)
        return letters[:limit]


async def _written_at(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> float | None:
    """When the record at ``offset`` was written (epoch seconds), None when there is none."""
    consumer.assign([tp])
    consumer.seek(tp, offset)
    got = await consumer.getmany(tp, timeout_ms=1000, max_records=1)
    records = got.get(tp, [])
    return records[0].timestamp / 1000 if records else None


def _offset(meta: Any) -> int:
    """A committed offset, 0 when the group has none for the partition."""
    return int(meta.offset) if meta is not None and meta.offset >= 0 else 0


def letter_view(record: Any) -> DeadLetterView:
    """A dead letter for operators: why, from where, when, and the start of the payload."""
    headers = decode_headers(record.headers)
    payload = bytes(record.value or b"")
    return DeadLetterView(
        code=headers.get(H_CODE, ""),
        message=headers.get(H_MESSAGE, ""),
        source=headers.get(H_SOURCE, ""),
        stage=headers.get(H_STAGE, ""),
        failed_at=headers.get(H_FAILED_AT, ""),
        timestamp=record.timestamp,
        partition=record.partition,
        offset=record.offset,
        payload_bytes=len(payload),
        payload_head=payload[:200].decode("utf-8", "replace"),
    )


def _members(responses: list[Any], group_id: str) -> int:
    """Members of ``group_id`` in DescribeGroups responses (0 when empty or unknown)."""
    for response in responses:
        for group in response.to_object().get("groups", []):
            if group.get("group") == group_id:
                return len(group.get("members") or [])
    return 0
