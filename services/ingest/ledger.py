"""What this ingester already published, kept on disk so a restart republishes nothing."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from services.common.settings import Settings


def payload_key(data: bytes) -> str:
    """The identity of raw input bytes (for rejects: the same bad file is dead-lettered once)."""
    return "raw:" + hashlib.sha256(data).hexdigest()[:32]


_BUSY_TIMEOUT_S = 30.0
_SETUP_TRIES = 100


def _prepare(db: sqlite3.Connection) -> None:
    """WAL journal and the table, made once, tried again while another process holds the file."""
    # Opening the file at the same moment as another process may find it locked before any
    # busy wait applies (switching to WAL takes the file whole).
    for attempt in range(_SETUP_TRIES):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY) WITHOUT ROWID")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _SETUP_TRIES - 1:
                raise
            time.sleep(0.05)


class Ledger:
    """A small SQLite set of keys (article id + version + content hash, per topic)."""

    def __init__(self, path: Path, *, namespace: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.namespace = namespace
        # Two ingest processes may share one ledger (two watched folders, one state dir): a
        # writer waits for the other's transaction rather than failing.
        self._db: sqlite3.Connection | None = sqlite3.connect(
            path, isolation_level=None, timeout=_BUSY_TIMEOUT_S
        )
        _prepare(self._db)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def db(self) -> sqlite3.Connection:
        """The open connection."""
        if self._db is None:
            raise RuntimeError("ledger is closed")
        return self._db

    def seen(self, key: str) -> bool:
        """Whether ``key`` was recorded before."""
        row = self.db.execute("SELECT 1 FROM seen WHERE key = ?", (f"{self.namespace}|{key}",))
        return row.fetchone() is not None

    def add(self, keys: Iterable[str]) -> None:
        """Record keys (once the broker acknowledged them), in one transaction."""
        rows = [(f"{self.namespace}|{k}",) for k in keys]
        if not rows:
            return
        db = self.db
        # In autocommit mode (isolation_level=None) ``with db:`` opens no transaction: every
        # row would be its own commit (13 µs a key against 1 µs). BEGIN makes the batch one
        # commit, all or nothing, which is what a crash between two batches may see.
        db.execute("BEGIN")
        try:
            db.executemany("INSERT OR IGNORE INTO seen (key) VALUES (?)", rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close the database; safe to call twice."""
        db, self._db = self._db, None
        if db is not None:
            db.close()


def ledger_for(settings: Settings) -> Ledger:
    """The ingest ledger of this machine, one namespace per article topic."""
    return Ledger(
        settings.state_dir / "ingest" / "ledger.sqlite", namespace=settings.topic_articles
    )
