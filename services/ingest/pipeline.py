"""Inputs to Kafka: parse, publish or dead-letter, count; bounded memory whatever the input size."""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from services.common.article import Article
from services.common.dlq import DeadLetter
from services.common.errors import ArticleRejected
from services.ingest import metrics
from services.ingest.ledger import Ledger, payload_key
from services.ingest.parser import parse_article, parse_json_article
from services.ingest.publisher import Delivery, Publisher, article_headers

log = structlog.get_logger(__name__)

# How many records may wait for their ack at once: keeps memory flat for any number of inputs.
WINDOW = 2000
CHUNK = 250  # files per task handed to a parsing worker
SKIP_SUFFIXES = (".tmp", ".part", ".swp", "~")


@dataclass
class Summary:
    """What one ingest run did."""

    published: int = 0
    rejected: int = 0
    already_seen: int = 0
    rejects: list[tuple[str, str]] = field(default_factory=list)  # (source, code), first 100

    def as_dict(self) -> dict[str, int]:
        """The counts, for JSON output."""
        return {
            "published": self.published,
            "rejected": self.rejected,
            "already_seen": self.already_seen,
        }


@dataclass(frozen=True)
class Item:
    """One input: raw bytes and where they came from; ``json`` for JSON Lines/HTTP JSON."""

    data: bytes
    source: str
    json: bool = False
    error: str | None = None  # the input could not even be read


@dataclass(frozen=True)
class Prepared:
    """An accepted article already serialised (by a parsing worker): cheap to ship and send."""

    id: str
    ledger_key: str
    value: bytes
    headers: list[tuple[str, bytes]]


def prepare(article: Article) -> Prepared:
    """Serialise once, where the parsing happens."""
    return Prepared(
        article.id,
        article_key(article),
        article.model_dump_json().encode(),
        article_headers(article, None),
    )


