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
from services.common.errors import ArticleRejected, KafkaUnavailable, NewswireError
from services.common.kafka import max_record_bytes
from services.common.settings import Settings
from services.ingest import metrics
from services.ingest.dates import check_not_future
from services.ingest.ledger import Ledger, payload_key
from services.ingest.parser import parse_article, parse_json_article
from services.ingest.publisher import Delivery, Publisher, article_headers
from services.ingest.readers import Signature, read_file, skip_label

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
    skipped: int = 0
    rejects: list[tuple[str, str]] = field(default_factory=list)  # (source, code), first 100
    skips: list[tuple[str, str]] = field(default_factory=list)  # (source, reason), first 100

    def as_dict(self) -> dict[str, int]:
        """The counts, for JSON output."""
        return {
            "published": self.published,
            "rejected": self.rejected,
            "already_seen": self.already_seen,
            "skipped": self.skipped,
        }

    def note_reject(self, source: str, code: str) -> None:
        """Remember a rejected input (the first 100, for the report)."""
        if len(self.rejects) < 100:
            self.rejects.append((source, code))

    def note_skip(self, source: str, reason: str) -> None:
        """Count a skipped entry, remembering the first 100."""
        self.skipped += 1
        if len(self.skips) < 100:
            self.skips.append((source, reason))


@dataclass(frozen=True)
class Item:
    """One input: raw bytes and where they came from; ``json`` for JSON Lines/HTTP JSON."""

    data: bytes
    source: str
    json: bool = False
    error: str | None = None  # the input could not even be read
    skipped: str | None = None  # not an input at all (a link, a FIFO...): why; never published
    signature: Signature | None = None  # of the file read (size, mtime), for the watch folder


@dataclass(frozen=True)
class Prepared:
    """An accepted article already serialised (by a parsing worker): cheap to ship and send."""

    id: str
    ledger_key: str
    value: bytes
    headers: list[tuple[str, bytes]]


def prepare(article: Article, *, limit: int, source: str, trace_id: str | None = None) -> Prepared:
    """Serialise once, where the parsing happens; a record over ``limit`` bytes is too_large.

    The limit applies to the record Kafka gets (key + value + headers): JSON escapes a control
    character into 6 bytes and a quote into 2, and derived fields add to the source text.
    """
    value = article.model_dump_json().encode()
    headers = article_headers(article, trace_id)
    size = len(article.id) + len(value) + sum(len(n) + len(v) for n, v in headers)
    if size > limit:
        raise ArticleRejected(
            "too_large",
            f"its Kafka record would be {size} bytes (JSON escaping and derived fields count), "
            f"over the {limit}-byte limit",
            source=source,
        )
    return Prepared(article.id, article_key(article), value, headers)


def article_key(article: Article) -> str:
    """Ledger key of one version of an article."""
    return f"{article.id}@{article.version}:{article.content_hash}"


