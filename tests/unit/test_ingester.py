"""The Ingester's per-input rules on a recording publisher: no single input stops a run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka.errors import KafkaTimeoutError

from services.common.article import Article
from services.common.dlq import DeadLetter
from services.common.errors import KafkaUnavailable
from services.common.settings import Settings
from services.ingest import verdict
from services.ingest.ingester import Ingester
from services.ingest.ledger import Ledger
from services.ingest.readers import Item
from services.ingest.verdict import Prepared
from tests.factories import seed_text


class RecordingPublisher:
    """Stands in for the producer: records what would be sent; acks succeed unless told."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sent: list[bytes] = []
        self.letters: list[DeadLetter] = []
        self.fail_next_ack = False

    def _ack(self) -> asyncio.Future[object]:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        if self.fail_next_ack:
            self.fail_next_ack = False
            future.set_exception(KafkaTimeoutError())
        else:
            future.set_result(None)
        return future

    async def send(self, record: Prepared) -> asyncio.Future[object]:
        self.sent.append(record.id.encode())
        return self._ack()

    async def dead_letter(self, letter: DeadLetter) -> asyncio.Future[object]:
        self.letters.append(letter)
        return self._ack()


def ingester(
    settings: Settings, ledger: Ledger | None = None
) -> tuple[Ingester, RecordingPublisher]:
    publisher = RecordingPublisher(settings)
    return Ingester(publisher, ledger), publisher


async def test_a_bug_on_one_input_is_its_internal_error_and_the_next_goes_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = verdict.parse_article

    def flaky(data: bytes, **kwargs: object) -> Article:
        if b"boom" in data:
            raise RuntimeError("boom")
        return real(data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(verdict, "parse_article", flaky)
    run, publisher = ingester(Settings())
    bad = seed_text(lede="This one goes boom.").encode()
    summary = await run.run([Item(bad, "bad.txt"), Item(seed_text().encode(), "good.txt")])
    assert (summary.published, summary.rejected) == (1, 1)
    [letter] = publisher.letters
    assert (letter.code, letter.payload, letter.source) == ("internal_error", bad, "bad.txt")
    assert "RuntimeError: boom" in letter.message


async def test_an_oversized_record_is_dead_lettered_with_the_input_bytes() -> None:
    run, publisher = ingester(Settings(max_article_bytes=4096))
    text = seed_text(paragraphs=["A lede.", '"' * 3000]).encode()  # fits; its JSON does not
    assert len(text) < 4096
    assert await run.submit(Item(text, "quotes.txt")) is None
    await run.drain()
    assert publisher.sent == []
    [letter] = publisher.letters
    assert (letter.code, letter.payload) == ("too_large", text)


async def test_a_skipped_entry_is_counted_never_sent() -> None:
    run, publisher = ingester(Settings())
    await run.run([Item(b"", "pipe", skipped="fifo, not a regular file")])
    assert (run.summary.skipped, run.summary.skips) == (1, [("pipe", "fifo, not a regular file")])
    assert publisher.sent == publisher.letters == []


async def test_an_ack_that_fails_is_kafka_unavailable_and_the_acked_are_remembered(
    tmp_path: Path,
) -> None:
    with Ledger(tmp_path / "ledger.sqlite", namespace="t") as ledger:
        run, publisher = ingester(Settings(), ledger)
        await run.submit(Item(seed_text(lede="Acknowledged.").encode(), "a.txt"))
        publisher.fail_next_ack = True
        await run.submit(Item(seed_text(lede="Lost on the way.").encode(), "b.txt"))
        with pytest.raises(KafkaUnavailable):
            await run.drain()
        assert run.summary.published == 1
        again, _ = ingester(Settings(), ledger)
        await again.run(
            [
                Item(seed_text(lede="Acknowledged.").encode(), "a.txt"),
                Item(seed_text(lede="Lost on the way.").encode(), "b.txt"),
            ]
        )
        assert (again.summary.already_seen, again.summary.published) == (1, 1)
