"""``newswire rebuild``: the index made again from the article topic, its system of record.

The topic is compacted per article id, so it holds each article's last event: its newest
version, or the kill that ended it. Replaying it into a fresh index (records in topic order,
external versions deciding) reproduces the searchable state; the alias then moves to the new
index at once, and a second pass replays whatever arrived during the first.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from elasticsearch import AsyncElasticsearch

from services.common.clock import utc_now_iso
from services.common.embedding import Embedder
from services.common.errors import ConfigError
from services.common.kafka import boundary, make_admin, make_consumer
from services.common.settings import Settings
from services.indexer.bulk import BulkWriter
from services.indexer.history import as_versions, versions_writer
from services.indexer.records import Record, bulk_docs, decode
from services.indexer.reindex import next_versioned, swap_alias
from services.indexer.stories import StoryAssigner

Offsets = dict[TopicPartition, int]


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild did."""

    old: str
    new: str
    replayed: int
    written: int
    refused: int


@dataclass
class _Tally:
    replayed: int = 0
    written: int = 0
    refused: int = 0
    stories: StoryAssigner | None = None  # stories assigned again, as the indexer does
    # The second pass keeps what it writes as versions too: see ``rebuild``.
    versions: BulkWriter | None = None


async def _replay(
    settings: Settings, writer: BulkWriter, start: Offsets | None, tally: _Tally
) -> Offsets:
    """Write the topic's records from ``start`` (the beginning) to its end as of now."""
    consumer = make_consumer(settings.kafka_bootstrap, group_id=None, fetch_max_bytes=16 << 20)
    with boundary(f"cannot replay {settings.topic_articles}"):
        partitions = await _partitions(settings)
        await consumer.start()
        try:
            consumer.assign(partitions)
            ends: Offsets = await consumer.end_offsets(partitions)
            for tp in partitions:
                if start is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, start.get(tp, 0))
            while await _behind(consumer, ends):
                fetched = await consumer.getmany(
                    timeout_ms=1000, max_records=settings.batch_max_docs
                )
                # One write per fetch, all partitions together: stories are assigned in ingest
                # order across them, as the indexer does with a batch.
                records = [r for tp, rs in fetched.items() for r in rs if r.offset < ends[tp]]
                if records:
                    await _write(writer, records, tally)
        finally:
            await consumer.stop()
    return ends


async def _partitions(settings: Settings) -> list[TopicPartition]:
    """The article topic's partitions (a consumer without a group learns none by itself)."""
    admin = make_admin(settings.kafka_bootstrap)
    try:
        await admin.start()
        [described] = await admin.describe_topics([settings.topic_articles])
    finally:
        await admin.close()
    if described.get("error_code", 0) != 0:
        raise ConfigError(f"topic {settings.topic_articles!r} does not exist")
    numbers = sorted(p["partition"] for p in described["partitions"])
    return [TopicPartition(settings.topic_articles, n) for n in numbers]


async def _behind(consumer: AIOKafkaConsumer, ends: Offsets) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False


async def _write(writer: BulkWriter, records: list[Record], tally: _Tally) -> None:
    decoded, dead = decode(records)
    stories = await tally.stories.assign(decoded) if tally.stories and decoded else {}
    docs = bulk_docs(decoded, indexed_at=utc_now_iso(), stories=stories)
    result = await writer.write(docs, should_abort=lambda: False)
    if tally.versions is not None:
        await tally.versions.write(
            as_versions(decoded, docs, {f.position for f in result.failures}),
            should_abort=lambda: False,
        )
    if tally.stories is not None:
        # The next fetch's stories are looked up among this one's (knn reads refreshed).
        await tally.stories.es.indices.refresh(index=tally.stories.index)
    tally.replayed += len(records)
    tally.written += result.indexed
    # Dead letters were sent when the records were first indexed: counted here, not sent again.
    tally.refused += len(dead) + len(result.failures)


async def rebuild(es: AsyncElasticsearch, settings: Settings) -> Rebuilt:
    """Replay the article topic into a new versioned index and point the alias at it."""
    old, writer = await next_versioned(es, settings)
    new = writer.target.index
    async with Embedder() as embedder:
        stories = (
            StoryAssigner(es, new, embedder, settings, kept_from=old)
            if settings.stories_enabled
            else None
        )
        tally = _Tally(stories=stories)
        ends = await _replay(settings, writer, None, tally)
        await swap_alias(es, settings.index_alias, old, new)
        # What the running indexer wrote to the old index meanwhile is in the topic after
        # ``ends``. The indexer, writing to the new index since the swap, may supersede such a
        # version there before this pass writes it (then stale, in neither index): each is
        # kept as a version too (the API lists a version once).
        tally.versions = versions_writer(es, settings)
        await _replay(settings, writer, ends, tally)
    return Rebuilt(old, new, tally.replayed, tally.written, tally.refused)
