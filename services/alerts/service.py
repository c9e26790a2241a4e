"""The alerts service: owns the clients, and runs the matcher and the webhook sender together."""

from __future__ import annotations

import asyncio
import os
import socket
from contextlib import AsyncExitStack
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from services.alerts.matcher import Matcher
from services.alerts.outbox import Outbox
from services.alerts.searchable import Searchability
from services.alerts.webhooks import Deliverer
from services.common.alert_store import ensure_alert_indices
from services.common.es import make_client
from services.common.kafka import (
    boundary,
    ensure_topics,
    make_admin,
    make_consumer,
    producer_options,
)
from services.common.lifecycle import AsyncScoped
from services.common.settings import Settings


class AlertsService(AsyncScoped):
    """Saved searches matched against every new article; events streamed and delivered."""

    def __init__(self, settings: Settings, *, client_id: str | None = None) -> None:
        self.settings = settings
        self.client_id = client_id or f"alerts-{socket.gethostname()}-{os.getpid()}"
        self._stack = AsyncExitStack()
        self._admin: AIOKafkaAdminClient | None = None
        self.matcher: Matcher | None = None
        self.deliverer: Deliverer | None = None

    async def _start(self) -> None:
        s = self.settings
        try:
            await self._open(s)
        except BaseException:
            await self._stack.aclose()
            raise

    async def _open(self, s: Settings) -> None:
        es = make_client(s)
        self._stack.push_async_callback(es.close)
        await ensure_topics(s)
        await ensure_alert_indices(es, s)
        self._admin = make_admin(s.kafka_bootstrap)
        self._stack.push_async_callback(self._admin.close)
        articles = make_consumer(
            s.kafka_bootstrap,
            group_id=s.alerts_group,
            client_id=self.client_id,
            max_poll_records=500,
        )
        events = make_consumer(
            s.kafka_bootstrap,
            group_id=s.webhooks_group,
            client_id=self.client_id,
            isolation_level="read_committed",
        )
        # One transactional id per process: its transactions never fence another's.
        producer = AIOKafkaProducer(
            **producer_options(s, client_id=self.client_id),
            transactional_id=f"{s.alerts_group}-{self.client_id}",
        )
        http = httpx.AsyncClient(follow_redirects=False)
        self._stack.push_async_callback(http.aclose)
        with boundary("cannot start the alerts service's Kafka clients"):
            await self._admin.start()
            for client in (producer, articles, events):
                await client.start()
                self._stack.push_async_callback(client.stop)
        searchability = Searchability(es, s, self.indexer_committed)
        self.matcher = Matcher(s, es, articles, producer, searchability)
        self.deliverer = Deliverer(s, events, Outbox(es, s), self.matcher.book, http)

    async def _stop(self) -> None:
        await self._stack.aclose()

    async def indexer_committed(self) -> dict[int, int]:
        """Per partition of the article topic, the offset the indexer's group committed."""
        assert self._admin is not None
        with boundary("cannot read the indexer's offsets"):
            offsets = await self._admin.list_consumer_group_offsets(self.settings.indexer_group)
        return {
            tp.partition: meta.offset
            for tp, meta in offsets.items()
            if tp.topic == self.settings.topic_articles and meta.offset >= 0
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Match and deliver until ``stop``; either failing stops both."""
        assert self.matcher is not None, "run inside async with"
        assert self.deliverer is not None, "run inside async with"
        tasks = [
            asyncio.create_task(self.matcher.run(stop), name="matcher"),
            asyncio.create_task(self.deliverer.run(stop), name="webhooks"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def ready(self) -> bool:
        """Started, with its partitions of the article topic assigned."""
        return self.matcher is not None and self.matcher.ready

    def status(self) -> dict[str, Any]:
        """A small self-description for /readyz and the pipeline page."""
        if self.matcher is None or self.deliverer is None:
            return {}
        return {**self.matcher.status(), **self.deliverer.status()}
