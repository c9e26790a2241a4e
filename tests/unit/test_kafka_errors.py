"""The Kafka error table: aiokafka's exceptions, with the socket's and the clock's, to ours."""

from __future__ import annotations

import pytest
from aiokafka.errors import (
    IllegalStateError,
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
)

from services.common.errors import KafkaRefused, KafkaUnavailable, NewswireError, RecordTooLarge
from services.common.kafka import boundary, convert


@pytest.mark.parametrize(
    ("exc", "kind", "retriable"),
    [
        (MessageSizeTooLargeError(), RecordTooLarge, False),
        (RecordTooLargeError(), RecordTooLarge, False),
        # aiokafka calls its own timeout not retriable; a broker that is slow is not a refusal.
        (KafkaTimeoutError(), KafkaUnavailable, True),
        (TimeoutError(), KafkaUnavailable, True),
        (KafkaConnectionError("refused"), KafkaUnavailable, True),
        (NotLeaderForPartitionError(), KafkaUnavailable, True),
        (ConnectionRefusedError(), KafkaUnavailable, True),
        (TopicAuthorizationFailedError(), KafkaRefused, False),
        (IllegalStateError("closed"), KafkaRefused, False),
    ],
)
def test_each_kafka_failure_becomes_its_error(
    exc: BaseException, kind: type[NewswireError], retriable: bool
) -> None:
    error = convert(exc, "sending")
    assert isinstance(error, kind)
    assert type(error) is kind
    assert error.retriable is retriable
    assert error.message.startswith("sending: ")


def test_what_is_not_kafka_s_is_left_alone() -> None:
    assert convert(ValueError("ours"), "sending") is None


def test_the_boundary_raises_ours_with_the_cause_kept() -> None:
    cause = KafkaConnectionError("refused")
    with pytest.raises(KafkaUnavailable) as caught, boundary("cannot create topics"):
        raise cause
    assert caught.value.__cause__ is cause
    assert "cannot create topics" in str(caught.value)
