"""Publish articles to the topic and rejects to the dead-letter topic, acks=all, idempotent."""

from __future__ import annotations

import asyncio
from types import TracebackType

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError, MessageSizeTooLargeError

from services.common.article import Article
from services.common.dlq import DeadLetter
from services.common.errors import ArticleRejected, KafkaUnavailable
from services.common.kafka import ensure_topics, make_producer
from services.common.settings import Settings
from services.ingest.verdict import article_headers

log = structlog.get_logger(__name__)
Delivery = asyncio.Future[object]


def too_large(what: str, exc: Exception) -> ArticleRejected:
    """The rejection of a record Kafka will not take: the input's fault, not Kafka's."""
    return ArticleRejected(
        "too_large", f"the record for {what} is over Kafka's message size limit: {exc}"
    )


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


class Publisher:
    """An idempotent producer for articles and dead letters; an async context manager."""

    def __init__(self, settings: Settings, *, client_id: str = "newswire-ingest") -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._client_id = client_id

    async def __aenter__(self) -> Publisher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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
        try:
            future: Delivery = await self.producer.send(
                self.settings.topic_articles,
                article.model_dump_json().encode(),
                key=article.id.encode(),
                headers=article_headers(article, trace_id),
            )
        except MessageSizeTooLargeError as exc:
            raise too_large(article.id, exc) from exc
        except KafkaError as exc:
            raise KafkaUnavailable(f"cannot publish {article.id}: {exc!r}") from exc
        return future

    async def send_raw(
        self, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> Delivery:
        """Queue an article serialised elsewhere (by a parsing worker)."""
        try:
            future: Delivery = await self.producer.send(
                self.settings.topic_articles, value, key=key, headers=headers
            )
        except MessageSizeTooLargeError as exc:
            raise too_large(key.decode(), exc) from exc
        except KafkaError as exc:
            raise KafkaUnavailable(f"cannot publish {key.decode()}: {exc!r}") from exc
        return future

    async def dead_letter(self, letter: DeadLetter) -> Delivery:
        """Queue a rejected input with its original bytes and the reason."""
        try:
            future: Delivery = await self.producer.send(
                self.settings.topic_dlq, letter.payload, key=letter.key, headers=letter.headers()
            )
        except KafkaError as exc:
            raise KafkaUnavailable(f"cannot dead-letter {letter.source}: {exc!r}") from exc
        return future

    async def flush(self) -> None:
        """Wait until everything queued so far is acknowledged."""
        await self.producer.flush()
