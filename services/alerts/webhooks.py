"""Webhooks: each alert event POSTed, signed, to the alert's URL, at least once.

Events are read from the alert-event topic as a group; each becomes a delivery in the outbox
before its offset is committed, so none is lost. Attempts run beside each other, a few per
alert at most: a slow or dead receiver holds only its own slots, never the others' or the
matcher's. Failures are retried with doubling backoff; a sweep picks up what a restart or
another sender left.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

import httpx
import orjson
import structlog
from aiokafka import AIOKafkaConsumer

from services.alerts import metrics
from services.alerts.book import AlertBook
from services.alerts.outbox import Delivery, Outbox
from services.alerts.poster import Poster
from services.common.alerts import (
    AlertEvent,
)
from services.common.clock import parse_iso, to_iso
from services.common.errors import NewswireError
from services.common.kafka import boundary
from services.common.retry import patiently
from services.common.settings import Settings

log = structlog.get_logger(__name__)
_SWEEP_EVERY_S = 1.0


class EventRecord(Protocol):
    """A consumed alert-event record (aiokafka's ConsumerRecord)."""

    @property
    def value(self) -> bytes | None:
        """The event, as JSON."""
        ...


class Deliverer:
    """Reads alert events into the outbox and sends what is due."""

    def __init__(
        self,
        settings: Settings,
        consumer: AIOKafkaConsumer,
        outbox: Outbox,
        book: AlertBook,
        http: httpx.AsyncClient,
    ) -> None:
        self._settings, self._consumer, self._outbox = settings, consumer, outbox
        self._book, self._http = book, http
        self._gate = asyncio.Semaphore(settings.webhook_concurrency)
        self._per_alert: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.webhook_per_alert)
        )
        self.active: dict[str, asyncio.Task[None]] = {}
        self.pending: dict[str, Delivery] = {}  # the deliveries of the tasks in ``active``
        self.poster = Poster(settings, http)

    async def run(self, stop: asyncio.Event) -> None:
        """Read events and sweep until ``stop``; what is not delivered stays in the outbox."""
        self._consumer.subscribe([self._settings.topic_alert_events])
        sweep = asyncio.create_task(self._sweep(stop))
        try:
            while not stop.is_set():
                with boundary("cannot read the alert events"):
                    fetched = await self._consumer.getmany(timeout_ms=100, max_records=500)
                records = [r for part in fetched.values() for r in part]
                if not records:
                    continue
                if await patiently(partial(self._take, records), stop, "events"):
                    with boundary("cannot commit the webhook sender's offsets"):
                        await self._consumer.commit()
        finally:
            # Deliveries waiting out a backoff (or a slow receiver) are not waited for: each
            # stays pending in the outbox, and the next sweep, here or elsewhere, attempts it.
            tasks = [sweep, *self.active.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _take(self, records: Sequence[EventRecord]) -> bool:
        await self.take(records)
        return True

    async def take(self, records: Sequence[EventRecord]) -> None:
        """The events of ``records`` that go to a webhook, into the outbox, then attempted."""
        new: list[Delivery] = []
        for record in records:
            event = AlertEvent.model_validate_json(record.value or b"{}")
            alert = await self._book.alert(event.alert_id)
            if alert is None or alert.webhook_url is None:
                continue
            new.append(_delivery(event, str(alert.webhook_url)))
        for delivery in await self._outbox.add(new):
            self._start(delivery)

    async def _sweep(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(_SWEEP_EVERY_S)
            try:
                due = await self._outbox.due(datetime.now(UTC))
            except Exception as exc:  # the next sweep tries again; the sender must not die
                log.warning("sweep failed", error=repr(exc))
                continue
            for delivery in due:
                if delivery.delivery_id not in self.active:
                    self._start(delivery)
            metrics.DELIVERIES_PENDING.set(len(self.active))

    def status(self) -> dict[str, Any]:
        """Deliveries in flight, alerts whose receiver is failing, the oldest one waiting."""
        now = datetime.now(UTC)
        waiting = [parse_iso(d.emitted_at) for d in self.pending.values()]
        oldest = max(((now - t).total_seconds() for t in waiting), default=0.0)
        return {
            "deliveries_in_flight": len(self.active),
            "failing_webhooks": len(self.poster.failing),
            "oldest_delivery_wait_s": round(oldest, 3),
        }

    def _start(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._deliver(delivery))
        self.active[delivery.delivery_id] = task
        self.pending[delivery.delivery_id] = delivery

        def done(_: object) -> None:
            self.active.pop(delivery.delivery_id, None)
            self.pending.pop(delivery.delivery_id, None)

        task.add_done_callback(done)

    async def _deliver(self, delivery: Delivery) -> None:
        """Attempt until delivered, given up, or handed back to the sweep."""
        try:
            await self._attempts(delivery)
        except NewswireError as error:  # the outbox is away: the sweep takes it up again
            log.warning("delivery handed back", delivery=delivery.delivery_id, error=error.message)

    async def _attempts(self, delivery: Delivery) -> None:
        while delivery.status == "pending":
            wait = (parse_iso(delivery.next_at) - datetime.now(UTC)).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
            async with self._per_alert[delivery.alert_id], self._gate:
                lease = timedelta(seconds=self._settings.webhook_timeout_s + 5)
                if not await self._outbox.claim(delivery, lease):
                    return  # another sender has it, or it was settled meanwhile
                alert = await self._book.alert(delivery.alert_id)
                if alert is None or alert.secret is None:
                    now = datetime.now(UTC)
                    outcome = {"at": to_iso(now), "error": "the alert or its webhook was deleted"}
                    delivery.record(outcome, status="canceled", next_at=now)
                else:
                    await self.poster.attempt(delivery, alert.secret)
                if not await self._outbox.save(delivery):
                    return


def _delivery(event: AlertEvent, url: str) -> Delivery:
    now = to_iso(datetime.now(UTC))
    body = {"delivery_id": event.event_id, **orjson.loads(event.model_dump_json())}
    return Delivery(
        delivery_id=event.event_id,
        alert_id=event.alert_id,
        url=url,
        body=orjson.dumps(body).decode(),
        kind=event.kind,
        created_at=now,
        emitted_at=to_iso(event.emitted_at),
        next_at=now,
    )
