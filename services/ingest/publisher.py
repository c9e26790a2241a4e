"""Publish articles to the topic and rejects to the dead-letter topic, acks=all, idempotent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError, MessageSizeTooLargeError

from services.common.article import Article
from services.common.dlq import DeadLetter
from services.common.errors import KafkaUnavailable, NewswireError
from services.common.kafka import ensure_topics, make_producer, max_message_bytes
from services.common.settings import Settings
from services.ingest.limits import too_large
from services.ingest.verdict import Prepared, prepare

log = structlog.get_logger(__name__)
Delivery = asyncio.Future[object]


def refusal(exc: KafkaError, what: str) -> NewswireError:
    """Kafka's refusal of a record as ours: the first row of ``_REFUSALS`` it matches."""
    for kind, convert in _REFUSALS:
        if isinstance(exc, kind):
            return convert(what, exc)
    return KafkaUnavailable(f"cannot publish {what}: {exc!r}")


# A record over Kafka's size limit is the input's fault; any other refusal (the fallback
# above) is Kafka's, and retriable.
_REFUSALS: tuple[tuple[type[KafkaError], Callable[[str, KafkaError], NewswireError]], ...] = (
    (
        MessageSizeTooLargeError,
        lambda what, exc: too_large(
            what, f"the record for {what} is over Kafka's message size limit: {exc}"
        ),
    ),
)


async def acked(delivery: Delivery, what: str) -> None:
    """Wait for the broker's ack of one record; its refusal is converted like a send's."""
    try:
        await delivery
    except KafkaError as exc:
        raise refusal(exc, what) from exc


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

    async def dead_letter(self, letter: DeadLetter) -> Delivery:
        """Queue a dead letter; the future resolves on the broker's ack."""
        ...


class Publisher:
    """An idempotent producer for articles and dead letters; an async context manager."""

    def __init__(self, settings: Settings, *, client_id: str = "newswire-ingest") -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
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
            await producer.start()
        except (KafkaError, OSError) as exc:
            await producer.stop()
            raise KafkaUnavailable(f"cannot connect to {self.settings.kafka_bootstrap}") from exc
        self._producer = producer

    async def close(self) -> None:
        """Flush what is pending and disconnect, within a bound; safe to call twice."""
        producer, self._producer = self._producer, None
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
        return await self._send(
            self.settings.topic_articles,
            record.id.encode(),
            record.value,
            record.headers,
            record.id,
        )

    async def dead_letter(self, letter: DeadLetter) -> Delivery:
        """Queue a rejected input with its original bytes and the reason."""
        return await self._send(
            self.settings.topic_dlq, letter.key, letter.payload, letter.headers(), letter.source
        )

    async def _send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: list[tuple[str, bytes]],
        what: str,
    ) -> Delivery:
        try:
            future: Delivery = await self.producer.send(topic, value, key=key, headers=headers)
        except KafkaError as exc:
            raise refusal(exc, what) from exc
        return future

    async def flush(self) -> None:
        """Wait until everything queued so far is acknowledged."""
        await self.producer.flush()
