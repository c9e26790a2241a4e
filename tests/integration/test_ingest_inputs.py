"""No single input stops the ingest: oversized records, links, FIFOs, slow writers (live Kafka)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.bench.procs import child_env
from services.common.dlq import H_CODE, H_SOURCE, decode_headers
from services.common.settings import Settings
from services.ingest.ingester import Ingester
from services.ingest.ledger import Ledger
from services.ingest.parser import parse_article
from services.ingest.publisher import Publisher
from services.ingest.readers import Item
from services.ingest.watch import watch
from tests.factories import seed_text
from tests.integration.pipeline_helpers import read_topic, wait_until

pytestmark = pytest.mark.integration

# Under the 1 MiB input limit, but JSON writes each '"' as 2 bytes: the record is ~1.2 MB.
QUOTES = seed_text(lede="Quoted at length.", paragraphs=None) + "\n\n" + '"' * 600_000
# 900 KB of \x01 (6 bytes each in JSON, 5.4 MB): the control-character rule removes them.
CONTROLS = seed_text(lede="Control characters removed.") + "\n\n" + "\x01" * 900_000 + " end."


def outside_links(tmp_path: Path, inbox: Path) -> None:
    """A link to a file outside the folder, a link to a directory outside it, and a FIFO."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text(seed_text(lede="Never to be read via a link."))
    (inbox / "link.txt").symlink_to(elsewhere / "secret.txt")
    (inbox / "dirlink").symlink_to(elsewhere, target_is_directory=True)
    os.mkfifo(inbox / "pipe.txt")


