"""``newswire chaos``: fault-injection scenarios against the live local stack."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from services.cli.bench import ensure_stack
from services.common.settings import get_settings

console = Console(stderr=True)


def chaos(
    scenario: Annotated[
        list[str] | None, typer.Option(help="Scenario to run (repeatable); default: all.")
    ] = None,
    count: Annotated[int, typer.Option(help="Articles streamed per scenario.")] = 20_000,
    report: Annotated[Path, typer.Option(help="Where to write the JSON report.")] = Path(
        "reports/chaos.json"
    ),
) -> None:
    """Stream articles while the indexer, Kafka or Elasticsearch breaks; exit 1 on any loss."""
    from services.bench.fault_scenarios import SCENARIOS, as_report, run_scenarios
    from services.stack.local_stack import LocalStack

    settings = get_settings()
    ensure_stack(settings)
    stack = LocalStack(settings)
    work = Path(tempfile.mkdtemp(prefix="newswire-chaos-"))
    try:
        outcomes = asyncio.run(run_scenarios(settings, stack, count, work, scenario or SCENARIOS))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    result = as_report(outcomes)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(result, indent=2) + "\n")
    table = Table("scenario", "sent", "accepted", "dlq", "indexed", "unique", "lost", "dup", "s")
    for o in outcomes:
        table.add_row(
            o.scenario,
            *(
                str(v)
                for v in (
                    o.sent,
                    o.accepted,
                    o.dlq,
                    o.indexed,
                    o.unique_ids,
                    o.lost,
                    o.duplicated,
                    o.seconds,
                )
            ),
        )
    console.print(table)
    for o in outcomes:
        for note in o.notes:
            console.print(f"[yellow]{o.scenario}:[/] {note}")
    console.print(f"report: {report}; logs in {work}")
    if not result["ok"]:
        raise typer.Exit(code=1)
