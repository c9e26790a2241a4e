"""A recording stand-in for the ingest's Sender: what would reach Kafka, acks on demand."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from services.common.dlq import DeadLetter
from services.common.settings import Settings
from services.ingest.publisher import Batch
from services.ingest.verdict import Prepared


class RecordingSender:
    """Records what would be sent; each ack succeeds unless a failure is queued for it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sent: list[Prepared] = []
        self.letters: list[DeadLetter] = []
        self.ack_failures: list[BaseException] = []  # the next acks fail with these, in order
        self.send_refusals: list[BaseException] = []  # the next sends raise these, in order

    @property
    def sent_ids(self) -> list[str]:
        """The ids of the records sent, in order."""
        return [record.id for record in self.sent]

    def _ack(self) -> asyncio.Future[object]:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        if self.ack_failures:
            future.set_exception(self.ack_failures.pop(0))
        else:
            future.set_result(None)
        return future

    async def send(self, record: Prepared) -> asyncio.Future[object]:
        """Record an accepted record (or raise the refusal queued for it)."""
        if self.send_refusals:
            raise self.send_refusals.pop(0)
        self.sent.append(record)
        return self._ack()

    async def send_many(self, records: Sequence[Prepared]) -> list[Batch]:
        """Record accepted records, two to a delivery (as batches would carry them)."""
        self.sent.extend(records)
        return [(self._ack(), list(records[i : i + 2])) for i in range(0, len(records), 2)]

    async def dead_letter(self, letter: DeadLetter) -> asyncio.Future[object]:
        """Record a dead letter."""
        self.letters.append(letter)
        return self._ack()
