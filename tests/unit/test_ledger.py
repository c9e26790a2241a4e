"""The ingest ledger: a set of keys on disk, per namespace, that survives a restart."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.settings import Settings
from services.ingest.ledger import Ledger, ledger_for, payload_key


def test_a_key_is_seen_once_added_and_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.sqlite"  # the folder is made when missing
    with Ledger(path, namespace="articles") as ledger:
        assert not ledger.seen("a")
        ledger.add(["a", "b", "a"])  # a repeat is ignored, not an error
        assert ledger.seen("a")
        assert ledger.seen("b")
    with Ledger(path, namespace="articles") as again:
        assert again.seen("a")
        assert not again.seen("c")


def test_namespaces_do_not_see_each_others_keys(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path, namespace="one") as one, Ledger(path, namespace="two") as two:
        one.add(["k"])
        assert one.seen("k")
        assert not two.seen("k")


def test_adding_nothing_is_a_no_op(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite", namespace="t") as ledger:
        ledger.add([])
        ledger.add(iter(()))
        assert not ledger.seen("")


def test_close_is_idempotent_and_a_closed_ledger_refuses_use(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite", namespace="t")
    ledger.close()
    ledger.close()
    with pytest.raises(RuntimeError, match="closed"):
        ledger.seen("a")


def test_the_payload_key_names_the_bytes() -> None:
    assert payload_key(b"x") == payload_key(b"x")
    assert payload_key(b"x") != payload_key(b"y")
    assert payload_key(b"x").startswith("raw:")
    assert len(payload_key(b"x")) == 4 + 32


def test_the_machine_ledger_lives_in_the_state_dir_one_namespace_per_topic(
    tmp_path: Path,
) -> None:
    settings = Settings(state_dir=tmp_path, topic_articles="news")
    with ledger_for(settings) as ledger:
        ledger.add(["k"])
        assert ledger.namespace == "news"
    assert (tmp_path / "ingest" / "ledger.sqlite").is_file()
    with Ledger(tmp_path / "ingest" / "ledger.sqlite", namespace="other") as other:
        assert not other.seen("k")


def _statements(ledger: Ledger) -> list[str]:
    seen: list[str] = []
    ledger.db.set_trace_callback(seen.append)
    return seen


def test_a_batch_of_keys_is_one_transaction(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite", namespace="t") as ledger:
        statements = _statements(ledger)
        ledger.add(f"k{i}" for i in range(100))
        assert [s for s in statements if s in ("BEGIN", "COMMIT")] == ["BEGIN", "COMMIT"]
        assert not ledger.db.in_transaction
        assert all(ledger.seen(f"k{i}") for i in range(100))


def test_a_batch_that_fails_midway_records_none_of_its_keys(tmp_path: Path) -> None:
    def keys() -> Iterator[str]:
        yield "first"
        raise RuntimeError("the acks could not be read")

    with Ledger(tmp_path / "ledger.sqlite", namespace="t") as ledger:
        with pytest.raises(RuntimeError):
            ledger.add(keys())
        ledger.db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON seen WHEN NEW.key = 't|bad' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        with pytest.raises(sqlite3.IntegrityError):
            ledger.add(["before", "bad", "after"])
        assert not ledger.db.in_transaction
        # All or nothing: a crash or an error between acks and ledger at worst republishes.
        assert not any(ledger.seen(k) for k in ("first", "before", "bad", "after"))
        ledger.add(["before"])
        assert ledger.seen("before")


def test_a_batch_committed_survives_a_reopen_without_close(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path, namespace="t")
    ledger.add(["a", "b"])
    # No close: what a killed process leaves is what the last COMMIT wrote.
    with Ledger(path, namespace="t") as again:
        assert again.seen("a")
        assert again.seen("b")
    ledger.close()


def _record_folder(path: str, folder: str, count: int) -> None:
    """One ingest instance's share: the keys of the files of its own folder, in small batches."""
    with Ledger(Path(path), namespace="articles") as ledger:
        for n in range(0, count, 10):
            ledger.add([f"{folder}/{m}" for m in range(n, n + 10)])


def test_two_instances_watching_different_folders_keep_one_correct_ledger(
    tmp_path: Path,
) -> None:
    # Two ingest instances on one machine (one state dir), each watching its own folder,
    # write the one ledger at once, each through its own connection: SQLite's lock (WAL, a
    # busy timeout) keeps every key. Threads stand for the processes (the same file locks).
    import threading

    path = tmp_path / "ingest" / "ledger.sqlite"
    Ledger(path, namespace="articles").close()  # the file and its WAL mode exist first
    workers = [
        threading.Thread(target=_record_folder, args=(str(path), folder, 500))
        for folder in ("inbox-a", "inbox-b")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    with Ledger(path, namespace="articles") as ledger:
        assert all(ledger.seen(f"{f}/{n}") for f in ("inbox-a", "inbox-b") for n in range(500))
        [(rows,)] = ledger.db.execute("SELECT count(*) FROM seen").fetchall()
        assert rows == 1000
