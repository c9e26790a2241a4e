"""``newswire ingest``: files, folders (recursive), a watched folder, or JSON Lines on stdin."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.common.errors import KafkaUnavailable
from services.common.settings import get_settings
from services.ingest.ledger import ledger_for
from services.ingest.pipeline import Ingester, Item, Summary, iter_files, read_item
from services.ingest.publisher import Publisher
from services.ingest.watch import watch as watch_folder

console = Console(stderr=True)


async def _stdin_items() -> AsyncIterator[Item]:
    loop = asyncio.get_running_loop()
    number = 0
    while line := await loop.run_in_executor(None, sys.stdin.buffer.readline):
        number += 1
        if line.strip():
            yield Item(line.strip(), f"stdin:{number}", json=True)


async def _ingest(paths: list[Path], force: bool, quiet: bool) -> Summary:
    settings = get_settings()
    async with Publisher(settings) as publisher:
        with ledger_for(settings) as ledger:
            ingester = Ingester(publisher, ledger, force=force)
            if paths == [Path("-")]:
                return await ingester.run(_stdin_items())
            files = list(iter_files(paths))
            columns = (TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console, disable=quiet) as progress:
                task = progress.add_task("ingest", total=len(files))
                for path in files:
                    await ingester.submit(read_item(path, settings.max_article_bytes))
                    progress.advance(task)
                await ingester.drain()
            return ingester.summary


def ingest_paths(paths: list[Path], *, force: bool = False, quiet: bool = False) -> Summary:
    """Ingest files and folders synchronously; returns the summary."""
    return asyncio.run(_ingest(paths, force, quiet))


async def _watch(folder: Path) -> None:
    settings = get_settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Publisher(settings) as publisher:
        with ledger_for(settings) as ledger:
            await watch_folder(folder, Ingester(publisher, ledger), stop)


def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders; '-' reads JSON Lines.")
    ] = None,
    watch: Annotated[Path | None, typer.Option(help="Keep watching this folder.")] = None,
    force: Annotated[bool, typer.Option(help="Publish even what was published before.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Publish articles to Kafka; rejects go to the dead-letter topic with the reason."""
    try:
        if watch is not None:
            asyncio.run(_watch(watch))
            return
        if not paths:
            raise typer.BadParameter("give files, folders, '-' or --watch DIR")
        summary = ingest_paths(paths, force=force, quiet=quiet)
    except KafkaUnavailable as exc:
        console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(code=2) from exc
    for source, code in summary.rejects[:20]:
        console.print(f"[yellow]rejected[/] {source}: {code}")
    console.print(
        f"published {summary.published}, rejected {summary.rejected}, "
        f"already seen {summary.already_seen}"
    )
