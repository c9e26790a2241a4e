"""Watch a folder and publish each new file once it is complete, across restarts (the ledger).

Only regular files inside the folder are read: links (to files or directories) are never
followed and FIFOs or devices never opened; they are skipped with a logged reason and counted
(newswire_ingest_skipped_total), never dead-lettered. A file is read once its size and mtime
stayed unchanged for NEWSWIRE_WATCH_QUIET_MS (re-checked just before reading), so a slow
writer gives one publish of the whole file. No single file stops the watcher.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
from watchfiles import Change, awatch

from services.ingest.ingester import Ingester
from services.ingest.quiet import QuietFiles
from services.ingest.readers import lstat_signature, read_item, walk, wanted

log = structlog.get_logger(__name__)


async def watch(
    folder: Path, ingester: Ingester, stop: asyncio.Event, *, quiet_ms: int | None = None
) -> None:
    """Ingest what is in ``folder`` now, then every file added or rewritten, until ``stop``."""
    folder.mkdir(parents=True, exist_ok=True)
    # Events name absolute paths: the scan must name files the same way (one entry each).
    folder = folder.resolve()
    if quiet_ms is None:
        quiet_ms = ingester.publisher.settings.watch_quiet_ms
    pending = QuietFiles(quiet_ms / 1000)
    for path in walk(folder):
        _note(pending, ingester, path)
    log.info("watching", folder=str(folder), pending=len(pending), quiet_ms=quiet_ms)
    # Wake up at least every tick without events, to read files that became quiet; awatch
    # itself checks ``stop`` every 50 ms, so SIGTERM is served promptly however many wait.
    tick = max(50, min(500, quiet_ms // 4))
    async for changes in awatch(
        folder, stop_event=stop, recursive=True, rust_timeout=tick, yield_on_timeout=True
    ):
        for change, name in sorted(changes, key=lambda c: c[1]):
            path = Path(name)
            if change == Change.deleted:
                pending.forget(path)
            elif _inside(folder, path):
                _note(pending, ingester, path, added=change == Change.added)
        await _publish_due(pending, ingester, stop)
    await ingester.drain()


def _inside(folder: Path, path: Path) -> bool:
    # Hidden or temporary names anywhere below the folder are a writer's work in progress.
    try:
        parts = path.relative_to(folder).parts
    except ValueError:
        return False
    return all(map(wanted, parts))


def _note(pending: QuietFiles, ingester: Ingester, path: Path, *, added: bool = True) -> None:
    """Track a regular file until it is quiet; skip (and say why) anything else."""
    signature = lstat_signature(path)
    if isinstance(signature, tuple):
        pending.note(path, signature)
        return
    pending.forget(path)
    if signature == "directory":
        if added:  # a folder moved in brings files no event names one by one
            for inner in walk(path):
                _note(pending, ingester, inner)
    elif signature != "vanished":
        ingester.skip(str(path), f"{signature}, not a regular file")


async def _publish_due(pending: QuietFiles, ingester: Ingester, stop: asyncio.Event) -> None:
    """Read and publish every file that stayed quiet, unless it changed at the last moment."""
    for path in pending.due():
        if stop.is_set():
            break
        signature = lstat_signature(path)
        if not isinstance(signature, tuple):
            _note(pending, ingester, path, added=False)
            continue
        if not pending.still(path, signature):
            continue  # written to since: its quiet period starts again
        item = read_item(path, ingester.limits.max_bytes)
        if item.signature is not None and item.signature != signature:
            pending.note(path, item.signature)  # written to while being read
            continue
        pending.forget(path)
        await ingester.submit(item)
    await ingester.drain()
