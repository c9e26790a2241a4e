"""Helpers for tests that run the real ingest and indexer against the live stack."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Protocol, Self, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from elasticsearch import AsyncElasticsearch, NotFoundError
from fastapi import FastAPI

from services.bench.procs import child_env
from services.common.article import Article
from services.common.settings import Settings
from services.indexer.consumer import Indexer
from services.ingest.publisher import Publisher


def spawn(module: str, settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """Run ``python -m module`` with ``settings``; output goes to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module], env=child_env(settings), stdout=out, stderr=out
        )


async def publish(settings: Settings, articles: list[Article]) -> None:
    """Publish articles and wait for every ack."""
    async with Publisher(settings) as publisher:
        futures = [await publisher.publish(a) for a in articles]
        await asyncio.gather(*futures)


async def count_docs(es: AsyncElasticsearch, settings: Settings) -> int:
    """Documents behind the alias, after a refresh (0 while the index does not exist yet)."""
    try:
        await es.indices.refresh(index=settings.index_alias)
        reply = await es.count(index=settings.index_alias)
    except NotFoundError:
        return 0
    return int(reply["count"])


async def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll an async predicate until it is truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.25)


class Worker(Protocol):
    """A service's worker: started by ``async with``, run until its stop event is set."""

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc_info: object) -> None: ...
    async def run(self, stop: asyncio.Event) -> None: ...


W = TypeVar("W", bound=Worker)


@contextlib.asynccontextmanager
async def running(worker: W) -> AsyncIterator[W]:
    """``worker`` running in process until the block ends (then stopped cleanly)."""
    stop = asyncio.Event()
    async with worker:
        task = asyncio.create_task(worker.run(stop))
        try:
            yield worker
        finally:
            stop.set()
            await task


def running_indexer(settings: Settings) -> contextlib.AbstractAsyncContextManager[Indexer]:
    """An in-process indexer running until the block ends (then stopped cleanly)."""
    return running(Indexer(settings))


async def read_topic(
    settings: Settings, topic: str, expected: int, timeout: float = 20.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``expected`` records of a topic from the beginning (no group)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


@contextlib.asynccontextmanager
async def asgi_client(
    app: FastAPI, base_url: str = "http://app"
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to ``app`` in-process, its lifespan run around the block."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client,
    ):
        yield client
