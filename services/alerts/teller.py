"""Alert events and the batch's offsets committed together, in one Kafka transaction."""

from __future__ import annotations

import time
from collections import deque
from typing import Final

from aiokafka import AIOKafkaProducer, TopicPartition

from services.alerts import metrics
from services.common.alerts import AlertEvent
from services.common.kafka import boundary
from services.common.settings import Settings

_RATE_WINDOW_S: Final = 60.0


class Teller:
    """Sends a batch's events (keyed by alert id) and commits its offsets atomically."""

    def __init__(self, settings: Settings, producer: AIOKafkaProducer) -> None:
        self._settings, self._producer = settings, producer
        self._told: deque[tuple[float, int]] = deque()  # (when, events) of the last minute

    async def commit(self, events: list[AlertEvent], offsets: dict[int, int]) -> None:
        """Events and offsets (next to read, per article-topic partition) in one transaction."""
        s = self._settings
        positions = {TopicPartition(s.topic_articles, p): o for p, o in offsets.items()}
        with boundary("cannot commit the alert events"):
            async with self._producer.transaction():
                for event in events:
                    value = event.model_dump_json().encode()
                    await self._producer.send(
                        s.topic_alert_events, value, key=event.alert_id.encode()
                    )
                if positions:
                    await self._producer.send_offsets_to_transaction(positions, s.alerts_group)
        done = time.time()
        self._told.append((time.monotonic(), len(events)))
        for event in events:
            metrics.EVENTS.labels(event.kind).inc()
            metrics.SEARCHABLE_TO_EVENT.observe(done - event.searchable_at.timestamp())
            if event.ingested_at is not None:
                metrics.INGEST_TO_EVENT.observe(done - event.ingested_at.timestamp())

    def events_per_s(self) -> float:
        """Events committed per second over the last minute."""
        now = time.monotonic()
        while self._told and now - self._told[0][0] > _RATE_WINDOW_S:
            self._told.popleft()
        return round(sum(n for _, n in self._told) / _RATE_WINDOW_S, 3)