def wanted(name: str) -> bool:
    """Whether a file name is an input: writers that rename into place use hidden or temp names."""
    return not name.startswith(".") and not name.endswith(SKIP_SUFFIXES)


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and files under directories named (recursive, sorted, hidden ones skipped).

    A path named is taken as the user gave it (a link named is resolved); under a directory no
    link is followed: links are yielded as links, for the reader to skip with its reason.
    """
    for path in paths:
        if path.is_dir():
            yield from walk(path)
        else:
            yield Path(os.path.realpath(path)) if path.is_symlink() else path


def walk(folder: Path) -> Iterator[Path]:
    """Entries under ``folder``, sorted; linked directories are yielded, never entered."""
    # os.walk(followlinks=False) lists a linked directory among dirs but does not enter it.
    for root, dirs, files in os.walk(folder, followlinks=False):
        here = Path(root)
        links = [d for d in dirs if (here / d).is_symlink()]
        dirs[:] = sorted(d for d in dirs if wanted(d) and d not in links)
        for name in sorted(files + links):
            if wanted(name):
                yield here / name


class Ingester:
    """Parses inputs and publishes them, remembering what was acknowledged in a ledger."""

    def __init__(self, publisher: Publisher, ledger: Ledger | None, *, force: bool = False) -> None:
        self.publisher = publisher
        self.ledger = ledger
        self.force = force
        self.limits = InputLimits.of(publisher.settings)
        self.max_bytes = self.limits.max_bytes
        self.record_limit = self.limits.record_limit
        self.summary = Summary()
        self.last_rejection: ArticleRejected | None = None
        self._pending: list[tuple[Delivery, str, bool]] = []

    async def submit(self, item: Item, *, trace_id: str | None = None) -> Article | None:
        """Publish one input (or dead-letter it); returns the article when it was accepted."""
        # No input may stop the caller: a bug on one is its internal_error dead letter; only
        # our own errors (KafkaUnavailable above all) propagate.
        if item.skipped is not None:
            self.skip(item.source, item.skipped)
            return None
        try:
            parsed = parse_item(item, self.limits)
            return await self.publish_parsed(item, parsed, trace_id=trace_id)
        except NewswireError:
            raise
        except Exception as exc:
            log.exception("internal_error", source=item.source)
            await self._reject(item, internal_error(exc, item.source))
            return None

    async def publish_parsed(
        self, item: Item, parsed: Article | ArticleRejected, *, trace_id: str | None = None
    ) -> Article | None:
        """Publish an article parsed elsewhere, or dead-letter its rejection."""
        if isinstance(parsed, ArticleRejected):
            await self._reject(item, parsed)
            return None
        try:
            prepared = prepare(
                parsed, limit=self.record_limit, source=item.source, trace_id=trace_id
            )
        except ArticleRejected as exc:
            await self._reject(item, exc)
            return None
        await self.publish_prepared(item, prepared)
        return parsed

    async def publish_prepared(self, item: Item, prepared: Prepared | ArticleRejected) -> None:
        """Publish what a worker parsed and serialised, or dead-letter its rejection."""
        if item.skipped is not None:
            self.skip(item.source, item.skipped)
        elif isinstance(prepared, ArticleRejected):
            await self._reject(item, prepared)
        elif not self._seen(prepared.ledger_key):
            future = await self.publisher.send_raw(
                prepared.id.encode(), prepared.value, prepared.headers
            )
            await self._track(future, prepared.ledger_key, accepted=True)

    def skip(self, source: str, reason: str) -> None:
        """Count and log an entry that is not an input (a link, a FIFO...); nothing is sent."""
        self.summary.note_skip(source, reason)
        metrics.SKIPPED.labels(reason=skip_label(reason)).inc()
        log.warning("skipped", source=source, reason=reason)

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
        # Dead letters have the same record limit: an oversized input keeps its first bytes.
        payload = item.data[: self.max_bytes + 1]
        letter = DeadLetter(payload, exc.code, exc.message, item.source, "ingest")
        future = await self.publisher.dead_letter(letter)
        await self._track(future, key, accepted=False)
        self.summary.note_reject(item.source, exc.code)
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
        results = await asyncio.gather(*(f for f, _, _ in pending), return_exceptions=True)
        acked = [
            p for p, r in zip(pending, results, strict=True) if not isinstance(r, BaseException)
        ]
        for _, _, accepted in acked:
            if accepted:
                self.summary.published += 1
            else:
                self.summary.rejected += 1
        metrics.PUBLISHED.inc(sum(1 for p in acked if p[2]))
        if self.ledger is not None:
            self.ledger.add(key for _, key, _ in acked)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            # What was acknowledged is recorded above: a rerun sends only the rest.
            raise KafkaUnavailable(
                f"{len(failed)} record(s) not acknowledged: {failed[0]!r}"
            ) from failed[0]

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
        async for results in parsed_in_workers(paths, workers, self.limits):
            for item, prepared in results:
                await self.publish_prepared(item, prepared)
            if on_progress is not None:
                on_progress(len(results))
        await self.drain()
        return self.summary

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


def internal_error(exc: Exception, source: str) -> ArticleRejected:
    """The rejection of an input that hit a bug: dead-lettered so it can be replayed later."""
    return ArticleRejected(
        "internal_error", f"unexpected {type(exc).__name__}: {exc}", source=source
    )


@dataclass(frozen=True)
class InputLimits:
    """What an input may be: its size, its record's size, how far ahead its time may lie."""

    max_bytes: int
    record_limit: int
    max_future_s: float

    @classmethod
    def of(cls, settings: Settings) -> InputLimits:
        """The limits the settings give."""
        return cls(
            settings.max_article_bytes, max_record_bytes(settings), settings.max_future_skew_s
        )


def parse_item(item: Item, limits: InputLimits) -> Article | ArticleRejected:
    """Parse one input, returning the rejection instead of raising it."""
    try:
        if item.error is not None:
            raise ArticleRejected("unreadable", item.error, source=item.source)
        if item.json:
            article = parse_json_article(item.data, source=item.source, max_bytes=limits.max_bytes)
        else:
            article = parse_article(item.data, source=item.source, max_bytes=limits.max_bytes)
        check_not_future(
            article.published_date,
            article.updated_at,
            item.source,
            max_future_s=limits.max_future_s,
        )
    except ArticleRejected as exc:
        return exc
    return article


def parse_files(
    paths: list[Path], limits: InputLimits
) -> list[tuple[Item, Prepared | ArticleRejected]]:
    """Read, parse and serialise files (in a worker process); only rejects keep their bytes.

    A skipped entry comes back as its Item (``skipped`` set, which the publisher only counts);
    a bug on one file is that file's ``internal_error``, not the loss of the chunk.
    """
    results: list[tuple[Item, Prepared | ArticleRejected]] = []
    for path in paths:
        item = read_item(path, limits.max_bytes)
        if item.skipped is not None:
            results.append((item, ArticleRejected("skipped", item.skipped, source=item.source)))
            continue
        try:
            parsed = parse_item(item, limits)
            if not isinstance(parsed, ArticleRejected):
                prepared = prepare(parsed, limit=limits.record_limit, source=item.source)
                results.append((Item(b"", item.source), prepared))
                continue
        except ArticleRejected as exc:
            parsed = exc
        except Exception as exc:  # a bug on one file must not lose the whole chunk
            parsed = internal_error(exc, item.source)
        results.append((item, parsed))
    return results


async def parsed_in_workers(
    paths: Iterable[Path], workers: int, limits: InputLimits
) -> AsyncIterator[list[tuple[Item, Prepared | ArticleRejected]]]:
    """Chunks of files read, parsed and serialised on ``workers`` processes, in input order."""
    loop = asyncio.get_running_loop()
    in_flight: deque[asyncio.Future[list[tuple[Item, Prepared | ArticleRejected]]]] = deque()
    with ProcessPoolExecutor(workers) as pool:
        for chunk in _chunks(paths, CHUNK):
            in_flight.append(loop.run_in_executor(pool, parse_files, chunk, limits))
            # A bounded number of chunks in flight keeps memory flat for any number of files.
            if len(in_flight) >= 2 * workers:
                yield await in_flight.popleft()
        while in_flight:
            yield await in_flight.popleft()


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
    """Read a regular file as an Item (links, FIFOs, devices: a skipped Item, never opened)."""
    read = read_file(path, max_bytes)
    return Item(
        read.data, str(path), error=read.error, skipped=read.skipped, signature=read.signature
    )
