"""A Kafka producer on a thread with an event loop of its own: batches compress off the caller's."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError

from services.common.kafka import make_producer
from services.common.settings import Settings
from services.ingest.batches import by_partition, packed
from services.ingest.verdict import Prepared

log = structlog.get_logger(__name__)
T = TypeVar("T")
# A batch's ack as the producer's thread resolves it, and the records it carries.
Queued = tuple[concurrent.futures.Future[object], list[Prepared]]


async def abandon_pending(producer: AIOKafkaProducer) -> None:
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


async def stop_within(producer: AIOKafkaProducer, timeout: float) -> None:
    """Flush what is pending and disconnect; what is unacknowledged after ``timeout`` fails."""
    try:
        await asyncio.wait_for(producer.flush(), timeout)
    except TimeoutError:
        # With Kafka away, an idempotent producer retries its batches forever and stop()
        # waits for them: fail them, so a SIGTERM still ends the process. Nothing that is
        # unacknowledged was ever reported as published.
        log.warning("closing with records unacknowledged", after_s=timeout)
        await abandon_pending(producer)
    await producer.stop()


def _bridged(future: asyncio.Future[object]) -> concurrent.futures.Future[object]:
    """A future any thread may wait on, settled as ``future`` is (on the producer's loop)."""
    out: concurrent.futures.Future[object] = concurrent.futures.Future()

    def settle(done: asyncio.Future[object]) -> None:
        if done.cancelled():
            out.cancel()
        elif (error := done.exception()) is not None:
            out.set_exception(error)
        else:
            out.set_result(done.result())

    future.add_done_callback(settle)
    return out


class ProducerThread:
    """One idempotent producer driven by its own loop on its own thread.

    aiokafka compresses each batch on the loop that drives it: here that loop is not the
    caller's, and zstd lets go of the GIL, so compressing overlaps with the caller's work.
    """

    def __init__(self, settings: Settings, *, client_id: str) -> None:
        self.settings = settings
        self._client_id = client_id
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"{client_id}-producer", daemon=True
        )
        self._producer: AIOKafkaProducer | None = None

    def _run(self, coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """``coro`` run on the producer's loop, awaitable on the caller's."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def start(self) -> None:
        """Start the thread and connect; on failure the thread is stopped again."""
        self._thread.start()
        try:
            await self._run(self._connect())
        except BaseException:
            self._end_thread()
            raise

    async def _connect(self) -> None:
        producer = make_producer(self.settings, client_id=self._client_id)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer

    async def send_many(
        self, records: Sequence[Prepared]
    ) -> list[tuple[asyncio.Future[object], list[Prepared]]]:
        """Queue records as batches (see ``Publisher.send_many``); acks awaitable here."""
        queued = await self._run(self._queue(list(records)))
        return [(asyncio.wrap_future(ack), members) for ack, members in queued]

    async def _queue(self, records: list[Prepared]) -> list[Queued]:
        producer, topic = self._connected(), self.settings.topic_articles
        partitions = sorted(await producer.partitions_for(topic))
        queued: list[Queued] = []
        for partition, group in by_partition(records, partitions).items():
            for batch, members in packed(producer.create_batch, group):
                batch.close()  # complete: the sender takes it at once, without lingering
                future = await producer.send_batch(batch, topic, partition=partition)
                queued.append((_bridged(future), members))
        return queued

    def _connected(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("the producer thread is not started")
        return self._producer

    async def flush(self) -> None:
        """Wait until every batch queued so far is acknowledged."""
        await self._run(self._connected().flush())

    async def close(self, timeout: float) -> None:
        """Flush within ``timeout``, disconnect and end the thread; safe to call twice."""
        producer, self._producer = self._producer, None
        try:
            if producer is not None:
                await self._run(stop_within(producer, timeout))
        finally:
            self._end_thread()

    def _end_thread(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        if not self._loop.is_closed() and not self._loop.is_running():
            self._loop.close()
