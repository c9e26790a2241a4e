"""Burrow-like evaluation of one partition's window of samples."""

from __future__ import annotations

from services.api.pipeline_status import Sample, evaluate


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
