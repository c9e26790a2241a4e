"""``newswire serve ingest|indexer|api``: run one service in the foreground."""

from __future__ import annotations

import runpy
from enum import StrEnum
from typing import Annotated

import typer


class ServiceName(StrEnum):
    """The three services."""

    ingest = "ingest"
    indexer = "indexer"
    api = "api"


def serve(
    name: Annotated[ServiceName, typer.Argument(help="Which service to run.")],
) -> None:
    """Run a service in the foreground (the same as ``python -m services.<name>``)."""
    runpy.run_module(f"services.{name.value}", run_name="__main__", alter_sys=True)
