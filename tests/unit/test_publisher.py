"""The publisher's errors come from the one Kafka table; too large is the input's rejection."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    TopicAuthorizationFailedError,
)

from services.common.errors import (
    ArticleRejected,
    KafkaRefused,
    KafkaUnavailable,
    NewswireError,
    RecordTooLarge,
)
from services.ingest.publisher import acked, publishing


def test_a_record_over_the_brokers_limit_is_the_inputs_too_large() -> None:
    with pytest.raises(ArticleRejected) as caught, publishing("a.txt"):
        raise MessageSizeTooLargeError()
    assert caught.value.code == "too_large"
    assert isinstance(caught.value.__cause__, RecordTooLarge)


@pytest.mark.parametrize(
    ("foreign", "ours", "retriable"),
    [
        (KafkaTimeoutError(), KafkaUnavailable, True),
        (KafkaConnectionError("down"), KafkaUnavailable, True),
        (TopicAuthorizationFailedError(), KafkaRefused, False),
    ],
)
def test_other_errors_are_the_tables(
    foreign: Exception, ours: type[NewswireError], retriable: bool
) -> None:
    with pytest.raises(ours) as caught, publishing("a.txt"):
        raise foreign
    assert caught.value.retriable is retriable
    assert caught.value.__cause__ is foreign


async def test_an_ack_refused_as_too_large_is_converted_like_a_send() -> None:
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    future.set_exception(MessageSizeTooLargeError())
    with pytest.raises(ArticleRejected) as caught:
        await acked(future, "a.txt")
    assert caught.value.code == "too_large"
