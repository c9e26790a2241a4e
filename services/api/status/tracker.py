"""The pipeline status: samples Kafka in the background, answers with the typed view."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import httpx
import structlog
from elasticsearch import AsyncElasticsearch
from prometheus_client import Gauge
from pydantic import ValidationError

from services.api import repository
from services.api.models import (
    AlertsStatus,
    ClusterView,
    DeadLetterView,
    IndexView,
    KafkaView,
    Newest,
    PipelineStatus,
    Unavailable,
)
from services.api.status.cluster import read_cluster
from services.api.status.kafka_reader import KafkaReader
from services.api.status.lag import SAMPLE_S, LagWindows, TopicReading, age_seconds
from services.api.status.probes import Health, alerts_status, services_health
from services.common import es
from services.common.clock import parse_iso
from services.common.errors import IndexMissing, NewswireError
from services.common.settings import Settings

log = structlog.get_logger(__name__)
DLQ_DEPTH = Gauge("newswire_pipeline_dlq_depth", "Records in the dead-letter topic.")
GROUP_LAG = Gauge(
    "newswire_pipeline_group_lag", "Records the indexer group has not committed.", ["partition"]
)
FRESHNESS = Gauge(
    "newswire_pipeline_index_freshness_seconds", "Age of the newest indexed article's indexing."
)


def cause_name(error: NewswireError) -> str:
    """The name of the foreign exception behind ``error`` (what an operator looks up)."""
    return type(error.__cause__ or error).__name__


class Reader(Protocol):
    """The Kafka reads the tracker needs (KafkaReader; a fake in unit tests).

    Kafka's exceptions are raised converted (``kafka.boundary``), as our errors.
    """

    async def reading(self) -> TopicReading: ...
    async def dead_letters(self, limit: int) -> list[DeadLetterView]: ...
    async def close(self) -> None: ...


# Document count and the newest indexed document of the alias (repository.newest_indexed).
NewestRead = Callable[[], Awaitable[tuple[int, dict[str, Any] | None]]]
# Both clusters' members and copies (cluster.read_cluster); never raises.
ClusterRead = Callable[[], Awaitable[ClusterView]]


def _alerts(reported: dict[str, Any] | None) -> AlertsStatus | Unavailable:
    if reported is None:
        return Unavailable(error="the alerts service does not answer")
    try:
        return AlertsStatus.model_validate(reported)
    except ValidationError:
        return Unavailable(error="the alerts service answered something else")


class Tracker:
    """Samples offsets in the background and answers /v1/pipeline/status."""

    def __init__(
        self,
        settings: Settings,
        es: AsyncElasticsearch,
        *,
        reader: Reader | None = None,
        newest: NewestRead | None = None,
        probe_transport: httpx.AsyncBaseTransport | None = None,
        cluster: ClusterRead | None = None,
    ) -> None:
        self.settings = settings
        self.reader: Reader = reader or KafkaReader(settings)
        # The real reader knows the cluster; a test's own reader is given its cluster read.
        real = self.reader if isinstance(self.reader, KafkaReader) else None
        self.cluster: ClusterRead | None = cluster or (
            (lambda: read_cluster(real.copies, es, settings.es_node_urls)) if real else None
        )
        self.newest: NewestRead = newest or (
            lambda: repository.newest_indexed(es, settings.index_alias)
        )
        self.probe_transport = probe_transport
        self.windows = LagWindows()
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

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
        await self.reader.close()

    async def _sample_forever(self) -> None:
        while not self._stop.is_set():
            try:
                await self.kafka_view()
                if self.cluster is not None:
                    await self.cluster()  # keeps the cluster's gauges current between scrapes
            except Exception as exc:  # the sampler must outlive any outage
                log.debug("status sample failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), SAMPLE_S)

    async def kafka_view(self) -> KafkaView:
        """Offsets, lag and group state of the article topic, plus the DLQ depth."""
        reading = await self.reader.reading()
        view = self.windows.observe(reading, time.time())
        DLQ_DEPTH.set(view.dlq_depth)
        for p in view.partitions:
            GROUP_LAG.labels(partition=str(p.partition)).set(p.lag)
        return view

    async def dead_letters(self, limit: int) -> list[DeadLetterView]:
        """The newest ``limit`` dead letters (reason, source, stage, time; payload head)."""
        return await self.reader.dead_letters(limit)

    async def index_view(self) -> IndexView:
        """Document count, newest indexed article and freshness."""
        alias = self.settings.index_alias
        documents, newest = await self.newest()
        if newest is None:
            return IndexView(alias=alias, documents=documents, newest=None, freshness_seconds=None)
        indexed = parse_iso(newest["indexed_at"]).timestamp()
        freshness = age_seconds(indexed, time.time())
        FRESHNESS.set(freshness)
        return IndexView(
            alias=alias,
            documents=documents,
            newest=Newest(id=newest["id"], indexed_at=newest["indexed_at"]),
            freshness_seconds=freshness,
        )

    async def status(self) -> PipelineStatus:
        """The whole view; a backend that is down is reported, never raised."""
        health: dict[str, Health] = {"api": "up"}
        kafka: KafkaView | Unavailable
        index: IndexView | Unavailable
        try:
            kafka = await self.kafka_view()
            health["kafka"] = "up"
        except NewswireError as error:  # the reader's Kafka errors come converted
            kafka = Unavailable(error=f"Kafka unavailable: {cause_name(error)}")
            health["kafka"] = "down"
        try:
            with es.boundary("cannot read the index"):
                index = await self.index_view()
            health["elasticsearch"] = "up"
        except IndexMissing:
            # Elasticsearch answers; the indexer has not created the index yet.
            alias = self.settings.index_alias
            index = IndexView(alias=alias, documents=0, newest=None, freshness_seconds=None)
            health["elasticsearch"] = "up"
        except NewswireError as error:
            index = Unavailable(error=f"Elasticsearch unavailable: {cause_name(error)}")
            health["elasticsearch"] = "down"
        health_of, alerts = await asyncio.gather(
            services_health(self.settings, self.probe_transport),
            alerts_status(self.settings, self.probe_transport),
        )
        health.update(health_of)
        cluster = await self.cluster() if self.cluster is not None else None
        return PipelineStatus(
            kafka=kafka, index=index, health=health, alerts=_alerts(alerts), cluster=cluster
        )
