"""``newswire``: the one command line over the stack, the services and the tools."""

from __future__ import annotations

import typer

from services.cli import bench as bench_cli
from services.cli import chaos as chaos_cli
from services.cli import ingest as ingest_cli
from services.cli import lifecycle
from services.cli import parse as parse_cli
from services.cli import serve as serve_cli
from services.cli import stack as stack_cli

app = typer.Typer(
    name="newswire",
    help="Newswire: stream news articles into Kafka, index them in Elasticsearch, search them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(stack_cli.app, name="stack", help="Run Kafka and Elasticsearch locally, no Docker.")
app.command("up")(lifecycle.up)
app.command("down")(lifecycle.down)
app.command("status")(lifecycle.status)
app.command("serve")(serve_cli.serve)
app.command("init")(lifecycle.init)
app.command("reindex")(lifecycle.reindex_command)
app.command("rebuild")(lifecycle.rebuild_command)
app.command("ingest")(ingest_cli.ingest)
app.command("parse", help="Parse seed-format files; one JSON line per input with --json.")(
    parse_cli.parse
)
app.add_typer(bench_cli.app, name="bench", help="Reproducible benchmarks on the live stack.")
app.command("chaos")(chaos_cli.chaos)


@app.callback()
def _logging() -> None:
    """Quiet, human logs for the command line; the services log JSON on their own."""
    from services.common.telemetry import configure_logging

    configure_logging("WARNING", "console")
