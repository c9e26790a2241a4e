"""``newswire ingest``: files, folders (recursive), a watched folder, or JSON Lines on stdin."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.common.errors import NewswireError
from services.common.settings import get_settings
from services.ingest.ingester import Ingester, Summary
from services.ingest.ledger import ledger_for
from services.ingest.publisher import Publisher
from services.ingest.readers import InputFormat, iter_files, json_lines
from services.ingest.watch import watch as watch_folder

console = Console(stderr=True)


class LinesFormat(StrEnum):
    """What the lines of ``newswire ingest -`` hold."""

    json = "json"
    ninjs = "ninjs"


async def _ingest(
    paths: list[Path], force: bool, quiet: bool, workers: int, lines: InputFormat
) -> Summary:
    settings = get_settings()
    async with Publisher(settings) as publisher:
        with ledger_for(settings) as ledger:
            ingester = Ingester(publisher, ledger, force=force)
            if paths == [Path("-")]:
                stream = json_lines(sys.stdin.buffer, settings.max_article_bytes, lines)
                return await ingester.run(stream)
            # Two lazy passes (count, then ingest) keep memory flat in the number of files.
            total = sum(1 for _ in iter_files(paths))
            columns = (TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console, disable=quiet) as progress:
                task = progress.add_task("ingest", total=total)
                await ingester.ingest_files(
                    iter_files(paths),
                    workers=workers,
                    on_progress=lambda n: progress.advance(task, n),
                )
            return ingester.summary


def ingest_paths(
    paths: list[Path],
    *,
    force: bool = False,
    quiet: bool = False,
    workers: int = 1,
    lines: InputFormat = "json",
) -> Summary:
    """Ingest files and folders (or JSON Lines of ``lines`` on stdin); returns the summary."""
    return asyncio.run(_ingest(paths, force, quiet, workers, lines))


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
    workers: Annotated[
        int, typer.Option(help="Processes that parse files (publishing stays in one).")
    ] = os.cpu_count() or 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    input_format: Annotated[
        LinesFormat,
        typer.Option("--format", help="What each stdin line is: an article JSON, or ninjs 2.x."),
    ] = LinesFormat.json,
) -> None:
    """Publish articles to Kafka; rejects go to the dead-letter topic with the reason."""
    try:
        if watch is not None:
            asyncio.run(_watch(watch))
            return
        if not paths:
            raise typer.BadParameter("give files, folders, '-' or --watch DIR")
        started = time.perf_counter()
        summary = ingest_paths(
            paths, force=force, quiet=quiet, workers=workers, lines=input_format.value
        )
        seconds = time.perf_counter() - started
    except NewswireError as exc:
        # Kafka away, or refusing for good (not authorised, say): a message, not a traceback.
        console.print(f"[red]error:[/] {exc.message} ({exc.code})")
        raise typer.Exit(code=2) from exc
    if as_json:
        typer.echo(json.dumps({**summary.as_dict(), "seconds": round(seconds, 3)}))
        return
    for source, code in summary.rejects[:20]:
        console.print(f"[yellow]rejected[/] {source}: {code}")
    for source, reason in summary.skips[:20]:
        console.print(f"[yellow]skipped[/] {source}: {reason}")
    console.print(
        f"published {summary.published}, rejected {summary.rejected}, "
        f"already seen {summary.already_seen}, skipped {summary.skipped}"
    )
