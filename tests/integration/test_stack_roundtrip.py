"""The live servers are real: records round-trip through Kafka, documents through Elasticsearch."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.common.es import es_client
from services.common.kafka import ensure_topics, probe_kafka, topic_offsets
from services.common.settings import Settings

pytestmark = pytest.mark.integration


async def test_kafka_round_trips_records_in_order(settings: Settings) -> None:
    await ensure_topics(settings.model_copy(update={"topic_partitions": 1}))
    sent = [(f"k{i}".encode(), f"value {i}".encode()) for i in range(20)]
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in sent:
            await producer.send_and_wait(settings.topic_articles, value, key=key)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        settings.topic_articles,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: list[tuple[bytes, bytes]] = []
    try:
        while len(received) < len(sent):
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, "no records came back within 10 s"
            for records in batch.values():
                received.extend((r.key, r.value) for r in records)
    finally:
        await consumer.stop()
    assert received == sent
    assert await topic_offsets(settings.kafka_bootstrap, settings.topic_articles) == {0: (0, 20)}
    assert await topic_offsets(settings.kafka_bootstrap, "no-such-topic") == {}


async def test_kafka_probe_reports_the_broker(settings: Settings) -> None:
    cluster = await probe_kafka(settings.kafka_bootstrap)
    assert len(cluster["brokers"]) == 1


async def test_elasticsearch_indexes_and_finds_a_document(settings: Settings) -> None:
    index = settings.index_name
    async with es_client(settings) as es:
        await es.indices.create(index=index)
        try:
            await es.index(index=index, id="a1", document={"title": "Missiles launched at bases"})
            await es.index(index=index, id="a2", document={"title": "Budget vote delayed"})
            await es.indices.refresh(index=index)
            found = await es.search(index=index, query={"match": {"title": "missiles"}})
            assert [hit["_id"] for hit in found["hits"]["hits"]] == ["a1"]
            assert found["hits"]["hits"][0]["_source"]["title"] == "Missiles launched at bases"
        finally:
            await es.indices.delete(index=index)
