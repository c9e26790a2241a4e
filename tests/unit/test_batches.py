"""Records packed into record batches: the producer's partition for each key, input order kept."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch

from services.ingest.batches import by_partition, packed
from services.ingest.verdict import Prepared


def record(n: int, size: int = 100) -> Prepared:
    return Prepared(f"id-{n}", 1, f"id-{n}@1:h", b"x" * size, [("content-type", b"json")])


def builder(batch_size: int = 16384) -> BatchBuilder:
    return BatchBuilder(batch_size, 0)  # 0: no compression


def test_each_record_goes_where_the_producer_would_send_its_key() -> None:
    records = [record(n) for n in range(200)]
    partitions = [0, 1, 2]
    groups = by_partition(records, partitions)
    for partition, group in groups.items():
        for r in group:
            assert DefaultPartitioner()(r.id.encode(), partitions, partitions) == partition
    assert len(groups) == 3  # 200 keys spread over every partition


def test_a_partitions_records_keep_their_input_order() -> None:
    records = [record(n) for n in range(100)]
    for group in by_partition(records, [0, 1, 2]).values():
        numbers = [int(r.id.split("-")[1]) for r in group]
        assert numbers == sorted(numbers)


def test_records_fill_batches_in_order_and_a_full_batch_starts_the_next() -> None:
    group = [record(n, size=1000) for n in range(40)]
    batches = packed(lambda: builder(16384), group)
    assert len(batches) > 1
    assert [r for _, members in batches for r in members] == group
    for batch, members in batches:
        assert batch.record_count() == len(members)
        assert batch.size() <= 16384


def test_a_record_larger_than_a_batch_travels_alone() -> None:
    group = [record(0), record(1, size=40_000), record(2)]
    batches = packed(lambda: builder(16384), group)
    assert [[r.id for r in members] for _, members in batches] == [["id-0"], ["id-1"], ["id-2"]]


def test_a_batch_carries_each_records_key_value_and_headers() -> None:
    group = [record(n) for n in range(3)]
    [(batch, _)] = packed(builder, group)
    decoded = list(DefaultRecordBatch(bytearray(batch._build())))
    assert [(r.key, r.value, r.headers) for r in decoded] == [
        (g.id.encode(), g.value, [("content-type", b"json")]) for g in group
    ]
