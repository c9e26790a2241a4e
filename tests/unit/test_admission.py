"""Upload admission and the per-client dead-letter quota (pure: no clock games, no sockets)."""

from __future__ import annotations

import pytest

from services.ingest import metrics
from services.ingest.admission import Admission, DeadLetterQuota


def test_admission_bounds_uploads_and_gives_them_back() -> None:
    admission = Admission(max_uploads=2, max_bytes=10_000)
    first, second = admission.reserve(10), admission.reserve(10)
    assert first is not None
    assert second is not None
    assert admission.reserve(10) is None
    with first:
        pass
    assert admission.uploads == 1
    assert admission.reserve(10) is not None


def test_admission_bounds_reserved_bytes() -> None:
    admission = Admission(max_uploads=100, max_bytes=1000)
    big = admission.reserve(800)
    assert big is not None
    assert admission.reserve(300) is None
    assert admission.reserve(200) is not None
    with big:
        pass
    assert admission.reserved == 200


def test_a_client_over_its_dead_letter_burst_is_dropped_others_are_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr("services.ingest.admission.time.monotonic", lambda: now[0])
    quota = DeadLetterQuota(rate=2.0, burst=3)
    assert [quota.allow("10.0.0.1") for _ in range(5)] == [True, True, True, False, False]
    assert quota.allow("10.0.0.2")
    now[0] += 1.0  # two tokens a second come back
    assert [quota.allow("10.0.0.1") for _ in range(3)] == [True, True, False]


def test_dropped_dead_letters_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("services.ingest.admission.time.monotonic", lambda: 5.0)
    counter = metrics.DEAD_LETTERS_DROPPED.labels(reason="rate_limited")
    before = counter._value.get()
    quota = DeadLetterQuota(rate=1.0, burst=1)
    for _ in range(4):
        quota.allow("c")
    assert counter._value.get() - before == 3


def test_the_client_table_stays_bounded() -> None:
    quota = DeadLetterQuota(rate=1.0, burst=1, max_clients=3)
    for n in range(10):
        quota.allow(f"10.0.0.{n}")
    assert len(quota._buckets) == 3
