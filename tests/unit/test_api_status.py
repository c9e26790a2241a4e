"""The pipeline monitor: Burrow-like evaluation, the typed Kafka view, probes, the tracker."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elastic_transport import ConnectionError as TransportConnectionError
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError
from prometheus_client import REGISTRY

from services.api.models import DeadLetterView, IndexView, KafkaView, Unavailable
from services.api.status.kafka_reader import KafkaReader
from services.api.status.lag import (
    WINDOW,
    LagWindows,
    Sample,
    TopicReading,
    age_seconds,
    evaluate,
)
from services.api.status.probes import alerts_status, services_health
from services.api.status.tracker import NewestRead, Tracker
from services.common.errors import KafkaUnavailable
from services.common.kafka import boundary
from services.common.settings import Settings


def window(*points: tuple[int, int]) -> list[Sample]:
    """Samples five seconds apart from (committed, end) pairs."""
    return [Sample(at=5.0 * i, committed=c, end=e) for i, (c, e) in enumerate(points)]


def test_no_lag_is_ok() -> None:
    assert evaluate(window((10, 10), (20, 20), (30, 30)), members=1) == "OK"


def test_catching_up_is_ok() -> None:
    assert evaluate(window((10, 100), (50, 110), (90, 120)), members=1) == "OK"


def test_falling_behind_while_moving_is_warn() -> None:
    assert evaluate(window((10, 20), (20, 60), (30, 120)), members=1) == "WARN"


def test_members_but_no_progress_is_stall() -> None:
    assert evaluate(window((10, 20), (10, 25), (10, 30)), members=1) == "STALL"


def test_lag_and_nobody_consuming_is_stop() -> None:
    assert evaluate(window((10, 20)), members=0) == "STOP"


def test_committed_going_backwards_is_rewind() -> None:
    assert evaluate(window((50, 60), (20, 60), (30, 60)), members=1) == "REWIND"


def test_nothing_known_is_ok() -> None:
    assert evaluate([], members=0) == "OK"


def reading(members: int = 1, **partitions: tuple[int, int]) -> TopicReading:
    """A reading of partitions named p0, p1, … as (committed, end)."""
    by_number = {int(name[1:]): point for name, point in partitions.items()}
    return TopicReading(
        topic="articles",
        group="indexer",
        members=members,
        ends={p: end for p, (_, end) in by_number.items()},
        committed={p: committed for p, (committed, _) in by_number.items()},
        oldest_at={p: 100.0 for p, (committed, end) in by_number.items() if end > committed},
        dlq_depth=3,
    )


def test_windows_build_the_typed_kafka_view() -> None:
    view = LagWindows().observe(reading(p1=(5, 5), p0=(10, 30)), now=102.5)
    assert [p.partition for p in view.partitions] == [0, 1]
    first = view.partitions[0]
    assert (first.lag, first.lag_seconds, first.status) == (20, 2.5, "OK")
    assert view.partitions[1].lag_seconds == 0.0
    assert (view.total_lag, view.dlq_depth, view.group_members) == (20, 3, 1)


def test_windows_remember_samples_across_readings() -> None:
    windows = LagWindows()
    for at in (0.0, 5.0, 10.0):
        view = windows.observe(reading(p0=(10, 20 + int(at))), now=at)
    assert view.partitions[0].status == "STALL"


def test_windows_keep_one_minute_of_samples() -> None:
    windows = LagWindows()
    for i in range(WINDOW + 5):
        windows.observe(reading(p0=(i, i)), now=float(i))
    assert len(windows.history[0]) == WINDOW


def test_a_missing_committed_offset_counts_from_zero() -> None:
    view = LagWindows().observe(TopicReading("t", "g", 0, {0: 7}, {}, {}, 0), now=1.0)
    assert (view.partitions[0].committed_offset, view.partitions[0].status) == (0, "STOP")


def test_age_seconds() -> None:
    assert age_seconds(None, 10.0) == 0.0
    assert age_seconds(12.0, 10.0) == 0.0
    assert age_seconds(1.23456, 2.0) == 0.765


class FakeReader:
    """Readings given in advance, errors converted as the real reader does; counts closes."""

    def __init__(self, *readings: TopicReading | Exception) -> None:
        self.readings = list(readings)
        self.closed = 0

    async def reading(self) -> TopicReading:
        item = self.readings.pop(0)
        if isinstance(item, Exception):
            with boundary("fake reading"):
                raise item
        return item

    async def dead_letters(self, limit: int) -> list[DeadLetterView]:
        return []

    async def close(self) -> None:
        self.closed += 1


ES = AsyncElasticsearch("http://127.0.0.1:9")  # never asked: the tests give their own reads
SETTINGS = Settings(ingest_url="http://ingest", indexer_url="http://indexer", index_alias="news")
ALL_UP = httpx.MockTransport(lambda request: httpx.Response(200))


def tracker(
    *readings: TopicReading | Exception,
    newest: NewestRead | None = None,
) -> Tracker:
    """A tracker on given readings, index reads and services that all answer."""

    async def empty() -> tuple[int, dict[str, Any] | None]:
        return 0, None

    return Tracker(
        SETTINGS,
        ES,
        reader=FakeReader(*readings),
        newest=newest or empty,
        probe_transport=ALL_UP,
    )


def es_error(cls: type[ApiError], status: int) -> ApiError:
    """An Elasticsearch API error of ``status``."""
    node = NodeConfig("http", "localhost", 9200)
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.01, node)
    return cls("error", meta=meta, body={})


def test_tracker_reports_kafka_and_sets_the_lag_gauge() -> None:
    view = asyncio.run(tracker(reading(p0=(1, 4))).kafka_view())
    assert view.total_lag == 3
    assert REGISTRY.get_sample_value("newswire_pipeline_group_lag", {"partition": "0"}) == 3
    assert REGISTRY.get_sample_value("newswire_pipeline_dlq_depth") == 3


def test_status_of_a_healthy_pipeline() -> None:
    async def newest() -> tuple[int, dict[str, Any] | None]:
        return 7, {"id": "14d38489e204ff07", "indexed_at": "2026-11-24T10:15:02.311Z"}

    status = asyncio.run(tracker(reading(p0=(4, 4)), newest=newest).status())
    assert isinstance(status.kafka, KafkaView)
    assert isinstance(status.index, IndexView)
    assert status.index.documents == 7
    assert status.index.newest is not None
    assert status.index.newest.id == "14d38489e204ff07"
    assert status.index.freshness_seconds is not None
    assert status.health == {
        "api": "up",
        "kafka": "up",
        "elasticsearch": "up",
        "ingest": "up",
        "indexer": "up",
        "alerts": "up",
    }
    # The stand-in services answer /status with no body: not the alerts service's view.
    assert isinstance(status.alerts, Unavailable)


def test_status_reports_backends_that_are_down_never_raises() -> None:
    async def refused() -> tuple[int, dict[str, Any] | None]:
        raise TransportConnectionError("refused")

    status = asyncio.run(tracker(KafkaConnectionError(), newest=refused).status())
    assert status.kafka == Unavailable(error="Kafka unavailable: KafkaConnectionError")
    assert status.index == Unavailable(error="Elasticsearch unavailable: ConnectionError")
    assert (status.health["kafka"], status.health["elasticsearch"]) == ("down", "down")


def test_an_index_not_created_yet_is_empty_not_down() -> None:
    async def missing() -> tuple[int, dict[str, Any] | None]:
        raise es_error(NotFoundError, 404)

    status = asyncio.run(tracker(reading(), newest=missing).status())
    assert status.index == IndexView(alias="news", documents=0, newest=None, freshness_seconds=None)
    assert status.health["elasticsearch"] == "up"


def test_probes_tell_up_unhealthy_and_down() -> None:
    settings = SETTINGS

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "ingest":
            return httpx.Response(200 if request.url.path == "/livez" else 404)
        raise httpx.ConnectError("refused", request=request)

    health = asyncio.run(services_health(settings, httpx.MockTransport(answer)))
    assert health == {"ingest": "up", "indexer": "down", "alerts": "down"}

    unhealthy = httpx.MockTransport(lambda request: httpx.Response(503))
    assert asyncio.run(services_health(settings, unhealthy)) == {
        "ingest": "unhealthy",
        "indexer": "unhealthy",
        "alerts": "unhealthy",
    }


ALERTS_STATUS = {
    "alerts": 12,
    "events_per_s": 1.5,
    "matcher_lag": 0,
    "embargoes_waiting": 1,
    "deliveries_in_flight": 2,
    "failing_webhooks": 1,
    "oldest_delivery_wait_s": 3.25,
}


def test_the_alerts_service_reports_into_the_status() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/status":
            return httpx.Response(200, json=ALERTS_STATUS)
        return httpx.Response(200)

    status = asyncio.run(alerts_status(SETTINGS, httpx.MockTransport(answer)))
    assert status == ALERTS_STATUS
    # Not the alerts service on its port, or nobody: reported, never raised.
    other = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>"))
    assert asyncio.run(alerts_status(SETTINGS, other)) is None

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    assert asyncio.run(alerts_status(SETTINGS, httpx.MockTransport(refused))) is None


def test_the_reader_raises_kafkas_errors_converted_and_reconnects_next_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reader = KafkaReader(SETTINGS)

    async def unreachable() -> Any:
        raise KafkaConnectionError("refused")

    monkeypatch.setattr(reader, "_connect", unreachable)
    with pytest.raises(KafkaUnavailable) as caught:
        asyncio.run(reader.reading())
    assert caught.value.retriable
    assert isinstance(caught.value.__cause__, KafkaConnectionError)
