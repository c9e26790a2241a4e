"""``newswire bench``: reproducible figures against the live local stack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from services.bench.ratios import RATIO_ROWS
from services.common.errors import KafkaUnavailable, StackError
from services.common.kafka import probe_kafka
from services.common.settings import Settings, get_settings

app = typer.Typer(invoke_without_command=True, no_args_is_help=False)
console = Console(stderr=True)
# The option of every command that writes a report; each command names its default file.
ReportOption = Annotated[Path, typer.Option(help="Where to write the JSON report.")]

# (report key, label, format): the order of the printed table.
ROWS = [
    ("parser_articles_per_s", "parser (articles/s, 1 core)", "{:,.0f}"),
    ("ingest_articles_per_s", "newswire ingest into Kafka (articles/s)", "{:,.0f}"),
    ("producer_perf_records_per_s", "Kafka ProducerPerformance (records/s)", "{:,.0f}"),
    ("indexer_docs_per_s", "indexer sustained (docs/s, median)", "{:,.0f}"),
    ("peer_docs_per_s", "quixstreams peer (docs/s, median)", "{:,.0f}"),
    ("raw_bulk_docs_per_s", "raw _bulk loader, 1 in flight (docs/s)", "{:,.0f}"),
    ("raw_bulk_best_docs_per_s", "raw _bulk loader at its best (docs/s)", "{:,.0f}"),
    ("indexer_vs_bulk_ratio", "indexer / raw bulk, 1 in flight", "{:.2f}"),
    ("freshness_p50_s", "freshness p50 (s)", "{:.3f}"),
    ("freshness_p95_s", "freshness p95 (s)", "{:.3f}"),
    ("freshness_p99_s", "freshness p99 (s)", "{:.3f}"),
    ("api_search_per_s", "API searches/s", "{:,.0f}"),
    ("api_p50_ms", "API p50 under load (ms)", "{:.2f}"),
    ("api_p99_ms", "API p99 under load (ms)", "{:.2f}"),
    ("es_direct_per_s", "ES direct searches/s", "{:,.0f}"),
    ("es_direct_p50_ms", "ES direct p50 under load (ms)", "{:.2f}"),
    ("es_direct_p99_ms", "ES direct p99 under load (ms)", "{:.2f}"),
    ("api_sequential_p50_ms", "API p50, one client (ms)", "{:.2f}"),
    ("es_direct_sequential_p50_ms", "ES direct p50, one client (ms)", "{:.2f}"),
    ("api_overhead_p50_ms", "API overhead p50, one client (ms)", "{:.2f}"),
    ("api_vs_es_p50_ratio", "API / ES p50, one client", "{:.2f}"),
    ("api_cpu_ms_per_search", "API CPU per search, 8 clients (ms)", "{:.3f}"),
    ("api_cpu_ms_per_search_one_client", "API CPU per search, one client (ms)", "{:.3f}"),
]


def ensure_stack(settings: Settings) -> None:
    """Use the servers that answer; start the local stack when none does."""
    try:
        asyncio.run(probe_kafka(settings.kafka_bootstrap, timeout=3))
        return
    except KafkaUnavailable:
        pass
    from services.stack.local_stack import LocalStack

    with console.status("starting the local stack..."):
        LocalStack(settings).up()


def print_table(report: dict[str, Any]) -> None:
    """The report as a table on stdout."""
    table = Table("figure", "value", title=f"newswire bench ({report.get('size')} articles)")
    for key, label, fmt in ROWS:
        if key in report:
            table.add_row(label, fmt.format(report[key]))
    for service, mb in sorted(report.get("peak_rss_mb", {}).items()):
        table.add_row(f"peak RSS {service} (MiB)", f"{mb:.0f}")
    Console().print(table)
    if "ratios" in report:
        verdict = Table("ratio", "value", title="issue 15's ratios")
        for key, label, fmt in RATIO_ROWS:
            verdict.add_row(f"{label} ({key})", fmt.format(report["ratios"][key]))
        Console().print(verdict)
    machine = report.get("machine", {})
    console.print(
        f"machine: {machine.get('cpu')}, {machine.get('cores')} cores, "
        f"{machine.get('memory_gb')} GiB"
    )


@app.callback()
def bench(
    ctx: typer.Context,
    quick: Annotated[bool, typer.Option(help="5,000 articles, short windows: < 5 min.")] = False,
    size: Annotated[int, typer.Option(help="Articles in the corpus.")] = 50_000,
    report: ReportOption = Path("reports/bench.json"),
) -> None:
    """Parser, ingest vs Kafka's producer, indexer vs peer and raw bulk, freshness, API, RSS."""
    if ctx.invoked_subcommand is not None:
        return
    from services.bench.peer import MISSING, available
    from services.bench.suite import Plan, run, write_report

    if not available():  # before the run, not twenty minutes into it
        console.print(f"[red]error:[/] {MISSING}")
        raise typer.Exit(code=1)
    settings = get_settings()
    plan = Plan.quick() if quick else Plan(size=size)
    try:
        ensure_stack(settings)
        started = time.perf_counter()
        result = run(settings, plan)
    except StackError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(code=1) from exc
    result["duration_s"] = round(time.perf_counter() - started, 1)
    write_report(result, report)
    print_table(result)
    console.print(f"report: {report} ({result['duration_s']} s)")


