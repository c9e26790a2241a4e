"""Two ingest processes watching different folders on one state directory: one ledger, kept.

Each file is published once, and a restart of both republishes nothing: the ledger's writes
from two processes at once are all kept (SQLite locking, one transaction per batch).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from services.bench.procs import child_env
from services.common.settings import Settings
from tests.factories import seed_text
from tests.integration.pipeline_helpers import read_topic

pytestmark = pytest.mark.integration
FILES = 40  # per folder


def _watcher(settings: Settings, folder: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", "ingest", "--watch", str(folder), "-q"],
            env=child_env(settings),
            stdout=out,
            stderr=out,
        )


def _stop(watchers: list[subprocess.Popen[bytes]]) -> None:
    for watcher in watchers:
        watcher.send_signal(signal.SIGTERM)
    for watcher in watchers:
        assert watcher.wait(30) == 0


async def test_two_watchers_share_one_ledger_and_a_restart_republishes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"state_dir": tmp_path / "state"})
    folders = [tmp_path / "desk-a", tmp_path / "desk-b"]
    for folder in folders:
        folder.mkdir()
    watchers = [_watcher(settings, f, tmp_path / f"{f.name}.log") for f in folders]
    try:
        await asyncio.sleep(3)  # both watching
        for n in range(FILES):  # both folders filled at once: the ledgers' writes interleave
            for folder in folders:
                (folder / f"{n}.txt").write_text(seed_text(lede=f"{folder.name} story {n}."))
        records = await read_topic(settings, settings.topic_articles, 2 * FILES, timeout=60)
        assert len(records) == 2 * FILES
    finally:
        _stop(watchers)
    # Both again, on the same folders: every file is known to the ledger they share.
    watchers = [_watcher(settings, f, tmp_path / f"{f.name}-2.log") for f in folders]
    try:
        await asyncio.sleep(5)  # past the quiet period: anything unknown would be published
    finally:
        _stop(watchers)
    records = await read_topic(settings, settings.topic_articles, 2 * FILES + 1, timeout=5)
    assert len(records) == 2 * FILES  # nothing republished
    assert len({r.key for r in records}) == 2 * FILES
