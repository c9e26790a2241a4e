"""Saved searches on the live stack: matches as search finds them, live over SSE, resumable.

The real indexer and alerts service run in process on the module's own topics and index; the
API runs as its own process (a real HTTP server: a stream is read as it is written).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from pydantic import SecretStr

from services.alerts.service import AlertsService
from services.api.alert_stream import EventStream
from services.bench.procs import free_port
from services.common.alerts import signature_valid
from services.common.settings import Settings
from services.common.status_event import StatusEvent
from services.ingest.publisher import Publisher
from services.ingest.verdict import prepare
from services.stack.isolation import isolated
from services.stack.readiness import wait_ready
from tests.factories import make_article
from tests.integration.pipeline_helpers import publish, running, running_indexer, spawn

pytestmark = pytest.mark.integration

KEY = "test-alerts-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@dataclass
class Desk:
    """The API of the module (a real server), with the pipeline running behind it."""

    api: httpx.AsyncClient
    settings: Settings

    async def save(self, **spec: Any) -> dict[str, Any]:
        """POST /v1/alerts; the created alert."""
        reply = await self.api.post("/v1/alerts", json=spec, headers=AUTH)
        assert reply.status_code == 201, reply.text
        created: dict[str, Any] = reply.json()
        return created

    async def search_ids(self, **params: Any) -> set[str]:
        """Every id /v1/search answers for ``params``, each copy of a story its own hit."""
        reply = await self.api.get("/v1/search", params={"size": 100, "versions": "all", **params})
        assert reply.status_code == 200, reply.text
        return {item["id"] for item in reply.json()["items"]}


@pytest.fixture(scope="module")
async def desk(
    live_stack: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Desk]:
    """Indexer, alerts service and API on this module's own topics, index and ports."""
    settings = isolated(live_stack, f"test-alerts-{uuid.uuid4().hex[:8]}").model_copy(
        update={
            "api_port": free_port(),
            "alerts_port": free_port(),
            "api_key": SecretStr(KEY),
            "webhook_backoff_s": 0.3,
            "webhook_private_targets": True,  # the receivers listen on loopback
            "sse_heartbeat_s": 1.0,
        }
    )
    log = tmp_path_factory.mktemp("alerts") / "api.log"
    api = spawn("services.api", settings, log)
    try:
        async with running_indexer(settings), running(AlertsService(settings)) as service:
            base = f"http://127.0.0.1:{settings.api_port}"
            ready = await asyncio.to_thread(wait_ready, base, 60, alive=lambda: api.poll() is None)
            assert ready == "ready", Path(log).read_text()[-2000:]
            await _until(lambda: service.ready, 60, "the matcher has its partitions")
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                yield Desk(client, settings)
    finally:
        api.terminate()
        api.wait(10)


async def _until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


