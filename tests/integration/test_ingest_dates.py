"""Dates at ingest on the live Kafka: old ones pass, ones far ahead are rejected, not locking."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.common.dlq import H_CODE, decode_headers
from services.common.settings import Settings
from services.ingest.ingester import Ingester
from services.ingest.publisher import Publisher
from services.ingest.readers import Item, iter_files
from tests.factories import seed_text
from tests.integration.pipeline_helpers import read_topic

pytestmark = pytest.mark.integration


def _json(**fields: str) -> Item:
    body = {"category": "world", "published_date": "2020-01-08", "body": "A story.", **fields}
    return Item(json.dumps(body).encode(), "http:test", format="json")


async def test_times_far_ahead_are_rejected_with_their_own_codes(
    settings: Settings, tmp_path: Path
) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "future.txt").write_text(seed_text(date="9999-12-31", updated=None))
    (folder / "typo.txt").write_text(seed_text(updated="Jan 08, 2062 09:06 IST"))
    (folder / "old.txt").write_text(seed_text(date="1890-05-01", updated="May 02, 1890 09:00 UTC"))
    async with Publisher(settings) as publisher:
        ingester = Ingester(publisher, None)
        locked = await ingester.submit(_json(updated_at="9999-12-31T23:59:00Z"))
        fine = await ingester.submit(_json(updated_at=soon, body="Another story."))
        await ingester.ingest_files(iter_files([folder]), workers=2)
        await ingester.drain()
    assert locked is None
    assert fine is not None
    assert ingester.summary.published == 2  # the JSON one two hours ahead, and the 1890 one
    dead = await read_topic(settings, settings.topic_dlq, expected=3)
    codes = sorted(decode_headers(r.headers)[H_CODE] for r in dead)
    assert codes == ["future_date", "future_updated", "future_updated"]


async def test_the_skew_is_a_setting(settings: Settings) -> None:
    settings = settings.model_copy(update={"max_future_skew_s": 60.0})
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    async with Publisher(settings) as publisher:
        ingester = Ingester(publisher, None)
        assert await ingester.submit(_json(updated_at=soon)) is None
        await ingester.drain()
    [dead] = await read_topic(settings, settings.topic_dlq, expected=1)
    assert decode_headers(dead.headers)[H_CODE] == "future_updated"
