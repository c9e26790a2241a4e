"""The indexer: Kafka to Elasticsearch, offsets committed only after every record is written."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError
from elasticsearch import AsyncElasticsearch
from pydantic import ValidationError

from services.common.article import Article
from services.common.clock import parse_iso, utc_now_iso
from services.common.dlq import DeadLetter, fit_for_kafka
from services.common.errors import BatchAbandoned
from services.common.es import make_client
from services.common.kafka import ensure_topics, make_consumer, make_producer, max_message_bytes
from services.common.settings import Settings
from services.indexer import metrics
from services.indexer.bulk import BulkDoc, BulkLimits, BulkWriter
from services.indexer.bulk_target import EsBulkTarget
from services.indexer.mapping import document_source, ensure_index

log = structlog.get_logger(__name__)
# aiokafka ships no type hints: records are plain objects with topic/partition/offset/key/value.
Record = Any


@dataclass
class _Decoded:
    record: Record
    article: Article


class _Revocation(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions move away, let the batch in flight finish and commit (or give up)."""

    def __init__(self, indexer: Indexer) -> None:
        self.indexer = indexer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.indexer.revoking = True
        try:
            async with self.indexer.batch_lock:
                pass
        finally:
            self.indexer.revoking = False
        log.info("partitions revoked", partitions=sorted(tp.partition for tp in revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned", partitions=sorted(tp.partition for tp in assigned))


class Indexer:
    """Consumes the article topic in batches and writes them idempotently to the index alias."""

    def __init__(self, settings: Settings, *, client_id: str = "newswire-indexer") -> None:
        self.settings = settings
        self.client_id = client_id
        self.batch_lock = asyncio.Lock()
        self.revoking = False
        self.last_loop = time.monotonic()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._es: AsyncElasticsearch | None = None
        self._writer: BulkWriter | None = None

    async def __aenter__(self) -> Indexer:
        s = self.settings
        self._es = make_client(s)
        try:
            await ensure_topics(s)
            await ensure_index(self._es, s)
            self._producer = make_producer(s)
            await self._producer.start()
            self._consumer = make_consumer(
                s.kafka_bootstrap,
                group_id=s.indexer_group,
                client_id=self.client_id,
                # Fetch limits count compressed bytes (zstd packs articles 3:1, repetitive ones
                # far more): kept to a few records' worth so memory stays bounded; requests to
                # Elasticsearch are bounded separately, by what is sent (BulkLimits).
                max_partition_fetch_bytes=max_message_bytes(s),
                fetch_max_bytes=max(4 * max_message_bytes(s), s.batch_max_bytes),
                max_poll_records=s.batch_max_docs,
            )
            self._consumer.subscribe([s.topic_articles], listener=_Revocation(self))
            await self._consumer.start()
        except BaseException:
            await self.close()
            raise
        self._writer = BulkWriter(EsBulkTarget(self._es, s.index_alias), BulkLimits.of(s))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Leave the group, flush dead letters, close the client; safe to call twice."""
        consumer, producer, es = self._consumer, self._producer, self._es
        self._consumer = self._producer = self._es = None
        if consumer is not None:
            await consumer.stop()
        if producer is not None:
            await producer.stop()
        if es is not None:
            await es.close()

    @property
    def ready(self) -> bool:
        """Started, with partitions assigned."""
        return self._consumer is not None and bool(self._consumer.assignment())

    async def run(self, stop: asyncio.Event) -> None:
        """Batch, write, commit until ``stop`` is set; the batch in flight is finished first.

        The next batch is fetched while Elasticsearch writes the current one (one write in
        flight, commits in order). While a write is held up, this loop is the only caller of
        ``getmany``: it keeps the member alive with every partition paused.
        """
        assert self._consumer is not None
        carry: list[Record] = []
        while not stop.is_set():
            self.last_loop = time.monotonic()
            batch = carry or await self._collect(stop)
            carry = []
            if not batch:
                await self._update_lag()
                continue
            write = asyncio.create_task(self._process(batch, stop))
            if not stop.is_set():
                carry = await self._collect(stop)
            while not write.done():
                await asyncio.wait({write}, timeout=1.0)
                if not write.done():
                    self.last_loop = time.monotonic()
                    await self._keepalive()
            self._consumer.resume(*self._consumer.assignment())
            if not write.result():
                # Abandoned: read it again from its first offsets, and what came after it too.
                carry = []
                self._rewind(batch)
            await self._update_lag()

    async def _collect(self, stop: asyncio.Event) -> list[Record]:
        """Up to batch_max_docs / batch_max_bytes records, waiting at most batch_max_wait_ms."""
        assert self._consumer is not None
        s = self.settings
        records: list[Record] = []
        size = 0
        deadline = None
        while not stop.is_set():
            wait_ms = 500 if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            got = await self._consumer.getmany(
                timeout_ms=wait_ms, max_records=s.batch_max_docs - len(records)
            )
            for part in got.values():
                records.extend(part)
                size += sum(len(r.value or b"") for r in part)
            if records and deadline is None:
                deadline = time.monotonic() + s.batch_max_wait_ms / 1000
            full = len(records) >= s.batch_max_docs or size >= s.batch_max_bytes
            if full or (deadline is not None and time.monotonic() >= deadline) or not records:
                break
        return records

    async def _process(self, batch: list[Record], stop: asyncio.Event) -> bool:
        """Write, dead-letter and commit one batch; False when it was abandoned (not committed)."""
        async with self.batch_lock:  # a revocation waits for this batch to commit or give up
            return await self._write_and_commit(batch, stop)

    async def _write_and_commit(self, batch: list[Record], stop: asyncio.Event) -> bool:
        assert self._writer is not None
        metrics.CONSUMED.inc(len(batch))
        metrics.BATCH_SIZE.observe(len(batch))
        decoded, dead = self._decode(batch)
        now = utc_now_iso()
        docs = [
            BulkDoc(
                d.article.id,
                d.article.version,
                document_source(d.article, d.record.value, indexed_at=now),
                d.article.content_hash,
            )
            for d in decoded
        ]
        try:
            result = await self._writer.write(
                docs, should_abort=lambda: stop.is_set() or self.revoking
            )
            for failure in result.failures:
                record = decoded[failure.position].record
                dead.append(self._dead_letter(record, failure.code, failure.reason))
            await self._send_dead_letters(dead, stop)
        except BatchAbandoned as exc:
            log.warning("batch abandoned, not committed", reason=str(exc), records=len(batch))
            return False
        self._record_success(decoded, result.indexed, result.stale, len(result.failures))
        await self._commit(batch)
        return True

    def _decode(self, batch: list[Record]) -> tuple[list[_Decoded], list[DeadLetter]]:
        """Split into articles to write and poison records (not JSON, not the contract)."""
        decoded: list[_Decoded] = []
        dead: list[DeadLetter] = []
        for record in batch:
            try:
                article = Article.model_validate_json(record.value or b"")
            except ValidationError as exc:
                first = exc.errors()[0]
                code = "not_json" if first["type"] == "json_invalid" else "invalid_article"
                dead.append(self._dead_letter(record, code, str(exc).splitlines()[0][:500]))
                continue
            decoded.append(_Decoded(record, article))
        return decoded, dead

    def _dead_letter(self, record: Record, code: str, message: str) -> DeadLetter:
        source = f"kafka:{record.topic}/{record.partition}@{record.offset}"
        return DeadLetter(record.value or b"", code, message, source, "indexer", key=record.key)

    async def _send_dead_letters(self, dead: list[DeadLetter], stop: asyncio.Event) -> None:
        """Produce every dead letter and wait for the acks: only then may offsets move on.

        Retriable Kafka errors are retried until shutdown; a letter the broker refuses for good
        (too large once the reason's headers are added) is sent again cut to fit, marked so.
        """
        assert self._producer is not None
        attempt = 0
        while dead:
            try:
                await asyncio.gather(*[await self._send_one(d) for d in dead])
            except KafkaError as exc:
                if not exc.retriable:
                    dead = [fit_for_kafka(d, max_message_bytes(self.settings)) for d in dead]
                attempt += 1
                if stop.is_set() or self.revoking:
                    raise BatchAbandoned(f"dead letters not acknowledged: {exc!r}") from exc
                await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
                continue
            for d in dead:
                metrics.DLQ.labels(code=d.code).inc()
                log.warning("dead-lettered", code=d.code, source=d.source, reason=d.message)
            return

    async def _send_one(self, letter: DeadLetter) -> asyncio.Future[object]:
        assert self._producer is not None
        future: asyncio.Future[object] = await self._producer.send(
            self.settings.topic_dlq, letter.payload, key=letter.key, headers=letter.headers()
        )
        return future

    def _record_success(
        self, decoded: list[_Decoded], indexed: int, stale: int, failed: int
    ) -> None:
        metrics.INDEXED.inc(indexed)
        metrics.STALE.inc(stale)
        metrics.FAILED.inc(failed)
        now = parse_iso(utc_now_iso())
        for item in decoded:
            metrics.E2E_SECONDS.observe(max(0.0, (now - item.article.ingested_at).total_seconds()))

    async def _commit(self, batch: list[Record]) -> None:
        """Commit ``last offset + 1`` per partition: every record up to it is written or DLQ'd."""
        assert self._consumer is not None
        offsets: dict[TopicPartition, int] = {}
        for record in batch:
            tp = TopicPartition(record.topic, record.partition)
            offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
        owned = self._consumer.assignment()
        offsets = {tp: off for tp, off in offsets.items() if tp in owned}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError as exc:
            # A rebalance took the partitions: the new owner re-reads from the last commit and
            # the external versions make those writes no-ops. Nothing is lost or skipped.
            metrics.COMMITS_FAILED.inc()
            log.warning("commit refused after rebalance", error=str(exc))

    def _rewind(self, batch: list[Record]) -> None:
        """After an abandoned batch, seek back so the records are read again (never skipped)."""
        assert self._consumer is not None
        first: dict[TopicPartition, int] = {}
        for record in batch:
            tp = TopicPartition(record.topic, record.partition)
            first[tp] = min(first.get(tp, record.offset), record.offset)
        owned = self._consumer.assignment()
        for tp, offset in first.items():
            if tp in owned:
                self._consumer.seek(tp, offset)

    async def _keepalive(self) -> None:
        """While a write is held up: pause fetching (no unbounded buffer), stay in the group.

        Polling with every partition paused returns nothing but tells the group coordinator
        that this member is alive (max_poll_interval_ms); ``run`` resumes them afterwards.
        """
        assert self._consumer is not None
        self._consumer.pause(*self._consumer.assignment())
        stray = await self._consumer.getmany(timeout_ms=0)
        for tp, records in stray.items():  # partitions assigned meanwhile: read them again later
            self._consumer.seek(tp, records[0].offset)

    async def _update_lag(self) -> None:
        assert self._consumer is not None
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            if high is None:
                continue
            position = await self._consumer.position(tp)
            metrics.LAG.labels(partition=str(tp.partition)).set(max(0, high - position))

    def status(self) -> dict[str, Any]:
        """A small self-description for /readyz."""
        assignment = self._consumer.assignment() if self._consumer else set()
        return {"partitions": sorted(tp.partition for tp in assignment)}
