"""Watch a folder and publish each new file once, across restarts (the ledger remembers)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
from watchfiles import Change, awatch

from services.ingest.pipeline import SKIP_SUFFIXES, Ingester, iter_files, read_item

log = structlog.get_logger(__name__)


def _wanted(path: Path) -> bool:
    # Writers that rename into place write to hidden or temporary names first: skip those.
    return not path.name.startswith(".") and not path.name.endswith(SKIP_SUFFIXES)


async def watch(folder: Path, ingester: Ingester, stop: asyncio.Event) -> None:
    """Ingest what is in ``folder`` now, then every file added or rewritten, until ``stop``."""
    folder.mkdir(parents=True, exist_ok=True)
    max_bytes = ingester.max_bytes
    for path in iter_files([folder]):
        await ingester.submit(read_item(path, max_bytes))
    await ingester.drain()
    log.info("watching", folder=str(folder), **ingester.summary.as_dict())
    async for changes in awatch(folder, stop_event=stop, recursive=True):
        paths = sorted({Path(p) for change, p in changes if change != Change.deleted}, key=str)
        for path in paths:
            if path.is_file() and _wanted(path):
                await ingester.submit(read_item(path, max_bytes))
        await ingester.drain()
