"""``newswire up|down|status``: the whole pipeline on this machine, no Docker."""

from __future__ import annotations

import typer
from rich.console import Console

from services.common.errors import StackError
from services.common.settings import get_settings
from services.stack.runner import LocalStack

console = Console(stderr=True)


def up() -> None:
    """Start Kafka, Elasticsearch and the services, ingest the seeds, print the URLs."""
    settings = get_settings()
    try:
        with console.status("starting Kafka and Elasticsearch..."):
            LocalStack(settings).up()
    except StackError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(code=1) from exc
    console.print(f"Kafka         {settings.kafka_bootstrap}")
    console.print(f"Elasticsearch {settings.es_url}")


def down() -> None:
    """Stop everything ``up`` started."""
    stopped = LocalStack(get_settings()).down()
    console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
