"""The alerts service killed with SIGKILL mid-stream: every match told once, none missed.

The events and the batch's offsets are one Kafka transaction, and the match states keep what
counted before them: a batch read again after the crash is told again exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from services.bench.procs import free_port
from services.common.alert_store import create_alert, ensure_alert_indices
from services.common.alerts import Alert, AlertSpec
from services.common.es import es_client
from services.common.kafka import make_admin
from services.common.settings import Settings
from services.stack.isolation import isolated
from services.stack.readiness import wait_ready
from tests.factories import make_article
from tests.integration.pipeline_helpers import publish, running_indexer, spawn, wait_until

pytestmark = pytest.mark.integration

ARTICLES = 240


async def committed_events(settings: Settings) -> list[dict[str, Any]]:
    """Every committed event of the alert-event topic, from the start."""
    consumer = AIOKafkaConsumer(
        settings.topic_alert_events,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    events: list[dict[str, Any]] = []
    try:
        while True:
            fetched = await consumer.getmany(timeout_ms=1000)
            if not fetched:
                break
            for batch in fetched.values():
                events.extend(orjson.loads(r.value or b"{}") for r in batch)
    finally:
        await consumer.stop()
    return events


async def _saved(live_stack: Settings, q: str) -> tuple[Settings, Alert]:
    """Settings of a test of its own, and one saved search ``q`` in them."""
    settings = isolated(live_stack, f"test-crash-{uuid.uuid4().hex[:8]}").model_copy(
        update={"alerts_port": free_port()}
    )
    async with es_client(settings) as es:
        await ensure_alert_indices(es, settings)
        return settings, await create_alert(es, settings, AlertSpec(q=q))


def _start(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    child = spawn("services.alerts", settings, log)
    base = f"http://127.0.0.1:{settings.alerts_port}"
    state = wait_ready(base, 60, alive=lambda: child.poll() is None)
    assert state == "ready", log.read_text()[-2000:]
    return child


async def test_a_killed_matcher_tells_every_match_once(
    live_stack: Settings, tmp_path: Path
) -> None:
    settings, alert = await _saved(live_stack, "")  # every article matches
    articles = [
        make_article(lede=f"Report {n}: the river rose again overnight in the valley.")
        for n in range(ARTICLES)
    ]
    async with running_indexer(settings):
        child = await asyncio.to_thread(_start, settings, tmp_path / "alerts-1.log")
        try:
            for start in range(0, ARTICLES, 20):
                await publish(settings, articles[start : start + 20])
                await asyncio.sleep(0.1)
                if start == 100:  # killed with work done and work still to come

                    async def some_told() -> bool:
                        return bool(await committed_events(settings))

                    await wait_until(some_told, 30, "a first event")
                    child.send_signal(signal.SIGKILL)
                    child.wait(10)
                    child = await asyncio.to_thread(_start, settings, tmp_path / "alerts-2.log")

            async def all_told() -> bool:
                return len(await committed_events(settings)) >= ARTICLES

            await wait_until(all_told, 60, "every article told")
            await asyncio.sleep(2)  # anything doubled would have come by now
        finally:
            child.terminate()
            child.wait(10)
    events = await committed_events(settings)
    assert {e["alert_id"] for e in events} == {alert.id}
    told = Counter(str(e["article"]["id"]) for e in events if e["kind"] == "match")
    assert set(told) == {a.id for a in articles}  # none missed
    assert max(told.values()) == 1  # none told twice


async def test_an_embargo_that_lifted_while_the_matcher_was_down_is_told_when_it_is_back(
    live_stack: Settings, tmp_path: Path
) -> None:
    settings, alert = await _saved(live_stack, "comet")
    article = make_article(lede="A bright comet will pass close to the sun next spring.")
    until = datetime.now(UTC) + timedelta(seconds=6)
    async with running_indexer(settings):
        child = await asyncio.to_thread(_start, settings, tmp_path / "alerts-1.log")
        try:
            await publish(settings, [article.model_copy(update={"embargoed": until})])

            async def matcher_passed_it() -> bool:  # the record is behind the group for good
                offsets = await _group_offsets(settings)
                return sum(offsets.values()) >= 1

            await wait_until(matcher_passed_it, 20, "the matcher committed past the record")
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            assert await committed_events(settings) == []  # under embargo: nothing yet
            # The embargo lifts while no matcher runs: no record will ever say so.
            await asyncio.sleep(max((until - datetime.now(UTC)).total_seconds() + 1, 0))
            child = await asyncio.to_thread(_start, settings, tmp_path / "alerts-2.log")

            async def told() -> bool:
                return bool(await committed_events(settings))

            await wait_until(told, 30, "the match told when the embargo lifted")
        finally:
            child.terminate()
            child.wait(10)
    [event] = await committed_events(settings)
    assert (event["alert_id"], event["kind"]) == (alert.id, "match")
    assert event["article"]["id"] == article.id


async def _group_offsets(settings: Settings) -> dict[int, int]:
    admin = make_admin(settings.kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.alerts_group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
