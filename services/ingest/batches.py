"""Accepted records packed into Kafka record batches: grouped by partition, in input order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from services.ingest.verdict import Prepared

# The producer's own choice for a keyed record: a batch lands where send() would put it.
_PARTITIONER = DefaultPartitioner()

# A batch and the records in it.
Packed = tuple[BatchBuilder, list[Prepared]]


def by_partition(records: Sequence[Prepared], partitions: list[int]) -> dict[int, list[Prepared]]:
    """Records grouped by the partition their key hashes to, each group in input order."""
    groups: dict[int, list[Prepared]] = {}
    for record in records:
        partition = _PARTITIONER(record.id.encode(), partitions, partitions)
        groups.setdefault(partition, []).append(record)
    return groups


def _append(batch: BatchBuilder, record: Prepared) -> bool:
    """Whether the record went into the batch (a full batch closes itself and says no)."""
    headers = record.headers
    metadata = batch.append(
        timestamp=None, key=record.id.encode(), value=record.value, headers=headers
    )
    return metadata is not None


def packed(new_batch: Callable[[], BatchBuilder], group: list[Prepared]) -> list[Packed]:
    """One partition's records packed in order into as few batches as their size allows.

    An empty batch takes any record, however large (the producer's own rule): the ingest has
    checked it against the record limit, which the topic's message limit is above.
    """
    out: list[Packed] = []
    batch, members = new_batch(), list[Prepared]()
    for record in group:
        if not _append(batch, record):  # full: it closed itself
            out.append((batch, members))
            batch, members = new_batch(), []
            _append(batch, record)
        members.append(record)
    if members:
        out.append((batch, members))
    return out
