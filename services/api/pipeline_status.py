"""The operator's one glance: lag per partition judged in the manner of Burrow, and health."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError, TransportError
from prometheus_client import Gauge

from services.common.clock import parse_iso
from services.common.dlq import H_CODE, H_FAILED_AT, H_MESSAGE, H_SOURCE, H_STAGE, decode_headers
from services.common.settings import Settings

log = structlog.get_logger(__name__)
DLQ_DEPTH = Gauge("newswire_pipeline_dlq_depth", "Records in the dead-letter topic.")
GROUP_LAG = Gauge(
    "newswire_pipeline_group_lag", "Records the indexer group has not committed.", ["partition"]
)
FRESHNESS = Gauge(
    "newswire_pipeline_index_freshness_seconds", "Age of the newest indexed article's indexing."
)
WINDOW = 12  # samples kept per partition (one every SAMPLE_S seconds: a one-minute window)
SAMPLE_S = 5.0


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


def evaluate(samples: list[Sample], members: int) -> str:
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


@dataclass
class Tracker:
    """Samples offsets in the background and answers /v1/pipeline/status."""

    settings: Settings
    es: AsyncElasticsearch
    history: dict[int, deque[Sample]] = field(default_factory=dict)
    _admin: AIOKafkaAdminClient | None = None
    _consumer: AIOKafkaConsumer | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _task: asyncio.Task[None] | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        """Begin sampling (Kafka may be down: then status says so)."""
        self._task = asyncio.create_task(self._sample_forever(), name="status-sampler")

    async def close(self) -> None:
        """Stop sampling and close the Kafka clients; safe to call twice.

        The sampler is asked to stop, not cancelled: aiokafka leaks a connection when a
        request is cancelled half-way, and every request here is bounded by its timeout.
        """
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 15)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._disconnect()

    async def _disconnect(self) -> None:
        admin, consumer = self._admin, self._consumer
        self._admin = self._consumer = None
        if consumer is not None:
            await consumer.stop()
        if admin is not None:
            await admin.close()

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._consumer is None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.settings.kafka_bootstrap, request_timeout_ms=5000
            )
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                enable_auto_commit=False,
                request_timeout_ms=5000,
            )
            try:
                await admin.start()
                await consumer.start()
            except BaseException:  # also a cancellation at shutdown: close what was opened
                await consumer.stop()
                await admin.close()
                raise
            self._admin, self._consumer = admin, consumer
        return self._admin, self._consumer

    async def _sample_forever(self) -> None:
        while not self._stop.is_set():
            try:
                await self.kafka_view()
            except Exception as exc:  # the sampler must outlive any outage
                log.debug("status sample failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), SAMPLE_S)

    async def kafka_view(self) -> dict[str, Any]:
        """Offsets, lag and group state of the article topic, plus the DLQ depth."""
        async with self._lock:
            try:
                return await self._kafka_view()
            except Exception:
                await self._disconnect()  # reconnect on the next call
                raise

    async def _kafka_view(self) -> dict[str, Any]:
        admin, consumer = await self._clients()
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
        members = _members(groups, s.indexer_group)
        now = time.time()
        partitions = []
        for tp in tps:
            meta = committed.get(tp)
            offset = meta.offset if meta is not None and meta.offset >= 0 else 0
            history = self.history.setdefault(tp.partition, deque(maxlen=WINDOW))
            history.append(Sample(now, offset, ends[tp]))
            lag = max(0, ends[tp] - offset)
            partitions.append(
                {
                    "partition": tp.partition,
                    "end_offset": ends[tp],
                    "committed_offset": offset,
                    "lag": lag,
                    "lag_seconds": await self._lag_seconds(consumer, tp, offset, now)
                    if lag
                    else 0.0,
                    "status": evaluate(list(history), members),
                }
            )
        dlq_depth = sum(ends[tp] - starts[tp] for tp in dlq)
        DLQ_DEPTH.set(dlq_depth)
        for p in partitions:
            GROUP_LAG.labels(partition=str(p["partition"])).set(p["lag"])
        return {
            "topic": s.topic_articles,
            "group": s.indexer_group,
            "group_members": members,
            "partitions": partitions,
            "total_lag": sum(p["lag"] for p in partitions),
            "dlq_depth": dlq_depth,
        }

    async def _lag_seconds(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int, now: float
    ) -> float:
        """Age of the oldest record the group has not committed: how far behind in time."""
        consumer.assign([tp])
        consumer.seek(tp, offset)
        got = await consumer.getmany(tp, timeout_ms=1000, max_records=1)
        records = got.get(tp, [])
        return round(max(0.0, now - records[0].timestamp / 1000), 3) if records else 0.0

    async def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` dead letters (reason, source, stage, time; payload head)."""
        async with self._lock:
            try:
                return await self._dead_letters(limit)
            except Exception:
                await self._disconnect()
                raise

    async def _dead_letters(self, limit: int) -> list[dict[str, Any]]:
        admin, consumer = await self._clients()
        topic = self.settings.topic_dlq
        [described] = await admin.describe_topics([topic])
        if described.get("error_code", 0) != 0:
            return []
        tps = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        consumer.assign(tps)
        letters: list[dict[str, Any]] = []
        for tp in tps:
            first = max(starts[tp], ends[tp] - limit)
            if first >= ends[tp]:
                continue
            consumer.seek(tp, first)
            while True:
                got = await consumer.getmany(tp, timeout_ms=1000, max_records=limit)
                records = got.get(tp, [])
                letters += [_letter(r) for r in records]
                if not records or records[-1].offset >= ends[tp] - 1:
                    break
        letters.sort(key=lambda d: d["timestamp"], reverse=True)
        return letters[:limit]

    async def index_view(self) -> dict[str, Any]:
        """Document count, newest indexed article and freshness."""
        alias = self.settings.index_alias
        count = await self.es.count(index=alias)
        newest = await self.es.search(
            index=alias,
            size=1,
            sort=[{"indexed_at": "desc"}],
            source_includes=["id", "indexed_at"],
            query={"match_all": {}},
        )
        hits = newest["hits"]["hits"]
        view: dict[str, Any] = {
            "alias": alias,
            "documents": count["count"],
            "newest": None,
            "freshness_seconds": None,
        }
        if hits:
            src = hits[0]["_source"]
            view["newest"] = {"id": src["id"], "indexed_at": src["indexed_at"]}
            age = time.time() - parse_iso(src["indexed_at"]).timestamp()
            view["freshness_seconds"] = round(max(0.0, age), 3)
            FRESHNESS.set(view["freshness_seconds"])
        return view

    async def services_view(self) -> dict[str, str]:
        """up/down of the ingest and indexer services, from their /livez."""
        s = self.settings
        targets = {
            "ingest": s.ingest_url or f"http://127.0.0.1:{s.ingest_port}",
            "indexer": s.indexer_url or f"http://127.0.0.1:{s.indexer_port}",
        }
        async with httpx.AsyncClient(timeout=0.5) as client:

            async def probe(base: str) -> str:
                try:
                    reply = await client.get(f"{base}/livez")
                except httpx.HTTPError:
                    return "down"
                return "up" if reply.status_code == 200 else "unhealthy"

            states = await asyncio.gather(*(probe(p) for p in targets.values()))
        return dict(zip(targets, states, strict=True))

    async def status(self) -> dict[str, Any]:
        """The whole view; a backend that is down is reported, never raised."""
        health: dict[str, str] = {"api": "up"}
        try:
            kafka = await self.kafka_view()
            health["kafka"] = "up"
        except Exception as exc:
            kafka = {"error": f"Kafka unavailable: {type(exc).__name__}"}
            health["kafka"] = "down"
        try:
            index = await self.index_view()
            health["elasticsearch"] = "up"
        except NotFoundError:
            # Elasticsearch answers; the indexer has not created the index yet.
            index = {
                "alias": self.settings.index_alias,
                "documents": 0,
                "newest": None,
                "freshness_seconds": None,
            }
            health["elasticsearch"] = "up"
        except (TransportError, ApiError) as exc:
            index = {"error": f"Elasticsearch unavailable: {type(exc).__name__}"}
            health["elasticsearch"] = "down"
        health.update(await self.services_view())
        return {"kafka": kafka, "index": index, "health": health}


def _letter(record: Any) -> dict[str, Any]:
    """A dead letter for operators: why, from where, when, and the start of the payload."""
    headers = decode_headers(record.headers)
    payload = bytes(record.value or b"")
    return {
        "code": headers.get(H_CODE, ""),
        "message": headers.get(H_MESSAGE, ""),
        "source": headers.get(H_SOURCE, ""),
        "stage": headers.get(H_STAGE, ""),
        "failed_at": headers.get(H_FAILED_AT, ""),
        "timestamp": record.timestamp,
        "partition": record.partition,
        "offset": record.offset,
        "payload_bytes": len(payload),
        "payload_head": payload[:200].decode("utf-8", "replace"),
    }


def _members(responses: list[Any], group_id: str) -> int:
    """Members of ``group_id`` in DescribeGroups responses (0 when empty or unknown)."""
    for response in responses:
        for group in response.to_object().get("groups", []):
            if group.get("group") == group_id:
                return len(group.get("members") or [])
    return 0
