"""Dead letters: the contract (the original bytes, why and where they were rejected) and the
sink that produces them to the dead-letter topic, for the ingest and the indexer alike."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from services.common.clock import utc_now_iso
from services.common.errors import BatchAbandoned, NewswireError, RecordTooLarge
from services.common.kafka import boundary, max_message_bytes
from services.common.settings import Settings

# Header names on every dead letter; the value of the record is the original payload, untouched.
H_CODE = "newswire.error.code"
H_MESSAGE = "newswire.error.message"
H_SOURCE = "newswire.source"
H_STAGE = "newswire.stage"
H_FAILED_AT = "newswire.failed_at"
H_TRUNCATED_FROM = "newswire.payload.truncated_from"
# Only on a cut payload (an oversized upload): the size announced and the bytes that arrived.
H_SIZE_DECLARED = "newswire.size.declared"
H_SIZE_RECEIVED = "newswire.size.received"


@dataclass(frozen=True)
class DeadLetter:
    """One rejected input, ready to be produced to the dead-letter topic."""

    payload: bytes
    code: str
    message: str
    source: str
    stage: str  # "ingest" or "indexer"
    key: bytes | None = None
    truncated_from: int | None = None  # the payload's size before it was cut to fit Kafka
    size_declared: int | None = None
    size_received: int | None = None

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers carrying the reason; messages are cut to stay well under limits."""
        headers = [
            (H_CODE, self.code.encode()),
            (H_MESSAGE, self.message[:2000].encode()),
            (H_SOURCE, self.source[:1000].encode()),
            (H_STAGE, self.stage.encode()),
            (H_FAILED_AT, utc_now_iso().encode()),
        ]
        for name, size in (
            (H_SIZE_DECLARED, self.size_declared),
            (H_SIZE_RECEIVED, self.size_received),
        ):
            if size is not None:
                headers.append((name, str(size).encode()))
        if self.truncated_from is not None:
            headers.append((H_TRUNCATED_FROM, str(self.truncated_from).encode()))
        return headers


# Room left for the key, the headers and the record's framing.
_HEADROOM = 16 * 1024


def fit_for_kafka(letter: DeadLetter, max_record_bytes: int) -> DeadLetter:
    """The letter with its payload cut to fit one record, the original size in a header.

    Only for a letter the broker refused as too large: the original record stays in its own
    topic (``source`` says where), so what is cut is still there to be read.
    """
    room = max(1024, max_record_bytes - _HEADROOM)
    if len(letter.payload) <= room:
        return letter
    return replace(letter, payload=letter.payload[:room], truncated_from=len(letter.payload))


def decode_headers(
    headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...],
) -> dict[str, str]:
    """Headers of a consumed record as a str dict (for operators and tests)."""
    return {name: value.decode("utf-8", "replace") for name, value in headers}


class Producer(Protocol):
    """What the sink needs of a Kafka producer: aiokafka's has it; unit tests pass a fake."""

    async def send(
        self, topic: str, value: bytes, *, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Awaitable[object]:
        """Queue one record; the awaitable returned completes with the broker's ack."""
        ...


def _backoff(attempt: int) -> float:
    return min(5.0, 0.2 * 2.0**attempt)


class DeadLetterSink:
    """Produces dead letters to one topic and waits for every ack (only then may offsets move).

    Errors are read through the Kafka table: retriable ones are retried until ``give_up``
    says stop (then ``BatchAbandoned``); letters refused as too large are cut to fit and sent
    again; any other refusal is raised as converted, for nothing sent again can pass.
    """

    def __init__(
        self,
        producer: Producer,
        topic: str,
        *,
        max_record_bytes: int,
        backoff: Callable[[int], float] = _backoff,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.max_record_bytes = max_record_bytes
        self.backoff = backoff

    @classmethod
    def of(cls, producer: Producer, settings: Settings) -> DeadLetterSink:
        """A sink to the settings' dead-letter topic, records bounded by the topic's limit."""
        return cls(producer, settings.topic_dlq, max_record_bytes=max_message_bytes(settings))

    async def send(
        self, letters: Sequence[DeadLetter], *, give_up: Callable[[], bool] = lambda: False
    ) -> list[DeadLetter]:
        """Send every letter and wait for the acks; returns the letters as they were sent."""
        pending = list(letters)
        attempt = 0
        while pending:
            try:
                await self._send_all(pending)
                break
            except RecordTooLarge:
                fitted = [fit_for_kafka(d, self.max_record_bytes) for d in pending]
                if fitted == pending:
                    raise  # already as small as it gets: sending it again cannot pass
                pending = fitted
            except NewswireError as error:
                if not error.retriable:
                    raise
                attempt += 1
                if give_up():
                    raise BatchAbandoned(f"dead letters not acknowledged: {error}") from error
                await asyncio.sleep(self.backoff(attempt))
        return pending

    async def _send_all(self, letters: list[DeadLetter]) -> None:
        with boundary(f"cannot dead-letter to {self.topic}"):
            acks = [
                await self.producer.send(self.topic, d.payload, key=d.key, headers=d.headers())
                for d in letters
            ]
            await asyncio.gather(*acks)
