"""The quiet period of the watch folder, on a fake clock: a file is due once it stops changing."""

from __future__ import annotations

from pathlib import Path

from services.ingest.quiet import QuietFiles


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_file_is_due_only_after_the_quiet_period() -> None:
    clock = FakeClock()
    files = QuietFiles(1.0, clock)
    files.note(Path("a"), (10, 1))
    assert files.due() == []
    assert files.wait_s() == 1.0
    clock.now += 0.999
    assert files.due() == []
    clock.now += 0.001
    assert files.due() == [Path("a")]
    assert files.wait_s() == 0.0


def test_a_slow_writer_restarts_the_period_at_every_piece() -> None:
    clock = FakeClock()
    files = QuietFiles(1.0, clock)
    for size in (10, 20, 30, 40):  # a piece every 0.6 s: never quiet for 1 s
        files.note(Path("slow"), (size, size))
        clock.now += 0.6
        assert files.due() == []
    clock.now += 0.4
    assert files.due() == [Path("slow")]


def test_the_same_signature_does_not_restart_the_period() -> None:
    clock = FakeClock()
    files = QuietFiles(1.0, clock)
    files.note(Path("a"), (10, 1))
    clock.now += 0.7
    files.note(Path("a"), (10, 1))  # an event without a change (e.g. touched metadata)
    clock.now += 0.3
    assert files.due() == [Path("a")]


def test_a_change_seen_just_before_reading_restarts_the_period() -> None:
    clock = FakeClock()
    files = QuietFiles(1.0, clock)
    files.note(Path("a"), (10, 1))
    clock.now += 1.5
    assert files.still(Path("a"), (10, 1)) is True
    assert files.still(Path("a"), (12, 2)) is False
    assert files.due() == []
    clock.now += 1.0
    assert files.due() == [Path("a")]
    assert files.still(Path("a"), (12, 2)) is True


def test_forgotten_files_are_never_due_and_due_is_in_name_order() -> None:
    clock = FakeClock()
    files = QuietFiles(0.5, clock)
    for name in ("c", "a", "b"):
        files.note(Path(name), (1, 1))
    files.forget(Path("b"))
    assert len(files) == 2
    clock.now += 0.5
    assert files.due() == [Path("a"), Path("c")]
    files.forget(Path("a"))
    files.forget(Path("c"))
    assert files.wait_s() is None
