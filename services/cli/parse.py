"""``newswire parse FILE...``: check seed files offline, no Kafka needed."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.common.errors import ArticleRejected
from services.common.settings import get_settings
from services.ingest.limits import InputLimits
from services.ingest.readers import Item, read_named, walk
from services.ingest.verdict import Prepared, parse_item

STDIN = Path("-")


def _inputs(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and the files the ingest would take under folders named (sorted)."""
    for path in paths:
        if path != STDIN and path.is_dir():
            yield from walk(path)
        else:
            yield path


def _read(path: Path, max_bytes: int) -> Item:
    if path == STDIN:
        return Item(sys.stdin.buffer.read(max_bytes + 1), "stdin")
    return read_named(path, max_bytes)


def _json_line(result: Prepared | ArticleRejected) -> bytes:
    payload: dict[str, Any]
    if isinstance(result, Prepared):
        payload = {"ok": True, "article": orjson.loads(result.value)}
    else:
        payload = {
            "ok": False,
            "source": result.source,
            "error": {"code": result.code, "message": result.message},
        }
    return orjson.dumps(payload) + b"\n"


def _short(text: str, limit: int, *, keep_end: bool = False) -> str:
    if len(text) <= limit:
        return text
    return "…" + text[-(limit - 1) :] if keep_end else text[: limit - 1] + "…"


def _table(results: list[Prepared | ArticleRejected], width: int) -> Table:
    # Values are shortened here, not by rich: one line per input, even in 80 columns.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("source", "", "id", "title / reason"):
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    room = max(20, width - 54)
    for result in results:
        if isinstance(result, Prepared):
            article = result.article()
            text = _short(f"{article.category}: {article.title}", room)
            source = _short(article.source, 24, keep_end=True)
            table.add_row(source, "[green]✓[/]", article.id, text)
        else:
            source = _short(result.source, 24, keep_end=True)
            text = _short(f"{result.code}: {result.message}", room)
            table.add_row(source, "[red]✗[/]", "", f"[red]{escape(text)}[/]")
    return table


def parse(
    files: Annotated[
        list[Path], typer.Argument(help="Seed files or folders to check; '-' reads stdin.")
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON line per input instead of a table.")
    ] = False,
) -> None:
    """Parse seed files and show the articles they make, or why each was rejected."""
    # The ingest's own verdict on each input: the same checks, the same limits.
    limits = InputLimits.of(get_settings())
    results: list[Prepared | ArticleRejected] = []
    rejected = 0
    for path in _inputs(files):
        result = parse_item(_read(path, limits.max_bytes), limits)
        rejected += isinstance(result, ArticleRejected)
        if json_output:
            # Streamed line by line: a long run shows progress, pipes into jq, keeps no articles.
            sys.stdout.buffer.write(_json_line(result))
            sys.stdout.flush()
        else:
            results.append(result)
    if not json_output:
        console = Console()
        console.print(_table(results, console.width))
        console.print(f"{len(results) - rejected} accepted, {rejected} rejected")
    if rejected:
        raise typer.Exit(code=1)
