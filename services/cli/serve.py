"""``newswire serve ingest|indexer|alerts|api``: run one service in the foreground."""

from __future__ import annotations

import os
import runpy
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from services.cli.keys import resolve_api_key
from services.common.errors import ConfigError
from services.common.settings import Settings, get_settings

console = Console(stderr=True)


class ServiceName(StrEnum):
    """The four services."""

    ingest = "ingest"
    indexer = "indexer"
    alerts = "alerts"
    api = "api"


def serve(
    name: Annotated[ServiceName, typer.Argument(help="Which service to run.")],
) -> None:
    """Run a service in the foreground (``python -m services.<name>``, with `up`'s API key)."""
    try:
        key = resolve_api_key(Settings())
    except ConfigError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(code=2) from exc
    if key.path is not None:
        console.print(f"API key: {key.path}")
    # The same key as `newswire up` gives its services; settings are read again with it.
    os.environ["NEWSWIRE_API_KEY"] = key.value
    get_settings.cache_clear()
    runpy.run_module(f"services.{name.value}", run_name="__main__", alter_sys=True)
