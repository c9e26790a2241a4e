"""``newswire up|down|status|init|reindex|rebuild``: the stack and the services on this machine."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import typer
from elasticsearch import AsyncElasticsearch
from rich.console import Console
from rich.table import Table

from services.cli.keys import ApiKey, resolve_api_key
from services.common.errors import NewswireError, StackError
from services.common.kafka import ensure_topics
from services.common.settings import Settings, get_settings
from services.ingest.parser import parse_path
from services.stack.local_stack import LocalStack, with_shape
from services.stack.process import ManagedProcess, port_in_use, tail
from services.stack.readiness import wait_ready

console = Console(stderr=True)
SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@dataclass(frozen=True)
class Service:
    """One of our four services, run as ``python -m services.<name>``."""

    name: str
    port: int
    process: ManagedProcess

    @property
    def url(self) -> str:
        """Where it answers."""
        return f"http://127.0.0.1:{self.port}"


def services(settings: Settings) -> list[Service]:
    """The services in start order (the API last: it reports on the others)."""
    run = settings.state_dir / "run"
    ports = {
        "ingest": settings.ingest_port,
        "indexer": settings.indexer_port,
        "alerts": settings.alerts_port,
        "api": settings.api_port,
    }
    return [
        Service(name, port, ManagedProcess(name, run / f"{name}.pid", run / f"{name}.log"))
        for name, port in ports.items()
    ]


async def initialise(settings: Settings) -> None:
    """Create the topics and the index behind its alias (idempotent)."""
    # Imported here: the Elasticsearch client costs every other command half a second to load.
    from services.common.es import es_client
    from services.indexer.mapping import ensure_index

    await ensure_topics(settings)
    async with es_client(settings) as es:
        await ensure_index(es, settings)


def init() -> None:
    """Create Kafka topics and the Elasticsearch index and alias; safe to run again."""
    try:
        asyncio.run(initialise(get_settings()))
    except NewswireError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(code=1) from exc
    console.print("topics and index ready")


def _wait_ready(service: Service, timeout: float) -> None:
    state = wait_ready(service.url, timeout, alive=lambda: service.process.pid() is not None)
    if state != "ready":
        raise StackError(
            service.name,
            "not ready:\n" + tail(service.process.log_file, 12),
            log_file=str(service.process.log_file),
        )


def start_services(settings: Settings, api_key: ApiKey) -> None:
    """Start each service that is not running (with the API key), then wait until each is ready."""
    env = {
        **os.environ,
        "NEWSWIRE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "NEWSWIRE_ES_URL": settings.es_url,
        "NEWSWIRE_ES_HOSTS": settings.es_hosts,
        "NEWSWIRE_API_KEY": api_key.value,
    }
    for service in services(settings):
        if service.process.pid() is not None:
            continue
        if port_in_use(service.port):
            raise StackError(service.name, f"port {service.port} is already in use")
        argv = [sys.executable, "-m", f"services.{service.name}"]
        service.process.start(argv, env=env, cwd=Path.cwd())
        _wait_ready(service, settings.stack_timeout_s)


def _wait_searchable(settings: Settings, ids: set[str], timeout: float = 60.0) -> int:
    """Wait until these article ids are searchable; returns how many are."""
    deadline = time.monotonic() + timeout
    found = 0
    query = {"query": {"ids": {"values": sorted(ids)}}}
    while time.monotonic() < deadline:
        try:
            reply = httpx.post(
                f"{settings.es_url}/{settings.index_alias}/_count", json=query, timeout=3
            )
            found = int(reply.json().get("count", 0))
        except (httpx.HTTPError, ValueError):
            found = 0
        if found >= len(ids):
            break
        time.sleep(0.5)
    return found


def up(
    monitoring: Annotated[
        bool, typer.Option(help="Print how to run Prometheus against the services.")
    ] = False,
) -> None:
    """Start Kafka, Elasticsearch and the services, ingest seeds/, print the URLs."""
    from services.cli.ingest import ingest_paths

    settings = with_shape(get_settings())
    try:
        api_key = resolve_api_key(settings)
        with console.status("starting Kafka and Elasticsearch..."):
            LocalStack(settings).up()
        with console.status("creating topics and index..."):
            asyncio.run(initialise(settings))
        with console.status("starting ingest, indexer, alerts and api..."):
            start_services(settings, api_key)
        summary = ingest_paths([SEEDS], force=True, quiet=True)
        # Every seed, the judged relevance suite in seeds/relevance/ included.
        seed_ids = {parse_path(path).id for path in sorted(SEEDS.rglob("*.txt"))}
        with console.status("waiting until the seeds are searchable..."):
            found = _wait_searchable(settings, seed_ids)
    except NewswireError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(code=1) from exc
    if monitoring:
        console.print(
            "[yellow]monitoring:[/] run Prometheus with deploy/prometheus/prometheus.local.yml"
        )
    console.print(
        f"seeds: {summary.published} published, {summary.rejected} rejected, "
        f"{found} of {len(seed_ids)} articles searchable"
    )
    for service in services(settings):
        console.print(f"{service.name:<8} {service.url}  (log {service.process.log_file})")
    console.print(f"API docs  http://127.0.0.1:{settings.api_port}/docs")
    console.print(_key_note(api_key))


def _key_note(api_key: ApiKey) -> str:
    """Where the ingest key is (never the key itself: terminals are scrolled back and shared)."""
    if api_key.path is None:
        return "ingest key: NEWSWIRE_API_KEY as you set it (send 'Authorization: Bearer <key>')"
    return (
        f"ingest key: in {api_key.path} (mode 600); post with "
        f'-H "Authorization: Bearer $(cat {api_key.path})"'
    )


def down() -> None:
    """Stop the services, then Kafka and Elasticsearch; no process is left behind."""
    settings = with_shape(get_settings())
    stopped = [s.name for s in reversed(services(settings)) if s.process.stop()]
    stopped += LocalStack(settings).down()
    console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


def status() -> None:
    """Each process (up/down, pid, port) and the pipeline status from the API."""
    settings = with_shape(get_settings())
    table = Table("process", "state", "pid", "port")
    rows = LocalStack(settings).status()
    for row in rows:
        table.add_row(row.name, "up" if row.up else "down", str(row.pid or "-"), str(row.port))
    for service in services(settings):
        pid = service.process.pid()
        table.add_row(service.name, "up" if pid else "down", str(pid or "-"), str(service.port))
    Console().print(table)
    try:
        reply = httpx.get(f"http://127.0.0.1:{settings.api_port}/v1/pipeline/status", timeout=5)
        Console().print_json(reply.text)
    except httpx.HTTPError as exc:
        console.print(f"[yellow]pipeline status unavailable:[/] {exc}")


def _index_job(job: Callable[[AsyncElasticsearch, Settings], Awaitable[str]]) -> None:
    """Run one job that makes a new index behind the alias, and print what it did."""
    from services.common.es import es_client

    async def run() -> str:
        async with es_client(get_settings(), timeout=120) as es:
            return await job(es, get_settings())

    try:
        console.print(asyncio.run(run()) + "; the old index is kept (delete it when satisfied)")
    except NewswireError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(code=1) from exc


def reindex_command() -> None:
    """Build the next versioned index, copy every document, swap the alias (no downtime)."""
    from services.indexer.reindex import reindex

    async def job(es: AsyncElasticsearch, settings: Settings) -> str:
        result = await reindex(es, settings)
        return (
            f"{result.old} -> {result.new}: {result.copied} copied, {result.caught_up} caught up, "
            f"{result.backfilled} given an embedding and a story"
        )

    _index_job(job)


def rebuild_command() -> None:
    """Make the index again from the article topic (its system of record), swap the alias."""
    from services.indexer.rebuild import rebuild

    async def job(es: AsyncElasticsearch, settings: Settings) -> str:
        result = await rebuild(es, settings)
        return (
            f"{result.old} -> {result.new}: {result.replayed} records replayed, "
            f"{result.written} written, {result.refused} refused (dead-lettered when first indexed)"
        )

    _index_job(job)
