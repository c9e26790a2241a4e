"""One alert's events as Server-Sent Events, read from the alert-event topic.

Events are keyed by alert id, so one alert's are all in one partition, in order; an event's
SSE id is ``<partition>-<offset>``. A reconnect with ``Last-Event-ID`` resumes just after it:
no gap and no repeat. Only committed events are read (the matcher writes transactionally).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Final

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from services.common.errors import KafkaUnavailable, QueryError
from services.common.kafka import boundary, make_consumer, make_metadata_client
from services.common.lifecycle import AsyncScoped
from services.common.settings import Settings

MEDIA_TYPE: Final = "text/event-stream"
_EVENT_ID = re.compile(r"^(\d{1,6})-(\d{1,19})$")
_RETRY_MS: Final = 2000  # how soon a browser's EventSource reconnects


def parse_event_id(raw: str) -> tuple[int, int]:
    """The partition and offset of an SSE event id; 400 ``invalid_event_id`` otherwise."""
    found = _EVENT_ID.match(raw.strip())
    if found is None:
        raise QueryError(
            "Last-Event-ID must be an event id this stream sent (<partition>-<offset>)",
            code="invalid_event_id",
        )
    return int(found.group(1)), int(found.group(2))


def frame(event_id: str, kind: str, data: bytes) -> bytes:
    """One SSE event (``data`` is one line of JSON)."""
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (event_id.encode(), kind.encode(), data)


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    """The topic's partitions, as the brokers say now (the consumer's metadata may lack it)."""
    client = make_metadata_client(bootstrap)
    try:
        await client.bootstrap()
        cluster = await client.fetch_all_metadata()
    finally:
        await client.close()
    return sorted(cluster.partitions_for_topic(topic) or ())


class EventStream(AsyncScoped):
    """A reader of one alert's events, placed before the response starts (nothing is missed)."""

    def __init__(self, settings: Settings, alert_id: str, last_event_id: str | None) -> None:
        self._settings, self._alert_id = settings, alert_id
        self._key = alert_id.encode()
        self._resume = parse_event_id(last_event_id) if last_event_id else None
        self._consumer: AIOKafkaConsumer | None = None
        self._tp: TopicPartition | None = None

    async def _start(self) -> None:
        consumer = make_consumer(
            self._settings.kafka_bootstrap,
            group_id=None,
            isolation_level="read_committed",
            fetch_max_wait_ms=100,
        )
        self._consumer = consumer
        try:
            with boundary("cannot open the alert's event stream"):
                await consumer.start()
                self._tp = await self._place(consumer)
        except BaseException:
            await self._stop()
            raise

    async def _place(self, consumer: AIOKafkaConsumer) -> TopicPartition:
        topic = self._settings.topic_alert_events
        partitions = await _partitions(self._settings.kafka_bootstrap, topic)
        if not partitions:
            raise KafkaUnavailable(f"the topic {topic} does not exist yet")
        tp = TopicPartition(topic, DefaultPartitioner()(self._key, partitions, partitions))
        consumer.assign([tp])
        if self._resume is None:
            await consumer.seek_to_end(tp)
        else:
            partition, offset = self._resume
            if partition != tp.partition:
                raise QueryError("Last-Event-ID is not of this alert", code="invalid_event_id")
            first = (await consumer.beginning_offsets([tp]))[tp]
            # Events older than the topic's retention are gone: resume at the oldest kept.
            consumer.seek(tp, max(offset + 1, first))
        await consumer.position(tp)  # fixed now: what is committed later is streamed
        return tp

    async def _stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def frames(self, heartbeat_s: float, stopping: asyncio.Event) -> AsyncIterator[bytes]:
        """The stream's bytes: a retry hint, then events, with a comment when idle.

        It ends when ``stopping`` is set (the server is stopping): the client reconnects
        with the last id it got, to this server restarted or to another.
        """
        assert self._consumer is not None, "inside async with"
        assert self._tp is not None, "inside async with"
        yield b"retry: %d\n: stream of alert %s\n\n" % (_RETRY_MS, self._key)
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        while not stopping.is_set():
            with boundary("cannot read the alert's events"):
                fetched = await self._consumer.getmany(self._tp, timeout_ms=500)
            sent = False
            for record in fetched.get(self._tp, []):
                if record.key != self._key or not record.value:
                    continue
                kind = orjson.loads(record.value).get("kind", "match")
                yield frame(f"{record.partition}-{record.offset}", str(kind), record.value)
                sent = True
            if sent:
                quiet_since = loop.time()
            elif loop.time() - quiet_since >= heartbeat_s:
                yield b": heartbeat\n\n"
                quiet_since = loop.time()
