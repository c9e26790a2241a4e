"""The indexer: Kafka to Elasticsearch, offsets committed only after every record is written.

``Indexer`` owns the clients and puts the parts together: ``ConsumerLoop`` (loop.py) batches
records, ``BatchProcessor`` (batch.py) writes, dead-letters and commits each batch.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from elasticsearch import AsyncElasticsearch

from services.common.dlq import DeadLetterSink
from services.common.embedding import Embedder
from services.common.es import make_client
from services.common.kafka import ensure_topics, make_consumer, make_producer, max_message_bytes
from services.common.lifecycle import AsyncScoped
from services.common.settings import Settings
from services.indexer.batch import BatchProcessor
from services.indexer.bulk import BulkLimits, BulkWriter
from services.indexer.bulk_target import EsBulkTarget
from services.indexer.history import VersionHistory, versions_writer
from services.indexer.loop import ConsumerLoop
from services.indexer.mapping import ensure_index
from services.indexer.stories import StoryAssigner

log = structlog.get_logger(__name__)


class _Revocation(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions move away, let the batches in flight finish and commit (or give up)."""

    def __init__(self, processor: BatchProcessor) -> None:
        self.processor = processor

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.processor.revoking = True
        try:
            await self.processor.drained()
        finally:
            self.processor.revoking = False
        log.info("partitions revoked", partitions=sorted(tp.partition for tp in revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned", partitions=sorted(tp.partition for tp in assigned))


class Indexer(AsyncScoped):
    """Consumes the article topic in batches and writes them idempotently to the index alias."""

    def __init__(self, settings: Settings, *, client_id: str = "newswire-indexer") -> None:
        self.settings = settings
        self.client_id = client_id
        self._started = time.monotonic()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._es: AsyncElasticsearch | None = None
        self._loop: ConsumerLoop | None = None
        self._embedder: Embedder | None = None

    async def _start(self) -> None:
        """Connect the clients, create topics and index if missing, subscribe."""
        s = self.settings
        self._es = make_client(s)
        try:
            await ensure_topics(s)
            await ensure_index(self._es, s)
            self._producer = make_producer(s)
            await self._producer.start()
            self._consumer = self._make_consumer()
            limits = BulkLimits.of(s)
            articles = EsBulkTarget(self._es, s.index_alias)
            processor = BatchProcessor(
                BulkWriter(articles, limits),
                DeadLetterSink.of(self._producer, s),
                self._consumer,
                VersionHistory(versions_writer(self._es, s), articles, self._es),
                await self._stories(self._es),
            )
            self._consumer.subscribe([s.topic_articles], listener=_Revocation(processor))
            await self._consumer.start()
        except BaseException:
            await self.close()
            raise
        self._loop = ConsumerLoop(self._consumer, processor, s)

    async def _stories(self, es: AsyncElasticsearch) -> StoryAssigner | None:
        """The story assigner, with its embedder started; None when stories are turned off."""
        if not self.settings.stories_enabled:
            return None
        self._embedder = Embedder()
        await self._embedder.__aenter__()
        return StoryAssigner(es, self.settings.index_alias, self._embedder, self.settings)

    def _make_consumer(self) -> AIOKafkaConsumer:
        s = self.settings
        return make_consumer(
            s.kafka_bootstrap,
            group_id=s.indexer_group,
            client_id=self.client_id,
            # Fetch limits count compressed bytes (zstd packs articles 3:1, repetitive ones far
            # more): kept to a few records' worth so memory stays bounded; requests to
            # Elasticsearch are bounded separately, by what is sent (BulkLimits).
            max_partition_fetch_bytes=max_message_bytes(s),
            fetch_max_bytes=max(4 * max_message_bytes(s), s.batch_max_bytes),
            max_poll_records=s.batch_max_docs,
        )

    async def close(self) -> None:
        """Leave the group, flush dead letters, close the client; safe to call twice."""
        consumer, producer, es = self._consumer, self._producer, self._es
        embedder, self._embedder = self._embedder, None
        self._consumer = self._producer = self._es = None
        if consumer is not None:
            await consumer.stop()
        if producer is not None:
            await producer.stop()
        if es is not None:
            await es.close()
        if embedder is not None:
            await embedder.__aexit__(None, None, None)

    # Leaving the ``async with`` block closes it, however it is left.
    _stop = close

    @property
    def last_loop(self) -> float:
        """When the consumer loop last checked in (``time.monotonic``), for /livez."""
        return self._loop.last_loop if self._loop is not None else self._started

    @property
    def ready(self) -> bool:
        """Started, with partitions assigned."""
        return self._consumer is not None and bool(self._consumer.assignment())

    async def run(self, stop: asyncio.Event) -> None:
        """Batch, write, commit until ``stop`` is set; the batch in flight is finished first."""
        assert self._loop is not None, "run inside `async with Indexer(...)`"
        await self._loop.run(stop)

    def status(self) -> dict[str, Any]:
        """A small self-description for /readyz."""
        assignment = self._consumer.assignment() if self._consumer else set()
        return {"partitions": sorted(tp.partition for tp in assignment)}
