"""Publish articles to the topic and rejects to the dead-letter topic, acks=all, idempotent."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer

from services.common.article import Article
from services.common.dlq import DeadLetter, DeadLetterSink
from services.common.errors import KafkaUnavailable, NewswireError, RecordTooLarge
from services.common.kafka import boundary, ensure_topics, make_producer, max_message_bytes
from services.common.settings import Settings
from services.ingest.limits import too_large
from services.ingest.producer_thread import ProducerThread, stop_within
from services.ingest.verdict import Prepared, prepare

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
        # Chunks of files go through a producer on its own thread, made on first use.
        self._batches: ProducerThread | None = None

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
        batches, self._batches = self._batches, None
        timeout = self.settings.ingest_kafka_timeout_s
        try:
            if batches is not None:
                await batches.close(timeout)
        finally:
            if producer is not None:
                await stop_within(producer, timeout)

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

        One delivery a batch (not a future a record), each record in the partition its key
        hashes to, as ``send`` would choose, on a producer whose loop runs on a thread of its
        own (``ProducerThread``): compressing a batch does not hold up this loop. The records
        were checked against the record limit where they were parsed.
        """
        if not records:
            return []
        with publishing(f"a batch of {len(records)} records"):
            if self._batches is None:
                if self._producer is None:  # not started, or closed: no thread of its own
                    raise KafkaUnavailable("publisher is not started")
                batches = ProducerThread(self.settings, client_id=f"{self._client_id}-batches")
                await batches.start()
                self._batches = batches
            return list(await self._batches.send_many(records))

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
        if self._batches is not None:
            await self._batches.flush()