class Listener:
    """An SSE client of one alert: collects events as they come."""

    def __init__(self, api: httpx.AsyncClient, alert_id: str, after: str | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.ids: list[str] = []
        self.opened = asyncio.Event()
        headers = {"Last-Event-ID": after} if after else {}
        self._task = asyncio.create_task(self._read(api, alert_id, headers))

    async def _read(self, api: httpx.AsyncClient, alert_id: str, headers: dict[str, str]) -> None:
        url = f"/v1/alerts/{alert_id}/events"
        async with api.stream("GET", url, headers=headers, timeout=None) as reply:
            if reply.status_code != 200:
                raise AssertionError(f"{reply.status_code}: {(await reply.aread())!r}")
            assert reply.headers["content-type"].startswith("text/event-stream")
            self.opened.set()
            fields: dict[str, str] = {}
            async for line in reply.aiter_lines():
                if line == "":
                    if "data" in fields:
                        self.events.append(
                            {**orjson.loads(fields["data"]), "_kind": fields["event"]}
                        )
                        self.ids.append(fields["id"])
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    fields[name] = value

    async def wait_for(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        """The first ``count`` events, once there."""
        await _until(
            lambda: len(self.events) >= count or self._task.done(), timeout, f"{count} events"
        )
        if self._task.done():
            self._task.result()
        return self.events[:count]

    async def close(self) -> None:
        """Hang up."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _listen(desk: Desk, alert_id: str, after: str | None = None) -> Listener:
    listener = Listener(desk.api, alert_id, after)
    await asyncio.wait_for(listener.opened.wait(), 20)
    return listener


async def test_an_article_posted_after_the_stream_opened_arrives_once(desk: Desk) -> None:
    alert = await desk.save(q="volcano eruption")
    listener = await _listen(desk, alert["id"])
    try:
        wanted = make_article(lede="A volcano eruption forced villages to evacuate overnight.")
        other = make_article(lede="The city council approved a new budget for parks.")
        await publish(desk.settings, [wanted, other])
        [event] = await listener.wait_for(1)
        assert event["_kind"] == "match"
        assert event["article"]["id"] == wanted.id
        assert event["alert_id"] == alert["id"]
        # Nothing else came before a later match: not the other article, not a repeat.
        sentinel = make_article(lede="A second volcano eruption closed the airport at noon.")
        await publish(desk.settings, [sentinel])
        events = await listener.wait_for(2)
        assert [e["article"]["id"] for e in events] == [wanted.id, sentinel.id]
    finally:
        await listener.close()


async def test_a_reconnect_with_last_event_id_has_no_gap_and_no_repeat(desk: Desk) -> None:
    alert = await desk.save(q="glacier")
    first = await _listen(desk, alert["id"])
    try:
        ledes = [f"The glacier retreated {n} metres this summer, surveyors said." for n in (10, 20)]
        await publish(desk.settings, [make_article(lede=ledes[0])])
        await first.wait_for(1)
    finally:
        await first.close()
    # While nobody listens, a second match is committed; the reconnect picks it up.
    await publish(desk.settings, [make_article(lede=ledes[1])])
    await _until_async(lambda: _told(desk.settings, alert["id"], 2), 30)
    second = await _listen(desk, alert["id"], after=first.ids[0])
    try:
        [event] = await second.wait_for(1)
        assert "20 metres" in (event["article"]["title"] or "")
        sentinel = make_article(lede="The glacier lake burst its banks, surveyors said.")
        await publish(desk.settings, [sentinel])
        events = await second.wait_for(2)  # the first event was not repeated before it
        assert events[1]["article"]["id"] == sentinel.id
        assert first.ids[0] not in second.ids
    finally:
        await second.close()


async def _told(settings: Settings, alert_id: str, count: int) -> bool:
    """Whether the alert-event topic holds ``count`` committed events of the alert."""
    consumer = AIOKafkaConsumer(
        settings.topic_alert_events,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    await consumer.start()
    found = 0
    try:
        while batch := await consumer.getmany(timeout_ms=500):
            found += sum(r.key == alert_id.encode() for part in batch.values() for r in part)
    finally:
        await consumer.stop()
    return found >= count


async def test_alerts_match_exactly_what_search_finds_on_a_mixed_stream(desk: Desk) -> None:
    specs: list[dict[str, Any]] = [
        {"q": "harbour"},
        {"q": "harbour", "category": ["business"]},
        {"q": '"solar panels"'},
        {"q": "drought -wheat"},
        {"q": "", "category": ["sports"], "from": "2024-03-01"},
    ]
    alerts = [await desk.save(**spec) for spec in specs]
    ledes = [
        ("business", "2024-01-02", "Harbour fees rose as shipping firms returned to the port."),
        ("world", "2024-02-03", "The old harbour flooded after the storm surge."),
        ("business", "2024-03-04", "Investors bought solar panels makers as demand grew."),
        ("science and tech", "2024-03-05", "Solar storms can disrupt panels on satellites."),
        ("world", "2024-04-06", "A long drought cut the wheat harvest in half."),
        ("world", "2024-04-07", "Drought left reservoirs at record lows in the south."),
        ("sports", "2024-02-28", "The harbour regatta was cancelled for high winds."),
        ("sports", "2024-03-02", "The home side won the derby with a late goal."),
        ("health", "2024-05-01", "Clinics reported a rise in heat stroke during the drought."),
    ]
    articles = [make_article(category=c, date=d, lede=lede) for c, d, lede in ledes]
    listeners = [await _listen(desk, alert["id"]) for alert in alerts]
    try:
        await publish(desk.settings, articles)
        expected = []
        for spec in specs:  # the alert's spec is /v1/search's query string
            expected.append(await _eventually_found(desk, spec, len(articles)))
        # The stream is mixed: every search finds some of it, none finds all of it.
        assert all(0 < len(ids) < len(articles) for ids in expected), expected
        await asyncio.sleep(2.0)  # the matcher is behind search by at most a batch
        for listener, ids in zip(listeners, expected, strict=True):
            matched = [e["article"]["id"] for e in listener.events if e["_kind"] == "match"]
            assert sorted(matched) == sorted(ids)  # each once, none missing, none extra
    finally:
        for listener in listeners:
            await listener.close()


async def _eventually_found(desk: Desk, params: dict[str, Any], total: int) -> set[str]:
    """What search finds once every article of the stream is searchable."""
    await _until_async(lambda: _searchable(desk, total), 30)
    return await desk.search_ids(**params)


async def _searchable(desk: Desk, total: int) -> bool:
    reply = await desk.api.get("/v1/search", params={"q": "", "size": 1})
    return bool(reply.json()["total"]["value"] >= total)


async def _until_async(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.2)


async def test_a_new_version_is_an_update_and_a_kill_a_removal(desk: Desk) -> None:
    alert = await desk.save(q="lighthouse")
    listener = await _listen(desk, alert["id"])
    try:
        lede = "The lighthouse keeper retired after forty years on the island."
        original = make_article(lede=lede, date="2024-06-01", updated="Jun 01, 2024 10:00 UTC")
        corrected = make_article(lede=lede, date="2024-06-01", updated="Jun 01, 2024 12:00 UTC")
        assert corrected.id == original.id
        await publish(desk.settings, [original])
        await listener.wait_for(1)
        await publish(desk.settings, [corrected])
        await listener.wait_for(2)
        kill = StatusEvent(event="canceled", id=original.id, at=datetime.now(UTC), source="tests")
        async with Publisher(desk.settings) as publisher:
            await (await publisher.send(prepare(kill, limit=1_000_000, source="tests")))
        events = await listener.wait_for(3)
        assert [e["_kind"] for e in events] == ["match", "update", "removal"]
        assert events[2]["reason"] == "killed"
        assert events[1]["article"]["version"] > events[0]["article"]["version"]
    finally:
        await listener.close()


async def test_saved_searches_need_the_key_and_are_listed_and_deleted(desk: Desk) -> None:
    assert (await desk.api.post("/v1/alerts", json={"q": "x"})).status_code == 401
    bad = await desk.api.post("/v1/alerts", json={"q": '"open phrase'}, headers=AUTH)
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    alert = await desk.save(q="comet", name="Comets")
    assert alert["secret"] is None
    listed = (await desk.api.get("/v1/alerts", headers=AUTH)).json()["items"]
    assert alert["id"] in {a["id"] for a in listed}
    assert all("secret" not in a for a in listed)
    deleted = await desk.api.delete(f"/v1/alerts/{alert['id']}", headers=AUTH)
    assert deleted.status_code == 204
    gone = await desk.api.get(f"/v1/alerts/{alert['id']}/events")
    assert gone.status_code == 404
    assert gone.json()["code"] == "alert_not_found"
    wrong = await desk.api.get(f"/v1/alerts/{'0' * 20}/events", headers={"Last-Event-ID": "x"})
    assert wrong.status_code == 404


class Receiver:
    """A webhook receiver on the loopback: answers ``fail_first`` attempts 500, then 200."""

    def __init__(self, fail_first: int = 0, delay_s: float = 0.0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answered: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(delay_s)
                status = 500 if len(receiver.received) <= fail_first else 200
                receiver.answered.append(status)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


async def test_a_webhook_is_signed_and_retried_until_the_receiver_takes_it(desk: Desk) -> None:
    receiver = Receiver(fail_first=2)
    try:
        alert = await desk.save(q="avalanche", webhook_url=receiver.url)
        assert alert["has_webhook"] is True
        secret = alert["secret"]
        article = make_article(lede="An avalanche closed the mountain pass for two days.")
        await publish(desk.settings, [article])
        await _until(lambda: 200 in receiver.answered, 30, "the third attempt delivered")
        assert receiver.answered == [500, 500, 200]
        ids = {headers["x-newswire-delivery"] for headers, _ in receiver.received}
        assert len(ids) == 1  # the same delivery id on every attempt
        for headers, body in receiver.received:
            assert signature_valid(secret, body, headers["x-newswire-signature-256"])
            assert not signature_valid("another secret", body, headers["x-newswire-signature-256"])
            assert orjson.loads(body)["article"]["id"] == article.id
        url = f"/v1/alerts/{alert['id']}/deliveries"

        async def settled() -> bool:  # the log is searched: it shows a write after a refresh
            items = (await desk.api.get(url, headers=AUTH)).json()["items"]
            return bool(items) and items[0]["status"] == "delivered"

        await _until_async(settled, 10)
        [delivery] = (await desk.api.get(url, headers=AUTH)).json()["items"]
        assert delivery["attempts"] == 3
        assert [a.get("status_code") for a in delivery["log"]] == [500, 500, 200]
    finally:
        receiver.close()


async def test_a_dead_receiver_never_holds_up_another_alert(desk: Desk) -> None:
    slow = Receiver(delay_s=8.0)  # past the attempt timeout: every attempt fails slowly
    quick = Receiver()
    try:
        await desk.save(q="tsunami", webhook_url=slow.url)
        fine = await desk.save(q="tsunami", webhook_url=quick.url)
        listener = await _listen(desk, fine["id"])
        started = time.monotonic()
        await publish(desk.settings, [make_article(lede="A tsunami warning was lifted at dawn.")])
        await _until(lambda: bool(quick.answered), 15, "the working receiver's delivery")
        await listener.wait_for(1)
        assert time.monotonic() - started < 5  # not behind the slow receiver's timeouts
        await listener.close()
    finally:
        slow.close()
        quick.close()


async def test_a_stream_ends_when_the_server_is_stopping(desk: Desk) -> None:
    alert = await desk.save(q="aurora")
    stopping = asyncio.Event()
    async with EventStream(desk.settings, alert["id"], None) as stream:
        chunks = []
        async for chunk in stream.frames(heartbeat_s=0.2, stopping=stopping):
            chunks.append(chunk)
            stopping.set()  # as SIGTERM does: the stream ends, the client reconnects
        assert chunks[0].startswith(b"retry: ")
        assert len(chunks) <= 2  # the first chunk, at most one heartbeat more
