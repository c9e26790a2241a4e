"""Ingest on the live Kafka: what is accepted is published once, what is rejected is kept."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from services.bench.corpus import Corpus
from services.common.dlq import H_CODE, H_SOURCE, H_STAGE, decode_headers
from services.common.settings import Settings
from services.ingest.ingester import Ingester
from services.ingest.ledger import Ledger
from services.ingest.parser import parse_path
from services.ingest.publisher import Publisher
from services.ingest.readers import iter_files
from services.ingest.watch import watch
from tests.factories import seed_files, seed_text
from tests.integration.pipeline_helpers import read_topic, wait_until

pytestmark = pytest.mark.integration


async def ingest_folder(
    settings: Settings, folder: Path, ledger: Ledger, *, force: bool = False, workers: int = 1
) -> Ingester:
    """Run the real ingester over a folder."""
    async with Publisher(settings) as publisher:
        ingester = Ingester(publisher, ledger, force=force)
        await ingester.ingest_files(iter_files([folder]), workers=workers)
    return ingester


async def test_accepted_are_published_and_rejects_reach_the_dlq_with_their_bytes(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    Corpus(seed=11, malformed_share=0.1).write(folder, 200)
    for seed in seed_files():
        (folder / seed.name).write_bytes(seed.read_bytes())
    with Ledger(tmp_path / "ledger.sqlite", namespace=settings.topic_articles) as ledger:
        # Parsing workers (processes): rejects must still reach the DLQ with their bytes.
        run = await ingest_folder(settings, folder, ledger, workers=2)
    summary = run.summary
    total = len(list(folder.iterdir()))
    assert summary.rejected > 0
    assert summary.published + summary.rejected == total
    published = await read_topic(settings, settings.topic_articles, summary.published)
    assert len(published) == summary.published
    rejected = await read_topic(settings, settings.topic_dlq, summary.rejected)
    assert len(rejected) == summary.rejected
    for record in rejected:
        headers = decode_headers(record.headers)
        assert headers[H_STAGE] == "ingest"
        assert record.value == Path(headers[H_SOURCE]).read_bytes()  # the original, untouched
        assert headers[H_CODE] in {
            "malformed_header",
            "impossible_date",
            "empty_body",
            "malformed_updated",
        }


async def test_reingesting_the_same_articles_yields_the_same_keys(
    settings: Settings, tmp_path: Path
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    for n, seed in enumerate(seed_files()):
        text = seed.read_bytes()
        (first / seed.name).write_bytes(text)
        # Another name, CRLF line endings and a BOM: still the same articles.
        crlf = text.decode("utf-8-sig").replace("\n", "\r\n")
        (second / f"copy-{n}.txt").write_bytes(b"\xef\xbb\xbf" + crlf.encode())
    with Ledger(tmp_path / "ledger.sqlite", namespace=settings.topic_articles) as ledger:
        one = await ingest_folder(settings, first, ledger, force=True)
        two = await ingest_folder(settings, second, ledger, force=True)
    records = await read_topic(
        settings, settings.topic_articles, one.summary.published + two.summary.published
    )
    by_run: dict[str, set[bytes]] = {"a": set(), "b": set()}
    for record in records:
        by_run[Path(json.loads(record.value)["source"]).parent.name].add(record.key)
    assert one.summary.published == two.summary.published == len(seed_files())
    assert by_run["a"] == by_run["b"]
    # One edit among the seeds shares its id with the original: fewer keys than files.
    assert by_run["a"] == {parse_path(p).id.encode() for p in seed_files()}
    assert len(by_run["a"]) < len(seed_files())


async def test_the_ledger_remembers_what_was_published(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    Corpus(seed=12, malformed_share=0.0).write(folder, 30)
    with Ledger(tmp_path / "ledger.sqlite", namespace=settings.topic_articles) as ledger:
        first = await ingest_folder(settings, folder, ledger)
        again = await ingest_folder(settings, folder, ledger)
    assert first.summary.published == 30
    assert again.summary.published == 0
    assert again.summary.already_seen == 30


async def test_watch_publishes_new_files_once_and_a_restart_republishes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "early.txt").write_text(seed_text(lede="Filed before the watcher started."))
    ledger_path = tmp_path / "ledger.sqlite"

    async def run_watch(drop: list[str], expected: int) -> int:
        stop = asyncio.Event()
        async with Publisher(settings) as publisher:
            with Ledger(ledger_path, namespace=settings.topic_articles) as ledger:
                ingester = Ingester(publisher, ledger)
                task = asyncio.create_task(watch(inbox, ingester, stop))
                await asyncio.sleep(1.0)
                for lede in drop:
                    # Writers rename into place: the temporary name must not be ingested.
                    tmp = inbox / f".{abs(hash(lede))}.tmp"
                    tmp.write_text(seed_text(lede=lede))
                    tmp.rename(inbox / f"{abs(hash(lede))}.txt")
                await wait_until(lambda: ingester.summary.published >= expected, 30, "publishing")
                await asyncio.sleep(2.0)  # room for a wrong second publish to show up
                stop.set()
                await task
        return ingester.summary.published

    assert await run_watch(["A story filed while watching."], expected=2) == 2
    # Restarted: the three files already there are remembered; only the new one is published.
    assert await run_watch(["Brand new after the restart."], expected=1) == 1
    records = await read_topic(settings, settings.topic_articles, 3)
    assert len(records) == 3
    assert len({r.key for r in records}) == 3
