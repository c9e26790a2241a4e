"""Publish articles to the topic and rejects to the dead-letter topic, acks=all, idempotent."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Protocol

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError

from services.common.article import Article
from services.common.dlq import DeadLetter, DeadLetterSink
from services.common.errors import KafkaUnavailable, NewswireError, RecordTooLarge
from services.common.kafka import boundary, ensure_topics, make_producer, max_message_bytes
from services.common.settings import Settings
from services.ingest.batches import by_partition, packed
from services.ingest.limits import too_large
from services.ingest.verdict import Prepared, prepare

log = structlog.get_logger(__name__)
# An ack under way: it completes when the broker has the record, or fails with its refusal.
Delivery = Awaitable[object]
# Records sent together and the one delivery of their ack.
Batch = tuple[Delivery, list[Prepared]]


def _deadline(seconds: float) -> Callable[[], bool]:
    """True once ``seconds`` have passed: how long a dead letter is tried again."""
    end = time.monotonic() + seconds
    return lambda: time.monotonic() >= end


@contextlib.contextmanager
def publishing(what: str) -> Iterator[None]:
    """Kafka's errors while publishing ``what``, converted by the one Kafka table.

    A record over the broker's size limit is the input's fault: its ``too_large`` rejection
    (dead-lettered); any other error is raised as the table converts it.
    """
    try:
        with boundary(f"cannot publish {what}"):
            yield
    except RecordTooLarge as error:
        detail = f"the record for {what} is over Kafka's message size limit: {error.__cause__}"
        raise too_large(what, detail) from error


async def acked(delivery: Delivery, what: str) -> None:
    """Wait for the broker's ack of one record; its refusal is converted like a send's."""
    with publishing(what):
        await delivery


async def _abandon_pending(producer: AIOKafkaProducer) -> None:
    """Stop retrying and fail what is queued, so that ``stop()`` returns (aiokafka has no API)."""
    # The sender first: it would re-queue a failed batch it holds and crash on it.
    await producer._sender.close()
    queued = producer._message_accumulator
    batches = [b for q in queued._batches.values() for b in q] + list(queued._pending_batches)
    queued.fail_all(KafkaTimeoutError("closed while Kafka was away"))
    for batch in batches:
        futures = [batch.future, batch._drain_waiter, *(f for f, _ in batch._msg_futures)]
        for future in futures:
            if future.done() and not future.cancelled():
                future.exception()  # nobody waits any more: no "never retrieved" at exit


class Sender(Protocol):
    """Where the ingest sends records and dead letters: the Publisher, or a test's fake."""

    @property
    def settings(self) -> Settings:
        """The settings it runs with."""
        ...

    async def send(self, record: Prepared) -> Delivery:
        """Queue an accepted record; the future resolves on the broker's ack."""
        ...

    async def send_many(self, records: Sequence[Prepared]) -> list[Batch]:
        """Queue accepted records; each delivery resolves on the ack of the records with it."""
        ...

    async def dead_letter(self, letter: DeadLetter) -> Delivery:
        """Send a dead letter; the delivery completes on the broker's ack."""
        ...


class Publisher:
    """An idempotent producer for articles and dead letters; an async context manager."""

    def __init__(self, settings: Settings, *, client_id: str = "newswire-ingest") -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._sink: DeadLetterSink | None = None
        self._client_id = client_id

    async def __aenter__(self) -> Publisher:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Create the topics if missing and connect."""
        await ensure_topics(self.settings)
        producer = make_producer(self.settings, client_id=self._client_id)
        try:
            with boundary(f"cannot connect to {self.settings.kafka_bootstrap}"):
                await producer.start()
        except NewswireError:
            await producer.stop()
            raise
        self._producer = producer
        self._sink = DeadLetterSink.of(producer, self.settings)

    async def close(self) -> None:
        """Flush what is pending and disconnect, within a bound; safe to call twice."""
        producer, self._producer, self._sink = self._producer, None, None
        if producer is None:
            return
        timeout = self.settings.ingest_kafka_timeout_s
        try:
            await asyncio.wait_for(producer.flush(), timeout)
        except TimeoutError:
            # With Kafka away, an idempotent producer retries its batches forever and stop()
            # waits for them: fail them, so a SIGTERM still ends the process. Nothing that is
            # unacknowledged was ever reported as published.
            log.warning("closing with records unacknowledged", after_s=timeout)
            await _abandon_pending(producer)
        await producer.stop()

    @property
    def producer(self) -> AIOKafkaProducer:
        """The connected producer (raises when not started)."""
        if self._producer is None:
            raise KafkaUnavailable("publisher is not started")
        return self._producer

    async def publish(self, article: Article, *, trace_id: str | None = None) -> Delivery:
        """Queue ``article`` keyed by its id; await the returned future for the broker's ack."""
        # Not an input, so not the ingest's record limit: only what the topic would refuse.
        limit = max_message_bytes(self.settings)
        return await self.send(prepare(article, limit=limit, source=article.id, trace_id=trace_id))

    async def send(self, record: Prepared) -> Delivery:
        """Queue an accepted record (the one way articles reach the topic)."""
        topic, key = self.settings.topic_articles, record.id.encode()
        with publishing(record.id):
            future: Delivery = await self.producer.send(
                topic, record.value, key=key, headers=record.headers
            )
        return future

    async def send_many(self, records: Sequence[Prepared]) -> list[Batch]:
        """Queue accepted records as whole record batches, each partition's in input order.

        One delivery a batch (not a future a record) and each record in the partition its key
        hashes to, as ``send`` would choose; a batch is closed when queued, so it does not
        linger. The records were checked against the record limit where they were parsed.
        """
        if not records:
            return []
        producer, topic = self.producer, self.settings.topic_articles
        sent: list[Batch] = []
        with publishing(f"a batch of {len(records)} records"):
            partitions = sorted(await producer.partitions_for(topic))
            for partition, group in by_partition(records, partitions).items():
                for batch, members in packed(producer.create_batch, group):
                    batch.close()
                    future = await producer.send_batch(batch, topic, partition=partition)
                    sent.append((future, members))
        return sent

    async def dead_letter(self, letter: DeadLetter) -> Delivery:
        """Send a rejected input through the dead-letter sink; the delivery ends with its ack.

        Retriable errors are tried again for up to the ingest's Kafka time limit.
        """
        if self._sink is None:
            raise KafkaUnavailable("publisher is not started")
        give_up = _deadline(self.settings.ingest_kafka_timeout_s)
        return asyncio.ensure_future(self._sink.send([letter], give_up=give_up))

    async def flush(self) -> None:
        """Wait until everything queued so far is acknowledged."""
        await self.producer.flush()
