"""The matcher: each batch of the article topic, once searchable, run against every alert.

Events and the batch's offsets are committed in one Kafka transaction, so a batch is either
told whole or read again; the match states are written just before, with what counted
before them, so a batch read again decides again the same way (no repeat, no gap).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from elasticsearch import AsyncElasticsearch

from services.alerts import metrics
from services.alerts.book import AlertBook
from services.alerts.embargoes import Embargoes
from services.alerts.matching import Candidate, MatchState, decide, latest, new_to
from services.alerts.records import Record, candidates
from services.alerts.runner import run_watches
from services.alerts.searchable import Searchability, Seen
from services.alerts.state import MatchStates
from services.alerts.teller import Teller
from services.common.alerts import AlertEvent, MatchedArticle
from services.common.kafka import boundary
from services.common.retry import patiently
from services.common.settings import Settings
from services.common.visibility import EMBARGOED

log = structlog.get_logger(__name__)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Partitions that change hands: the matcher reads states and offsets afresh."""

    def __init__(self, matcher: Matcher) -> None:
        self._matcher = matcher

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        """Let the batch in hand commit first, so no offset is committed for a new owner."""
        await self._matcher.quiet()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Read what earlier owners committed and wrote."""
        await self._matcher.assigned(assigned)


class Matcher:
    """Consumes the article topic as its own group; emits alert events transactionally."""

    def __init__(
        self,
        settings: Settings,
        es: AsyncElasticsearch,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        searchability: Searchability,
    ) -> None:
        self.settings, self._es = settings, es
        self._consumer, self._producer = consumer, producer
        self._searchability = searchability
        self.book = AlertBook(es, settings)
        self._states = MatchStates(es, settings)
        self.embargoes = Embargoes()
        self.committed: dict[int, int] = {}
        self._teller = Teller(settings, producer)
        self.last_loop = time.monotonic()
        self.ready = False
        self._busy = asyncio.Lock()  # held while a batch is told: a rebalance waits for it

    def subscribe(self) -> None:
        """Join the matcher's group on the article topic."""
        self._consumer.subscribe([self.settings.topic_articles], listener=_Rebalance(self))

    async def quiet(self) -> None:
        """Return once no batch is being told."""
        async with self._busy:
            pass

    async def assigned(self, assigned: list[TopicPartition]) -> None:
        """New partitions: their committed offsets, states, and embargoes still to lift."""
        await self._states.reassigned()
        self.committed = {}
        for tp in assigned:
            with boundary("cannot read the matcher's offsets"):
                offset = await self._consumer.committed(tp)
            self.committed[tp.partition] = offset or 0
        owned = {tp.partition for tp in assigned}
        self.embargoes.keep(owned)
        every = sorted(self._consumer.partitions_for_topic(self.settings.topic_articles) or owned)
        for candidate, until in await self._searchability.under_embargo(every):
            if candidate.partition in owned:
                now = datetime.now(UTC)
                self.embargoes.watch(candidate, {EMBARGOED: until}, now, lifted=True)
        self.ready = True

    async def run(self, stop: asyncio.Event) -> None:
        """Match batch after batch until ``stop``; a batch cut short is read again later."""
        self.subscribe()
        while not stop.is_set():
            self.last_loop = time.monotonic()
            with boundary("cannot read the article topic"):
                fetched = await self._consumer.getmany(timeout_ms=50, max_records=500)
            records: list[Record] = [r for part in fetched.values() for r in part]
            async with self._busy:
                if records:
                    # A backend away is waited out with the batch in hand: it is told, once.
                    if not await patiently(partial(self.handle, records, stop), stop, "a batch"):
                        return
                elif due := self.embargoes.due(datetime.now(UTC)):
                    tell = partial(self._tell, due, offsets={}, stop=stop)
                    await patiently(tell, stop, "embargoes")

    async def handle(self, records: Sequence[Record], stop: asyncio.Event) -> bool:
        """One batch, told and committed; False when ``stop`` cut it short (not committed)."""
        started = time.monotonic()
        metrics.RECORDS.inc(len(records))
        offsets: dict[int, int] = {}
        for record in records:
            offsets[record.partition] = max(offsets.get(record.partition, 0), record.offset + 1)
        told = await self._tell(latest(candidates(records)), offsets=offsets, stop=stop)
        metrics.BATCH_SECONDS.observe(time.monotonic() - started)
        return told

    async def _tell(
        self, batch: list[Candidate], *, offsets: dict[int, int], stop: asyncio.Event
    ) -> bool:
        seen = await self._searchability.wait(batch, stop) if batch else []
        if seen is None:
            return False
        metrics.PASSED_OVER.inc(len(batch) - len(seen))
        events, states = await self._decide(seen)
        await self._states.save(states)
        await self._teller.commit(events, offsets)
        self.committed.update(offsets)
        now = datetime.now(UTC)
        for item in seen:
            self.embargoes.watch(item.candidate, item.source, now)
        return True

    async def _decide(self, seen: list[Seen]) -> tuple[list[AlertEvent], list[MatchState]]:
        watches = await self.book.watches()
        metrics.ALERTS.set(len(watches))
        ids = [item.candidate.id for item in seen]
        found = await run_watches(self._es, self.settings, watches, ids)
        stored = await self._states.load(ids)
        events: list[AlertEvent] = []
        states: list[MatchState] = []
        emitted_at = datetime.now(UTC)
        made = {watch.alert.id: watch.alert.created_at for watch in watches}
        for item in seen:
            # Decided at the version the index holds: a later record may already be there.
            candidate = dataclasses.replace(item.candidate, version=int(item.source["version"]))
            known = stored.get(candidate.id, {})
            for alert_id in _concerned(candidate.id, found, known, set(made)):
                told_before = known.get(alert_id)
                matched = candidate.id in found.get(alert_id, ()) and (
                    told_before is not None or new_to(made[alert_id], item.source)
                )
                verdict = decide(
                    alert_id,
                    candidate,
                    matched=matched,
                    stored=told_before,
                    committed=self.committed,
                )
                if verdict.state is not None:
                    states.append(verdict.state)
                if verdict.kind is not None:
                    events.append(_event(alert_id, verdict.kind, verdict.reason, item, emitted_at))
        return events, states

    def status(self) -> dict[str, Any]:
        """What the HTTP face reports: alerts, events per second over a minute, lag."""
        lag = 0
        for tp in self._consumer.assignment():
            end = self._consumer.highwater(tp)
            if end is not None:
                lag += max(end - self.committed.get(tp.partition, 0), 0)
        return {
            "alerts": len(self.book),
            "events_per_s": self._teller.events_per_s(),
            "matcher_lag": lag,
            "embargoes_waiting": len(self.embargoes),
        }


def _concerned(
    article_id: str, found: dict[str, set[str]], known: dict[str, MatchState], alive: set[str]
) -> list[str]:
    """The alerts with something to decide of an article: those finding it or told of it."""
    finding = {alert_id for alert_id, ids in found.items() if article_id in ids}
    return sorted(alive & (finding | set(known)))


def _event(alert_id: str, kind: Any, reason: Any, item: Seen, emitted_at: datetime) -> AlertEvent:
    source = item.source
    article = MatchedArticle.model_validate({**source, "id": item.candidate.id})
    return AlertEvent(
        alert_id=alert_id,
        kind=kind,
        article=article,
        reason=reason,
        ingested_at=item.candidate.ingested_at,
        searchable_at=item.at,
        emitted_at=emitted_at,
    )