def article_key(article: Article) -> str:
    """Ledger key of one version of an article."""
    return f"{article.id}@{article.version}:{article.content_hash}"


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and files under directories named (recursive, sorted, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and not name.endswith(SKIP_SUFFIXES):
                        yield Path(root) / name
        else:
            yield path


class Ingester:
    """Parses inputs and publishes them, remembering what was acknowledged in a ledger."""

    def __init__(self, publisher: Publisher, ledger: Ledger | None, *, force: bool = False) -> None:
        self.publisher = publisher
        self.ledger = ledger
        self.force = force
        self.max_bytes = publisher.settings.max_article_bytes
        self.summary = Summary()
        self.last_rejection: ArticleRejected | None = None
        self._pending: list[tuple[Delivery, str, bool]] = []

    async def submit(self, item: Item, *, trace_id: str | None = None) -> Article | None:
        """Publish one input (or dead-letter it); returns the article when it was accepted."""
        return await self.publish_parsed(item, parse_item(item, self.max_bytes), trace_id=trace_id)

    async def publish_parsed(
        self, item: Item, parsed: Article | ArticleRejected, *, trace_id: str | None = None
    ) -> Article | None:
        """Publish an article parsed elsewhere, or dead-letter its rejection."""
        if isinstance(parsed, ArticleRejected):
            await self._reject(item, parsed)
            return None
        if self._seen(article_key(parsed)):
            return parsed
        future = await self.publisher.publish(parsed, trace_id=trace_id)
        await self._track(future, article_key(parsed), accepted=True)
        return parsed

    async def publish_prepared(self, item: Item, prepared: Prepared | ArticleRejected) -> None:
        """Publish what a worker parsed and serialised, or dead-letter its rejection."""
        if isinstance(prepared, ArticleRejected):
            await self._reject(item, prepared)
        elif not self._seen(prepared.ledger_key):
            future = await self.publisher.send_raw(
                prepared.id.encode(), prepared.value, prepared.headers
            )
            await self._track(future, prepared.ledger_key, accepted=True)

    def _seen(self, key: str) -> bool:
        if self.force or self.ledger is None or not self.ledger.seen(key):
            return False
        self.summary.already_seen += 1
        metrics.ALREADY_SEEN.inc()
        return True

    async def _reject(self, item: Item, exc: ArticleRejected) -> None:
        self.last_rejection = exc
        key = payload_key(item.data)
        metrics.REJECTED.labels(code=exc.code).inc()
        if not self.force and self.ledger is not None and self.ledger.seen(key):
            self.summary.already_seen += 1
            return
        letter = DeadLetter(item.data, exc.code, exc.message, item.source, "ingest")
        future = await self.publisher.dead_letter(letter)
        await self._track(future, key, accepted=False)
        if len(self.summary.rejects) < 100:
            self.summary.rejects.append((item.source, exc.code))
        log.info("rejected", source=item.source, code=exc.code, reason=exc.message)

    async def _track(self, future: Delivery, key: str, *, accepted: bool) -> None:
        self._pending.append((future, key, accepted))
        if len(self._pending) >= WINDOW:
            await self.drain()

    async def drain(self) -> None:
        """Wait for every pending ack, count it and record it in the ledger."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        await asyncio.gather(*(f for f, _, _ in pending))
        for _, _, accepted in pending:
            if accepted:
                self.summary.published += 1
            else:
                self.summary.rejected += 1
        metrics.PUBLISHED.inc(sum(1 for p in pending if p[2]))
        if self.ledger is not None:
            self.ledger.add(key for _, key, _ in pending)

    async def ingest_files(
        self,
        paths: Iterable[Path],
        *,
        workers: int = 1,
        on_progress: Callable[[int], object] | None = None,
    ) -> Summary:
        """Ingest files, parsing on ``workers`` processes while this one publishes in order."""
        if workers <= 1:
            for path in paths:
                await self.submit(read_item(path, self.max_bytes))
                if on_progress is not None:
                    on_progress(1)
            await self.drain()
            return self.summary
        loop = asyncio.get_running_loop()
        in_flight: deque[asyncio.Future[list[tuple[Item, Prepared | ArticleRejected]]]] = deque()
        with ProcessPoolExecutor(workers) as pool:
            for chunk in _chunks(paths, CHUNK):
                in_flight.append(loop.run_in_executor(pool, parse_files, chunk, self.max_bytes))
                # A bounded number of chunks in flight keeps memory flat for any number of files.
                if len(in_flight) >= 2 * workers:
                    await self._publish_chunk(await in_flight.popleft(), on_progress)
            while in_flight:
                await self._publish_chunk(await in_flight.popleft(), on_progress)
        await self.drain()
        return self.summary

    async def _publish_chunk(
        self,
        results: list[tuple[Item, Prepared | ArticleRejected]],
        on_progress: Callable[[int], object] | None,
    ) -> None:
        for item, prepared in results:
            await self.publish_prepared(item, prepared)
        if on_progress is not None:
            on_progress(len(results))

    async def run(self, items: AsyncIterator[Item] | Iterable[Item]) -> Summary:
        """Submit every item, then wait for all acks."""
        if isinstance(items, AsyncIterator):
            async for item in items:
                await self.submit(item)
        else:
            for item in items:
                await self.submit(item)
        await self.drain()
        return self.summary


def parse_item(item: Item, max_bytes: int) -> Article | ArticleRejected:
    """Parse one input, returning the rejection instead of raising it."""
    try:
        if item.error is not None:
            raise ArticleRejected("unreadable", item.error, source=item.source)
        if item.json:
            return parse_json_article(item.data, source=item.source, max_bytes=max_bytes)
        return parse_article(item.data, source=item.source, max_bytes=max_bytes)
    except ArticleRejected as exc:
        return exc


def parse_files(paths: list[Path], max_bytes: int) -> list[tuple[Item, Prepared | ArticleRejected]]:
    """Read, parse and serialise files (in a worker process); only rejects keep their bytes."""
    results: list[tuple[Item, Prepared | ArticleRejected]] = []
    for path in paths:
        item = read_item(path, max_bytes)
        parsed = parse_item(item, max_bytes)
        if isinstance(parsed, ArticleRejected):
            results.append((item, parsed))
        else:
            results.append((Item(b"", item.source), prepare(parsed)))
    return results


def _chunks(paths: Iterable[Path], size: int) -> Iterator[list[Path]]:
    chunk: list[Path] = []
    for path in paths:
        chunk.append(path)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_item(path: Path, max_bytes: int) -> Item:
    """Read a file as an Item; unreadable or oversized files still become an Item to reject."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            # Read one byte past the limit: enough for the parser to say "too large".
            data = fh.read(max_bytes + 1) if size > max_bytes else fh.read()
    except OSError as exc:
        return Item(b"", str(path), error=f"cannot read {path}: {exc.strerror or exc}")
    return Item(data, str(path))
