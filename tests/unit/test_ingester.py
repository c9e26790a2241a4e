"""The Ingester's per-input rules on a recording sender: no single input stops a run."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka.errors import KafkaTimeoutError

from services.common.article import Article
from services.common.errors import ArticleRejected, KafkaUnavailable
from services.common.settings import Settings
from services.ingest import ingester as ingester_module
from services.ingest import parser, verdict
from services.ingest.ingester import Ingester
from services.ingest.ledger import Ledger
from services.ingest.limits import InputLimits, too_large
from services.ingest.readers import Item
from services.ingest.verdict import Prepared
from tests.factories import seed_text
from tests.unit.ingest_fakes import RecordingSender


def ingester(
    settings: Settings, ledger: Ledger | None = None, *, force: bool = False
) -> tuple[Ingester, RecordingSender]:
    sender = RecordingSender(settings)
    return Ingester(sender, ledger, force=force), sender


def story(lede: str) -> Item:
    return Item(seed_text(lede=lede).encode(), f"{lede}.txt")


async def test_a_bug_on_one_input_is_its_internal_error_and_the_next_goes_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = parser.parse_article

    def flaky(data: bytes, *, source: str, max_bytes: int) -> Article:
        if b"boom" in data:
            raise RuntimeError("boom")
        return real(data, source=source, max_bytes=max_bytes)

    monkeypatch.setitem(verdict.PARSERS, "seed", flaky)
    run, sender = ingester(Settings())
    bad = seed_text(lede="This one goes boom.").encode()
    summary = await run.run([Item(bad, "bad.txt"), Item(seed_text().encode(), "good.txt")])
    assert (summary.published, summary.rejected) == (1, 1)
    [letter] = sender.letters
    assert (letter.code, letter.payload, letter.source) == ("internal_error", bad, "bad.txt")
    assert "RuntimeError: boom" in letter.message


async def test_an_accepted_input_returns_its_record_sent_with_its_trace_id() -> None:
    run, sender = ingester(Settings())
    record = await run.submit(story("Accepted"), trace_id="t-1")
    await run.drain()
    assert record is not None
    assert sender.sent == [record]
    assert ("trace-id", b"t-1") in record.headers
    assert record.article().id == record.id
    assert (run.summary.published, run.summary.rejected) == (1, 0)


async def test_an_oversized_record_is_dead_lettered_with_the_input_bytes() -> None:
    run, sender = ingester(Settings(max_article_bytes=4096))
    text = seed_text(paragraphs=["A lede.", '"' * 3000]).encode()  # fits; its JSON does not
    assert len(text) < 4096
    assert await run.submit(Item(text, "quotes.txt")) is None
    await run.drain()
    assert sender.sent == []
    [letter] = sender.letters
    assert (letter.code, letter.payload) == ("too_large", text)


async def test_an_oversized_input_keeps_one_byte_past_the_limit_in_its_dead_letter() -> None:
    run, sender = ingester(Settings(max_article_bytes=1024))
    data = seed_text(paragraphs=["word " * 400]).encode()
    await run.run([Item(data, "big.txt")])
    [letter] = sender.letters
    assert letter.code == "too_large"
    assert letter.payload == data[:1025]


async def test_a_refusal_by_the_broker_is_that_inputs_dead_letter_and_the_run_goes_on() -> None:
    run, sender = ingester(Settings())
    sender.send_refusals.append(too_large("x", "over Kafka's own limit"))
    summary = await run.run([story("Refused"), story("Taken")])
    assert (summary.published, summary.rejected) == (1, 1)
    assert [letter.code for letter in sender.letters] == ["too_large"]


async def test_a_time_too_far_ahead_is_rejected_by_the_settings_skew() -> None:
    run, sender = ingester(Settings(max_future_skew_s=60))
    await run.run([Item(seed_text(updated="Jan 08, 2062 09:06 IST").encode(), "ahead.txt")])
    assert [letter.code for letter in sender.letters] == ["future_updated"]


async def test_a_skipped_entry_is_counted_never_sent() -> None:
    run, sender = ingester(Settings())
    await run.run([Item(b"", "pipe", skipped="fifo, not a regular file")])
    assert (run.summary.skipped, run.summary.skips) == (1, [("pipe", "fifo, not a regular file")])
    assert sender.sent == []
    assert sender.letters == []


async def test_an_ack_that_fails_is_kafka_unavailable_and_the_acked_are_remembered(
    tmp_path: Path,
) -> None:
    with Ledger(tmp_path / "ledger.sqlite", namespace="t") as ledger:
        run, sender = ingester(Settings(), ledger)
        await run.submit(story("Acknowledged"))
        sender.ack_failures.append(KafkaTimeoutError())
        await run.submit(story("Lost on the way"))
        with pytest.raises(KafkaUnavailable):
            await run.drain()
        assert run.summary.published == 1
        again, _ = ingester(Settings(), ledger)
        await again.run([story("Acknowledged"), story("Lost on the way")])
        assert (again.summary.already_seen, again.summary.published) == (1, 1)


async def test_the_ledger_keeps_a_rerun_from_sending_again_unless_forced(tmp_path: Path) -> None:
    inputs = [story("Once"), Item(b"no header", "bad.txt")]
    with Ledger(tmp_path / "ledger.sqlite", namespace="t") as ledger:
        first, _ = ingester(Settings(), ledger)
        await first.run(inputs)
        rerun, quiet = ingester(Settings(), ledger)
        summary = await rerun.run(inputs)
        assert (summary.published, summary.rejected, summary.already_seen) == (0, 0, 2)
        assert quiet.sent == []
        assert quiet.letters == []
        forced, loud = ingester(Settings(), ledger, force=True)
        await forced.run(inputs)
        assert (len(loud.sent), len(loud.letters)) == (1, 1)


async def test_acks_are_drained_every_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingester_module, "WINDOW", 2)
    run, _ = ingester(Settings())
    for lede in ("One", "Two", "Three"):
        await run.submit(story(lede))
    assert run.summary.published == 2  # the first window, before any drain was asked for
    await run.drain()
    assert run.summary.published == 3


async def test_run_takes_an_async_stream_of_items() -> None:
    async def items() -> AsyncIterator[Item]:
        for lede in ("First", "Second"):
            yield story(lede)

    run, sender = ingester(Settings())
    summary = await run.run(items())
    assert summary.as_dict() == {"published": 2, "rejected": 0, "already_seen": 0, "skipped": 0}
    assert len(sender.sent_ids) == 2


async def test_files_are_read_published_and_counted_in_order(tmp_path: Path) -> None:
    (tmp_path / "1.txt").write_text(seed_text(lede="First file."))
    (tmp_path / "2.txt").write_bytes(b"\xff\xfe not utf-8")
    (tmp_path / "3.txt").write_text(seed_text(lede="Third file."))
    os.mkfifo(tmp_path / "4.txt")  # never opened: skipped
    progress: list[int] = []
    run, sender = ingester(Settings())
    paths = sorted(tmp_path.iterdir())
    summary = await run.ingest_files(paths, on_progress=progress.append)
    assert (summary.published, summary.rejected, summary.skipped) == (2, 1, 1)
    assert summary.rejects == [(str(tmp_path / "2.txt"), "undecodable")]
    assert [letter.source for letter in sender.letters] == [str(tmp_path / "2.txt")]
    assert progress == [1, 1, 1, 1]


def parsed(items: list[Item], settings: Settings) -> list[tuple[Item, Prepared | ArticleRejected]]:
    limits = InputLimits.of(settings)
    return [(item, verdict.parse_item(item, limits)) for item in items]


async def test_a_chunk_sends_the_accepted_in_batches_and_dead_letters_the_rest(
    tmp_path: Path,
) -> None:
    settings = Settings()
    items = [story("One"), Item(b"no header", "bad.txt"), story("Two"), story("Three")]
    items.append(Item(b"", "pipe", skipped="fifo, not a regular file"))
    with Ledger(tmp_path / "ledger.sqlite", namespace="t") as ledger:
        run, sender = ingester(settings, ledger)
        await run.publish_chunk(parsed(items, settings))
        await run.drain()
        assert len(sender.sent_ids) == 3
        assert [letter.source for letter in sender.letters] == ["bad.txt"]
        summary = run.summary
        assert (summary.published, summary.rejected, summary.skipped) == (3, 1, 1)
        assert all(ledger.seen(record.ledger_key) for record in sender.sent)
        again, quiet = ingester(settings, ledger)
        await again.publish_chunk(parsed(items, settings))
        assert (again.summary.already_seen, quiet.sent, quiet.letters) == (4, [], [])


async def test_a_batch_whose_ack_fails_is_not_in_the_ledger_and_is_sent_again(
    tmp_path: Path,
) -> None:
    settings = Settings()
    items = [story("One"), story("Two"), story("Three")]  # batches of two: [One, Two], [Three]
    with Ledger(tmp_path / "ledger.sqlite", namespace="t") as ledger:
        run, sender = ingester(settings, ledger)
        sender.ack_failures.append(KafkaTimeoutError())
        await run.publish_chunk(parsed(items, settings))
        with pytest.raises(KafkaUnavailable, match="2 record"):
            await run.drain()
        assert run.summary.published == 1
        again, resent = ingester(settings, ledger)
        await again.publish_chunk(parsed(items, settings))
        await again.drain()
        assert (again.summary.already_seen, again.summary.published) == (1, 2)
        assert resent.sent_ids == [record.id for record in sender.sent[:2]]


async def test_acks_of_batches_are_drained_by_the_records_they_carry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ingester_module, "WINDOW", 4)
    settings = Settings()
    run, _ = ingester(settings)
    await run.publish_chunk(parsed([story(f"Story {n}") for n in range(3)], settings))
    assert run.summary.published == 0  # three records pending, under the window of four
    await run.publish_chunk(parsed([story("Story 4")], settings))
    assert run.summary.published == 4
