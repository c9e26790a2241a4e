"""HTTP uploads on a recording sender: the record once acked, or the dead-lettered rejection."""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from services.common.errors import ArticleRejected, KafkaUnavailable
from services.common.settings import Settings
from services.ingest.admission import DeadLetterQuota
from services.ingest.readers import Item
from services.ingest.uploads import Uploads
from tests.factories import seed_text
from tests.unit.ingest_fakes import RecordingSender


def uploads(settings: Settings, *, burst: int = 10) -> tuple[Uploads, RecordingSender]:
    sender = RecordingSender(settings)
    return Uploads(sender, DeadLetterQuota(rate=0.0, burst=burst)), sender


async def test_an_accepted_upload_is_its_record_sent_with_the_trace_id() -> None:
    http, sender = uploads(Settings())
    data = seed_text().encode()
    record = await http.publish(Item(data, "http:1.2.3.4"), client="1.2.3.4", trace_id="abc")
    assert sender.sent == [record]
    assert ("trace-id", b"abc") in record.headers
    assert sender.letters == []


async def test_a_rejected_upload_is_dead_lettered_with_its_sizes_then_raised() -> None:
    http, sender = uploads(Settings())
    item = Item(b"no header at all", "http:c", size=16, declared=16)
    with pytest.raises(ArticleRejected) as info:
        await http.publish(item, client="c", trace_id="t")
    [letter] = sender.letters
    assert (letter.code, letter.payload) == (info.value.code, b"no header at all")
    assert (letter.size_declared, letter.size_received) == (16, 16)


async def test_an_oversized_body_is_too_large_by_what_arrived_not_what_was_kept() -> None:
    http, sender = uploads(Settings(max_article_bytes=1024))
    kept = seed_text().encode()[:1024]
    item = Item(kept, "http:c", size=5000, declared=5000)
    with pytest.raises(ArticleRejected) as info:
        await http.publish(item, client="c", trace_id="t")
    assert info.value.code == "too_large"
    assert "5000 bytes" in info.value.message
    [letter] = sender.letters
    assert (letter.payload, letter.size_received) == (kept, 5000)


async def test_a_client_over_its_dead_letter_rate_still_gets_its_rejection() -> None:
    http, sender = uploads(Settings(), burst=1)
    for _ in range(3):
        with pytest.raises(ArticleRejected):
            await http.publish(Item(b"bad", "http:c"), client="c", trace_id="t")
    assert len(sender.letters) == 1  # the burst; the rest were dropped, not queued
    with pytest.raises(ArticleRejected):
        await http.publish(Item(b"bad", "http:d"), client="d", trace_id="t")
    assert len(sender.letters) == 2  # another client has its own bucket


async def test_a_record_the_broker_refuses_at_ack_time_is_too_large_and_dead_lettered() -> None:
    http, sender = uploads(Settings())
    sender.ack_failures.append(MessageSizeTooLargeError())
    data = seed_text().encode()
    with pytest.raises(ArticleRejected) as info:
        await http.publish(Item(data, "http:c"), client="c", trace_id="t")
    assert info.value.code == "too_large"
    assert [(letter.code, letter.payload) for letter in sender.letters] == [("too_large", data)]


async def test_an_ack_kafka_never_gives_is_kafka_unavailable() -> None:
    http, sender = uploads(Settings())
    sender.ack_failures.append(KafkaTimeoutError())
    with pytest.raises(KafkaUnavailable):
        await http.publish(Item(seed_text().encode(), "http:c"), client="c", trace_id="t")
    assert sender.letters == []
