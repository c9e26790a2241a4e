"""``newswire chaos``: fault-injection scenarios against the live local stack."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from services.cli.bench import ensure_stack
from services.common.settings import Settings, get_settings

if TYPE_CHECKING:
    from services.bench.fault_scenarios import Outcome
    from services.stack.local_stack import LocalStack

console = Console(stderr=True)
QUICK_COUNT = 5_000


async def _cluster(
    settings: Settings, stack: LocalStack, count: int, work: Path, names: list[str] | None
) -> list[Outcome]:
    """The cluster scenarios, refused on a stack of one broker or one node."""
    from services.bench.cluster_faults import CLUSTER_SCENARIOS, run_cluster_scenarios

    # A member away is the test: the client's warning (with a traceback) at each retry on the
    # next node would bury the report.
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    if settings.kafka_brokers < 3 or settings.es_nodes < 2:
        raise ValueError(
            "--cluster needs 3 brokers and 2 or more nodes: "
            "`newswire stack up --kafka-brokers 3 --es-nodes 3`"
        )
    return await run_cluster_scenarios(settings, stack, count, work, names or CLUSTER_SCENARIOS)


def _table(outcomes: list[Outcome]) -> Table:
    table = Table("scenario", "sent", "accepted", "dlq", "indexed", "unique", "lost", "dup", "s")
    for o in outcomes:
        counts = (o.sent, o.accepted, o.dlq, o.indexed, o.unique_ids, o.lost, o.duplicated)
        table.add_row(o.scenario, *(str(v) for v in (*counts, o.seconds)))
    return table


def chaos(
    scenario: Annotated[
        list[str] | None, typer.Option(help="Scenario to run (repeatable); default: all.")
    ] = None,
    count: Annotated[int, typer.Option(help="Articles streamed per scenario.")] = 20_000,
    report: Annotated[Path, typer.Option(help="Where to write the JSON report.")] = Path(
        "reports/chaos.json"
    ),
    cluster: Annotated[
        bool,
        typer.Option(
            "--cluster",
            help="The cluster scenarios (a broker or node killed, a rolling restart); "
            "needs `newswire stack up --kafka-brokers 3 --es-nodes 3`.",
        ),
    ] = False,
    quick: Annotated[
        bool, typer.Option("--quick", help=f"{QUICK_COUNT:,} articles per scenario.")
    ] = False,
) -> None:
    """Stream articles while the indexer, Kafka or Elasticsearch breaks; exit 1 on any loss."""
    from services.bench.fault_scenarios import SCENARIOS, as_report, run_scenarios
    from services.stack.local_stack import LocalStack, with_shape

    settings = with_shape(get_settings())
    ensure_stack(settings)
    stack = LocalStack(settings)
    work = Path(tempfile.mkdtemp(prefix="newswire-chaos-"))
    count = QUICK_COUNT if quick else count
    try:
        if cluster:
            outcomes = asyncio.run(_cluster(settings, stack, count, work, scenario))
        else:
            names = scenario or SCENARIOS
            outcomes = asyncio.run(run_scenarios(settings, stack, count, work, names))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    result = as_report(outcomes)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(result, indent=2) + "\n")
    console.print(_table(outcomes))
    for o in outcomes:
        for note in o.notes:
            console.print(f"[yellow]{o.scenario}:[/] {note}")
    for o in outcomes:
        if o.recovery:
            console.print(f"{o.scenario}: {json.dumps(o.recovery)}")
    console.print(f"report: {report}; logs in {work}")
    if not result["ok"]:
        raise typer.Exit(code=1)
