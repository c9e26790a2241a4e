"""Kafka for every service: the one boundary of its errors, the clients, topics and probing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import (
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RequestTimedOutError,
    TopicAlreadyExistsError,
)

from services.common.errors import KafkaRefused, KafkaUnavailable, NewswireError, RecordTooLarge
from services.common.settings import Settings

# What the Kafka client raises: its own errors, and the socket's and the clock's beneath them.
FOREIGN: tuple[type[BaseException], ...] = (KafkaError, OSError, TimeoutError)

KafkaRule = tuple[Callable[[BaseException], bool], type[NewswireError], str]

# First match wins. aiokafka's own ``retriable`` decides, except where it is wrong for us: a
# timeout (KafkaTimeoutError says False) is a broker away, not a refusal of the record.
RULES: tuple[KafkaRule, ...] = (
    (
        lambda e: isinstance(e, MessageSizeTooLargeError | RecordTooLargeError),
        RecordTooLarge,
        "the record is over the broker's limit",
    ),
    (
        lambda e: isinstance(e, KafkaTimeoutError | RequestTimedOutError | TimeoutError),
        KafkaUnavailable,
        "Kafka did not answer in time",
    ),
    (
        lambda e: isinstance(e, OSError) or (isinstance(e, KafkaError) and e.retriable),
        KafkaUnavailable,
        "Kafka cannot be reached",
    ),
    (lambda e: isinstance(e, KafkaError), KafkaRefused, "Kafka refused the request"),
)


def convert(exc: BaseException, what: str) -> NewswireError | None:
    """Our error for a Kafka client's exception while doing ``what``; None when not Kafka's."""
    for matches, kind, detail in RULES:
        if matches(exc):
            return kind(f"{what}: {detail} ({exc!r})")
    return None


@contextlib.contextmanager
def boundary(what: str) -> Iterator[None]:
    """Kafka's exceptions raised inside become ours, the cause chained (``raise ... from``)."""
    try:
        yield
    except FOREIGN as exc:
        error = convert(exc, what)
        if error is None:
            raise
        raise error from exc


def make_admin(bootstrap: str, **options: Any) -> AIOKafkaAdminClient:
    """An admin client; the caller starts and closes it."""
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options)


def make_metadata_client(bootstrap: str, **options: Any) -> AIOKafkaClient:
    """A bare cluster client, for metadata only; the caller bootstraps and closes it."""
    return AIOKafkaClient(bootstrap_servers=bootstrap, **options)


def make_consumer(bootstrap: str, *topics: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer of ``topics`` that commits only when told, reading from the first offset.

    A new group must not skip what is already there; ``options`` override either default.
    """
    settings: dict[str, Any] = {"enable_auto_commit": False, "auto_offset_reset": "earliest"}
    return AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, **(settings | options))


async def probe_kafka(bootstrap: str, *, timeout: float = 5.0) -> dict[str, Any]:
    """Ask the cluster for its metadata; raises KafkaUnavailable when it does not answer."""
    admin = make_admin(bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        with boundary(f"Kafka at {bootstrap} does not answer"):
            await asyncio.wait_for(admin.start(), timeout)
            cluster: dict[str, Any] = await asyncio.wait_for(admin.describe_cluster(), timeout)
    finally:
        await admin.close()
    return cluster


def topic_configs(settings: Settings) -> dict[str, str]:
    """Dead-letter topic settings: messages must fit the largest article the ingest accepts."""
    return {
        # The ingest refuses records over max_record_bytes (too_large), so they always fit.
        "max.message.bytes": str(max_message_bytes(settings)),
        "compression.type": "producer",
        "retention.ms": str(7 * 24 * 3600 * 1000),
    }


def article_topic_configs(settings: Settings) -> dict[str, str]:
    """The article topic is the system of record: compacted per article id, never expired.

    Compaction keeps each key's last record (an article's newest event: its newest version,
    or the kill that ended it), so ``newswire rebuild`` can make the index again from it. A
    kill is a record of its own, not a null tombstone: it stays, so a replay still kills and
    a late copy of the article cannot come back.
    """
    return {
        "max.message.bytes": str(max_message_bytes(settings)),
        "compression.type": "producer",
        "cleanup.policy": "compact",
    }


def alert_event_configs() -> dict[str, str]:
    """The alert-event topic: a week of events, so a stream resumes after a long absence."""
    return {"compression.type": "producer", "retention.ms": str(7 * 24 * 3600 * 1000)}


def standard_topics(settings: Settings) -> dict[str, dict[str, str]]:
    """Newswire's topics and their settings: articles, dead letters and alert events."""
    return {
        settings.topic_articles: article_topic_configs(settings),
        settings.topic_dlq: topic_configs(settings),
        settings.topic_alert_events: alert_event_configs(),
    }