@app.command("parse")
def bench_parse(
    size: Annotated[int, typer.Option(help="Articles to parse.")] = 20_000,
) -> None:
    """Only the parser: articles per second on one core (no servers needed)."""
    from services.bench.measure import bench_parse as measure_parse

    rate, articles = measure_parse(size, seed=42)
    console.print(f"parsed {size:,} inputs ({len(articles):,} accepted): {rate:,.0f} articles/s")


@app.command("burst")
def bench_burst(
    uploads: Annotated[int, typer.Option(help="1 MB uploads sent at once.")] = 500,
    slow: Annotated[int, typer.Option(help="Slow connections trickling a 1 MB body.")] = 400,
    report: ReportOption = Path("reports/bench-burst.json"),
) -> None:
    """Only the ingest burst: peak RSS and answers under big uploads and slow clients."""
    from services.bench.burst import bench_burst as measure_burst
    from services.bench.suite import scoped

    result = _measured(
        report,
        lambda s, work: measure_burst(scoped(s, "burst"), work, uploads=uploads, slow=slow),
    )
    for key, value in result.items():
        if key != "machine":
            console.print(f"{key}: {value}")


@app.command("relevance")
def bench_relevance(
    report: ReportOption = Path("reports/relevance.json"),
) -> None:
    """Only relevance: the judged suite through the pipeline, scored query by query."""
    from services.bench.relevance_run import run as run_relevance
    from services.bench.suite import write_report

    settings = get_settings()
    try:
        ensure_stack(settings)
        result = run_relevance(settings)
    except StackError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(code=1) from exc
    write_report(result, report)
    print_relevance(result)
    console.print(f"report: {report}")


def print_relevance(report: dict[str, Any]) -> None:
    """Overall and per-tag relevance figures as a table on stdout."""
    table = Table(
        "queries", "tag", "success@1", "MRR@10", "nDCG@10", "zero results", title="relevance"
    )
    rows = [("all", report["overall"]), *sorted(report["by_tag"].items())]
    for tag, fig in rows:
        table.add_row(
            str(fig["queries"]),
            tag,
            f"{fig['success_at_1']:.3f}",
            f"{fig['mrr_at_10']:.3f}",
            f"{fig['ndcg_at_10']:.3f}",
            str(fig["zero_results"]),
        )
    Console().print(table)
    console.print(f"matched: {report['matched']}")
    if v2 := report.get("v2_mapping"):
        fig = v2["overall"]
        console.print(
            f"mapping v2, same run: success@1 {fig['success_at_1']:.3f}, "
            f"MRR@10 {fig['mrr_at_10']:.3f}, nDCG@10 {fig['ndcg_at_10']:.3f}, "
            f"zero results {fig['zero_results']}"
        )


@app.command("stories")
def bench_stories(
    report: ReportOption = Path("reports/stories.json"),
) -> None:
    """Only stories: same-story precision and recall, related stories against more_like_this."""
    from services.bench.stories_run import run as run_stories
    from services.bench.suite import write_report

    settings = get_settings()
    ensure_stack(settings)
    result = run_stories(settings)
    write_report(result, report)
    console.print_json(data={k: v for k, v in result.items() if k != "clustering_by_cosine"})
    console.print(f"report: {report}")


@app.command("stories-cost")
def bench_stories_cost(
    size: Annotated[int, typer.Option(help="Articles in the corpus.")] = 10_000,
    rounds: Annotated[int, typer.Option(help="Runs with stories off and on, alternating.")] = 2,
    rate: Annotated[float, typer.Option(help="Freshness: articles per second.")] = 200.0,
    seconds: Annotated[float, typer.Option(help="Freshness: seconds of steady load.")] = 20.0,
    report: ReportOption = Path("reports/bench-stories-cost.json"),
) -> None:
    """Indexer docs/s with embeddings and clustering against without, and freshness with."""
    from services.bench.stories_cost import run as measure_cost

    result = _measured(
        report,
        lambda s, work: measure_cost(s, work, size=size, rounds=rounds, rate=rate, seconds=seconds),
    )
    console.print_json(data=result)


