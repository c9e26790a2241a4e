"""``newswire stack``: Kafka and Elasticsearch as local processes."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from services.common.errors import StackError
from services.common.settings import get_settings
from services.stack.local_stack import ComponentStatus, LocalStack, with_shape

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)


def _table(rows: list[ComponentStatus]) -> Table:
    table = Table("component", "state", "pid", "port", "version", "log")
    for row in rows:
        state = "[green]up[/]" if row.up else "[red]down[/]"
        table.add_row(
            row.name, state, str(row.pid or "-"), str(row.port), row.version or "-", row.log_file
        )
    return table


def _fail(exc: StackError) -> typer.Exit:
    console.print(f"[red]error:[/] {exc.message}")
    return typer.Exit(code=1)


@app.command()
def up(
    kafka_brokers: Annotated[
        int | None, typer.Option(min=1, max=3, help="Kafka brokers (KRaft, combined roles).")
    ] = None,
    es_nodes: Annotated[int | None, typer.Option(min=1, max=3, help="Elasticsearch nodes.")] = None,
) -> None:
    """Start Kafka and Elasticsearch (downloading them once) and wait until all answer.

    With more than one broker or node, a cluster on loopback ports; later commands find its
    size in the state directory.
    """
    settings = with_shape(get_settings(), kafka_brokers, es_nodes)
    try:
        with console.status("starting Kafka and Elasticsearch..."):
            rows = LocalStack(settings).up()
    except StackError as exc:
        raise _fail(exc) from exc
    console.print(_table(rows))
    if settings.kafka_brokers > 1 or settings.es_nodes > 1:
        console.print(f"NEWSWIRE_KAFKA_BOOTSTRAP={settings.kafka_bootstrap}")
        console.print(f"NEWSWIRE_ES_URL={settings.es_url} NEWSWIRE_ES_HOSTS={settings.es_hosts}")


@app.command()
def down() -> None:
    """Stop both servers; their data stays in the state directory."""
    try:
        stopped = LocalStack(with_shape(get_settings())).down()
    except StackError as exc:
        raise _fail(exc) from exc
    console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Report each server: up or down, pid, port, version, log file. Exit 1 when any is down."""
    try:
        rows = LocalStack(with_shape(get_settings())).status()
    except StackError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in rows]))
    else:
        Console().print(_table(rows))
    if not all(r.up for r in rows):
        raise typer.Exit(code=1)


@app.command()
def logs(
    component: Annotated[str, typer.Argument(help="kafka or elasticsearch")] = "elasticsearch",
    lines: Annotated[int, typer.Option("-n", help="How many lines.")] = 50,
    follow: Annotated[bool, typer.Option("-f", help="Keep printing new lines.")] = False,
) -> None:
    """Show the log of one server."""
    try:
        servers = {s.name: s for s in LocalStack(with_shape(get_settings())).servers()}
    except StackError as exc:
        raise _fail(exc) from exc
    if component not in servers:
        console.print(f"[red]error:[/] unknown component {component!r}: {', '.join(servers)}")
        raise typer.Exit(code=2)
    args = ["tail", f"-n{lines}", *(["-F"] if follow else []), str(servers[component].log_file)]
    raise typer.Exit(subprocess.call(args))