async def ensure_topics(
    settings: Settings, topics: Mapping[str, dict[str, str]] | None = None
) -> None:
    """Create ``topics`` (by default :func:`standard_topics`) when missing (idempotent)."""
    admin = make_admin(settings.kafka_bootstrap)
    try:
        with boundary(f"cannot create topics on {settings.kafka_bootstrap}"):
            await _create_missing(admin, settings, topics or standard_topics(settings))
    finally:
        await admin.close()


def replication_for(settings: Settings, brokers: int) -> int:
    """Copies of each partition of a new topic: min(3, brokers) unless the settings say."""
    return settings.topic_replication or min(3, max(1, brokers))


def durability(copies: int) -> dict[str, str]:
    """Topic settings for a number of copies of each partition.

    With three copies an acknowledged record (acks=all) is on two at least
    (``min.insync.replicas`` 2): one broker may go away without a write refused or a record
    lost. With fewer, two in sync would refuse every write while one is away.
    """
    return {"min.insync.replicas": "2"} if copies >= 3 else {}


async def _create_missing(
    admin: AIOKafkaAdminClient, settings: Settings, topics: Mapping[str, dict[str, str]]
) -> None:
    await admin.start()
    existing = set(await admin.list_topics())
    cluster = await admin.describe_cluster()
    factor = replication_for(settings, len(cluster.get("brokers", [])))
    wanted = [
        NewTopic(
            name=name,
            num_partitions=settings.topic_partitions,
            replication_factor=factor,
            topic_configs=configs | durability(factor),
        )
        for name, configs in topics.items()
        if name not in existing
    ]
    if wanted:
        # Another process may create them in between: that is the goal anyway.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(wanted)
    # A topic made by an earlier version gets today's settings (the article topic made before
    # it became the system of record is compacted from now on). Altering replaces a topic's
    # whole config: one with three copies keeps its min.insync.replicas.
    present = [name for name in topics if name in existing]
    if present:
        copies = await _replica_counts(admin, present)
        resources = [
            ConfigResource(
                ConfigResourceType.TOPIC, name, topics[name] | durability(copies.get(name, 1))
            )
            for name in present
        ]
        await admin.alter_configs(resources)


async def _replica_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    """How many copies each topic's first partition has (1 when it cannot be told)."""
    counts: dict[str, int] = {}
    for described in await admin.describe_topics(names):
        partitions = described.get("partitions") or [{}]
        counts[described["topic"]] = len(partitions[0].get("replicas") or [1])
    return counts


# Room above the largest record for the batch and protocol framing around it.
RECORD_MARGIN = 65536


def max_record_bytes(settings: Settings) -> int:
    """The largest record (key + value + headers) a producer may send: the ingest checks it."""
    return settings.max_article_bytes


def max_message_bytes(settings: Settings) -> int:
    """The topic's limit: a fixed margin above the largest record, so no checked record fails."""
    return max_record_bytes(settings) + RECORD_MARGIN


def producer_options(settings: Settings, *, client_id: str = "newswire") -> dict[str, Any]:
    """The keywords every producer of Newswire is made with (the bench reads them too)."""
    return {
        "bootstrap_servers": settings.kafka_bootstrap,
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        # zstd level 3: aiokafka's lz4 is fixed at level 9 (LZ4HC), 30 MB/s here, which cost
        # the ingest 40 % of its publishing CPU; zstd encodes at 200 MB/s and compresses better.
        "compression_type": "zstd",
        "linger_ms": 5,
        "max_batch_size": 512 * 1024,
        "max_request_size": max_message_bytes(settings),
        "request_timeout_ms": 30_000,
    }


def make_producer(settings: Settings, *, client_id: str = "newswire") -> AIOKafkaProducer:
    """An idempotent producer (acks=all): a retry never publishes a record twice."""
    return AIOKafkaProducer(**producer_options(settings, client_id=client_id))


async def topic_offsets(bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
    """Per partition, the first and the next offset of ``topic`` ({} when it does not exist)."""
    admin = make_admin(bootstrap)
    consumer = make_consumer(bootstrap)
    try:
        with boundary(f"cannot read offsets of {topic}"):
            await admin.start()
            await consumer.start()
            [described] = await admin.describe_topics([topic])
            if described.get("error_code", 0) != 0:
                return {}  # unknown topic: nothing in it
            tps = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
            starts = await consumer.beginning_offsets(tps)
            ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
        await admin.close()
    return {tp.partition: (starts[tp], ends[tp]) for tp in sorted(tps, key=lambda t: t.partition)}