@app.command("mapping")
def bench_mapping(
    size: Annotated[int, typer.Option(help="Articles in the corpus.")] = 20_000,
    rounds: Annotated[int, typer.Option(help="Runs of each mapping, alternating.")] = 2,
    api_seconds: Annotated[float, typer.Option(help="API load per run, seconds.")] = 15.0,
    report: ReportOption = Path("reports/bench-mapping.json"),
) -> None:
    """Mapping v3 against v2 in one run: indexer docs/s, API searches/s and overhead."""
    from services.bench.mapping_cost import run as measure_mapping

    result = _measured(
        report,
        lambda s, work: measure_mapping(s, work, size=size, rounds=rounds, api_s=api_seconds),
    )
    console.print_json(data={k: v for k, v in result.items() if k != "runs"})


def _measured(report: Path, measure: Callable[[Settings, Path], dict[str, Any]]) -> dict[str, Any]:
    """Run one measurement on the local stack in a work folder; the report, also written."""
    import tempfile

    from services.bench.suite import machine, write_report

    settings = get_settings()
    ensure_stack(settings)
    work = Path(tempfile.mkdtemp(prefix="newswire-bench-"))
    result = {"machine": machine(), **measure(settings, work)}
    write_report(result, report)
    return result


@app.command("alerts")
def bench_alerts(
    alerts: Annotated[int, typer.Option(help="Saved searches to create.")] = 1000,
    streams: Annotated[int, typer.Option(help="Alerts listened to over SSE.")] = 50,
    rate: Annotated[float, typer.Option(help="Articles published per second.")] = 200.0,
    seconds: Annotated[float, typer.Option(help="How long to publish.")] = 60.0,
    quick: Annotated[bool, typer.Option(help="Publish for 20 s only.")] = False,
    topic: Annotated[
        bool, typer.Option(help="Also read every alert's events from the topic.")
    ] = True,
    report: Annotated[
        Path | None, typer.Option(help="JSON report (default docs/reports/bench-alerts-<date>).")
    ] = None,
) -> None:
    """Saved searches under a steady stream: searchable/publish to SSE event, misses, CPU, RSS."""
    from datetime import UTC, datetime

    from services.bench.alerts_load import AlertsPlan, run

    plan = AlertsPlan(alerts=alerts, streams=streams, rate=rate, seconds=seconds, read_topic=topic)
    if quick:
        plan = AlertsPlan(**{**plan.__dict__, "seconds": AlertsPlan.quick().seconds})
    day = datetime.now(UTC).date().isoformat()
    path = report or Path(f"docs/reports/bench-alerts{'-quick' if quick else ''}-{day}.json")
    try:
        result = _measured(path, lambda s, work: run(s, plan, work))
    except StackError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(code=1) from exc
    print_alerts(result)
    console.print(f"report: {path}")


def print_alerts(report: dict[str, Any]) -> None:
    """The alerts bench's figures and issue 17's verdict as tables on stdout."""
    plan = report["plan"]
    title = (
        f"newswire bench alerts ({plan['alerts']:,} alerts, {plan['articles']:,} articles "
        f"at {plan['rate']:.0f}/s)"
    )
    table = Table("figure", "p50", "p95", "p99", "max", "count", title=title)
    rows = [("publish to searchable (bench poll)", report["freshness_s"])]
    for key, label in (
        ("searchable_to_event_s", "searchable to SSE event"),
        ("publish_to_event_s", "publish to SSE event"),
        ("matcher_searchable_to_emitted_s", "matcher: its searchable to emitted"),
        ("emitted_to_received_s", "emitted to SSE received"),
    ):
        rows.append((label, report["streamed"]["latency"][key]))
    for label, fig in rows:
        cells = [f"{fig[k]:.3f}" if k in fig else "-" for k in ("p50", "p95", "p99", "max")]
        table.add_row(label, *cells, str(fig["count"]))
    Console().print(table)
    verdict = Table("target", "value", "target", "met", title="issue 17")
    for key, row in report["verdict"].items():
        verdict.add_row(key, str(row["value"]), str(row["target"]), "yes" if row["met"] else "no")
    Console().print(verdict)
    console.print(
        f"alerts CPU {report['alerts_cpu_s_per_1000_articles']:.2f} s per 1,000 articles, "
        f"peak RSS {report['peak_rss_mb']}, CPU s {report['cpu_s']}"
    )
    if es := report.get("elasticsearch"):
        console.print(f"Elasticsearch meanwhile: {es}")
    console.print(f"load before {report['load_before']}, after {report['load_after']}")
    loads = [report[k]["1m"] for k in ("load_before", "load_after")]
    cores = report["load_before"]["cores"] or 1
    if max(loads) > cores:  # the figures then say as much about the neighbours as the code
        console.print(f"[yellow]the machine was loaded ({max(loads)} on {cores} cores)[/]")