async def test_watch_skips_links_and_fifos_rejects_oversized_records_and_goes_on(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a-quotes.txt").write_text(QUOTES)
    (inbox / "b-controls.txt").write_text(CONTROLS)
    outside_links(tmp_path, inbox)
    stop = asyncio.Event()
    async with Publisher(settings) as publisher:
        with Ledger(tmp_path / "ledger.sqlite", namespace=settings.topic_articles) as ledger:
            ingester = Ingester(publisher, ledger)
            task = asyncio.create_task(watch(inbox, ingester, stop, quiet_ms=300))
            await wait_until(lambda: ingester.summary.rejected >= 1, 30, "the too_large reject")
            (inbox / "c-good.txt").write_text(seed_text(lede="Filed after the bad ones."))
            await wait_until(lambda: ingester.summary.published >= 2, 30, "the good files")
            await asyncio.sleep(1.0)  # room for a wrong extra publish or dead letter
            stop.set()
            await asyncio.wait_for(task, 10)  # a hung watcher fails here, not forever
    summary = ingester.summary
    assert (summary.published, summary.rejected, summary.skipped) == (2, 1, 3)
    assert {reason for _, reason in summary.skips} == {
        "symlink, not a regular file",
        "fifo, not a regular file",
    }
    [letter] = await read_topic(settings, settings.topic_dlq, 2, timeout=5)
    headers = decode_headers(letter.headers)
    assert headers[H_CODE] == "too_large"
    assert headers[H_SOURCE].endswith("a-quotes.txt")
    assert letter.value == QUOTES.encode()  # the original input, not the JSON
    records = await read_topic(settings, settings.topic_articles, 2)
    bodies = {
        Path(json.loads(r.value)["source"]).name: json.loads(r.value)["body"] for r in records
    }
    assert set(bodies) == {"b-controls.txt", "c-good.txt"}
    assert bodies["b-controls.txt"].startswith("Control characters removed.")
    assert bodies["b-controls.txt"].endswith("\n\nend.")
    assert "\x01" not in bodies["b-controls.txt"]


async def test_a_slowly_written_file_is_published_once_whole(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    text = seed_text(paragraphs=[f"Paragraph number {n} of a slow writer." for n in range(6)])
    # Cut at paragraph ends: every prefix is a valid article, so an early read would publish.
    pieces = text.split("\n\n")
    stop = asyncio.Event()
    async with Publisher(settings) as publisher:
        with Ledger(tmp_path / "ledger.sqlite", namespace=settings.topic_articles) as ledger:
            ingester = Ingester(publisher, ledger)
            task = asyncio.create_task(watch(inbox, ingester, stop, quiet_ms=1500))
            await asyncio.sleep(0.5)
            with (inbox / "slow.txt").open("w") as out:
                for n, piece in enumerate(pieces):
                    out.write(("\n\n" if n else "") + piece)
                    out.flush()
                    await asyncio.sleep(0.4)  # shorter than the quiet period
            await wait_until(lambda: ingester.summary.published >= 1, 30, "the slow file")
            await asyncio.sleep(2.0)  # room for a second publish to show up
            stop.set()
            await asyncio.wait_for(task, 10)
    assert ingester.summary.published == 1
    records = await read_topic(settings, settings.topic_articles, 2, timeout=5)
    assert len(records) == 1
    whole = parse_article(text.encode(), source="slow.txt")
    assert json.loads(records[0].value)["body"] == whole.body


async def test_a_folder_moved_into_the_watch_folder_brings_its_files(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    batch = tmp_path / "batch"
    (batch / "deeper").mkdir(parents=True)
    (batch / "one.txt").write_text(seed_text(lede="First of a batch."))
    (batch / "deeper" / "two.txt").write_text(seed_text(lede="Second of a batch."))
    stop = asyncio.Event()
    async with Publisher(settings) as publisher:
        ingester = Ingester(publisher, None)
        task = asyncio.create_task(watch(inbox, ingester, stop, quiet_ms=300))
        await asyncio.sleep(1.0)
        batch.rename(inbox / "batch")  # one event for the folder, none per file
        await wait_until(lambda: ingester.summary.published >= 2, 30, "the batch's files")
        stop.set()
        await asyncio.wait_for(task, 10)
    records = await read_topic(settings, settings.topic_articles, 2)
    assert sorted(Path(json.loads(r.value)["source"]).name for r in records) == [
        "one.txt",
        "two.txt",
    ]


async def test_the_watcher_stops_promptly_while_files_wait_for_quiet(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "waiting.txt").write_text(seed_text())
    stop = asyncio.Event()
    async with Publisher(settings) as publisher:
        ingester = Ingester(publisher, None)
        # An hour of quiet: the file is still waiting when the stop event is set.
        task = asyncio.create_task(watch(inbox, ingester, stop, quiet_ms=3_600_000))
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.wait_for(task, 10)
    assert ingester.summary.published == 0


async def test_json_input_whose_record_is_too_large_is_dead_lettered_with_its_bytes(
    settings: Settings,
) -> None:
    # The HTTP and stdin paths: Ingester.submit on a JSON item. Its escapes are already in
    # the input; what grows is derived: each tweet's text is kept again in "tweets".
    tweet = "A long quoted tweet about the news. " * 5 + "— Jane Doe (@jane) January 8, 2020"
    body = "Lede.\n\n" + "\n\n".join([tweet] * 3500)
    raw = json.dumps({"category": "world", "published_date": "2020-01-08", "body": body}).encode()
    assert len(raw) < settings.max_article_bytes
    async with Publisher(settings) as publisher:
        ingester = Ingester(publisher, None)
        assert await ingester.submit(Item(raw, "http:test", format="json")) is None
        fine = b'{"category": "world", "published_date": "2020-01-08", "body": "Fine."}'
        good = await ingester.submit(Item(fine, "http:test", format="json"))
        await ingester.drain()
    assert ingester.summary.rejects == [("http:test", "too_large")]
    assert good is not None
    [letter] = await read_topic(settings, settings.topic_dlq, 1)
    assert decode_headers(letter.headers)[H_CODE] == "too_large"
    assert letter.value == raw


def run_cli(
    settings: Settings, state: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``newswire ingest ARGS`` as a user runs it; a hang fails after two minutes."""
    # Wide columns: rich must not wrap the messages the test looks for.
    env = {**child_env(settings), "NEWSWIRE_STATE_DIR": str(state), "COLUMNS": "1000"}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "ingest", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_stdin_lines_too_large_as_input_or_as_record_are_dead_lettered_and_it_goes_on(
    settings: Settings, tmp_path: Path
) -> None:
    minimal = {"category": "world", "published_date": "2020-01-08"}
    tweet = "A long quoted tweet about the news. " * 5 + "— Jane Doe (@jane) January 8, 2020"
    lines = [
        json.dumps({**minimal, "body": "x " * 1_000_000}),  # 2 MB: over the input limit
        json.dumps({**minimal, "body": "Lede.\n\n" + "\n\n".join([tweet] * 3500)}),
        json.dumps({**minimal, "body": "A fine story."}),
    ]
    result = run_cli(settings, tmp_path / "state", "-", "--json", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["published"], summary["rejected"]) == (1, 2)
    letters = await read_topic(settings, settings.topic_dlq, 2)
    by_source = {decode_headers(r.headers)[H_SOURCE]: r for r in letters}
    assert {s: decode_headers(r.headers)[H_CODE] for s, r in by_source.items()} == {
        "stdin:1": "too_large",
        "stdin:2": "too_large",
    }
    # Dead letters share the record limit: an oversized line keeps its first bytes only.
    assert by_source["stdin:1"].value == lines[0].encode()[: settings.max_article_bytes + 1]
    assert by_source["stdin:2"].value == lines[1].encode()


@pytest.mark.parametrize("workers", [1, 2])
async def test_ingest_dir_goes_on_past_a_bad_file_a_fifo_and_links(
    settings: Settings, tmp_path: Path, workers: int
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "1-good.txt").write_text(seed_text(lede="First good story."))
    (folder / "2-quotes.txt").write_text(QUOTES)
    (folder / "3-bad.txt").write_bytes(b"\xff\xfe not utf-8")
    (folder / "4-good.txt").write_text(seed_text(lede="Second good story."))
    outside_links(tmp_path, folder)
    result = run_cli(settings, tmp_path / "state", str(folder), "--json", f"--workers={workers}")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["published"], summary["rejected"], summary["skipped"]) == (2, 2, 3)
    letters = [decode_headers(r.headers) for r in await read_topic(settings, settings.topic_dlq, 2)]
    codes = {Path(h[H_SOURCE]).name: h[H_CODE] for h in letters}
    assert codes == {"2-quotes.txt": "too_large", "3-bad.txt": "undecodable"}
    # A FIFO named on the command line is skipped with a message, not waited on.
    named = run_cli(settings, tmp_path / "state", str(folder / "pipe.txt"))
    assert named.returncode == 0, named.stderr
    assert "skipped" in named.stderr
    assert "fifo, not a regular file" in named.stderr
