"""The dead-letter sink: acks awaited, too-large letters cut to fit, retriable errors retried."""

from __future__ import annotations

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    TopicAuthorizationFailedError,
)

from services.common.dlq import H_CODE, H_TRUNCATED_FROM, DeadLetter, DeadLetterSink
from services.common.errors import BatchAbandoned, KafkaRefused, RecordTooLarge
from tests.unit.kafka_fakes import FakeProducer

LIMIT = 64 * 1024


def _sink(producer: FakeProducer) -> DeadLetterSink:
    return DeadLetterSink(producer, "dlq", max_record_bytes=LIMIT, backoff=lambda _n: 0.0)


def _letters(count: int, size: int = 10) -> list[DeadLetter]:
    return [
        DeadLetter(b"x" * size, "not_json", "bad", f"kafka:a/0@{n}", "indexer", key=b"k")
        for n in range(count)
    ]


async def test_every_letter_is_sent_with_its_reason() -> None:
    producer = FakeProducer()
    sent = await _sink(producer).send(_letters(3))
    assert sent == _letters(3)
    assert [(s.topic, s.key, s.headers[H_CODE]) for s in producer.sent] == [
        ("dlq", b"k", b"not_json")
    ] * 3


async def test_nothing_to_send_sends_nothing() -> None:
    producer = FakeProducer()
    assert await _sink(producer).send([]) == []
    assert producer.attempts == 0


@pytest.mark.parametrize("error", [KafkaConnectionError("down"), KafkaTimeoutError()])
async def test_a_retriable_error_is_retried(error: Exception) -> None:
    producer = FakeProducer([error, error])
    sent = await _sink(producer).send(_letters(1))
    assert len(sent) == len(producer.sent) == 1
    assert producer.attempts == 3


async def test_retrying_stops_with_the_batch_abandoned_when_told() -> None:
    producer = FakeProducer([KafkaConnectionError("down")] * 100)
    asked = iter(range(100))
    with pytest.raises(BatchAbandoned) as caught:
        await _sink(producer).send(_letters(1), give_up=lambda: next(asked) >= 2)
    assert producer.attempts == 3
    assert caught.value.retriable


async def test_a_letter_refused_as_too_large_is_cut_to_fit_and_marked() -> None:
    producer = FakeProducer([MessageSizeTooLargeError()])
    [sent] = await _sink(producer).send(_letters(1, size=LIMIT * 2))
    assert sent.truncated_from == LIMIT * 2
    assert len(sent.payload) < LIMIT
    assert producer.sent[0].headers[H_TRUNCATED_FROM] == str(LIMIT * 2).encode()


async def test_a_letter_too_large_even_when_cut_is_not_sent_again_and_again() -> None:
    producer = FakeProducer([MessageSizeTooLargeError()] * 3)
    with pytest.raises(RecordTooLarge):
        await _sink(producer).send(_letters(1, size=LIMIT * 2))
    assert producer.attempts == 2  # as it was, then cut: nothing smaller is left to try


async def test_a_refusal_for_good_is_raised_not_retried() -> None:
    producer = FakeProducer([TopicAuthorizationFailedError()])
    with pytest.raises(KafkaRefused) as caught:
        await _sink(producer).send(_letters(2))
    assert not caught.value.retriable
    assert isinstance(caught.value.__cause__, TopicAuthorizationFailedError)
    assert producer.attempts == 2  # each letter tried once, none again
