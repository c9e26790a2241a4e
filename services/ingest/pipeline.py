"""Inputs to Kafka: parse, publish or dead-letter, count; bounded memory whatever the input size."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from services.common.article import Article
from services.common.dlq import DeadLetter
from services.common.errors import ArticleRejected
from services.ingest import metrics
from services.ingest.ledger import Ledger, payload_key
from services.ingest.parser import parse_article, parse_json_article
from services.ingest.publisher import Delivery, Publisher

log = structlog.get_logger(__name__)

# How many records may wait for their ack at once: keeps memory flat for any number of inputs.
WINDOW = 2000
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

    def parse(self, item: Item) -> Article:
        """Parse one input; raises ArticleRejected."""
        if item.json:
            return parse_json_article(item.data, source=item.source, max_bytes=self.max_bytes)
        return parse_article(item.data, source=item.source, max_bytes=self.max_bytes)

    async def submit(self, item: Item, *, trace_id: str | None = None) -> Article | None:
        """Publish one input (or dead-letter it); returns the article when it was accepted."""
        try:
            if item.error is not None:
                raise ArticleRejected("unreadable", item.error, source=item.source)
            article = self.parse(item)
        except ArticleRejected as exc:
            await self._reject(item, exc)
            return None
        key = article_key(article)
        if not self.force and self.ledger is not None and self.ledger.seen(key):
            self.summary.already_seen += 1
            metrics.ALREADY_SEEN.inc()
            return article
        future = await self.publisher.publish(article, trace_id=trace_id)
        await self._track(future, key, accepted=True)
        return article

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
