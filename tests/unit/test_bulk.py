"""How the indexer reads a bulk reply: a 200 can hide 400, 409 and 429 items."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.indexer.bulk import BulkDoc, BulkResult, BulkWriter, backoff
from services.indexer.mapping import document_source, to_document
from tests.factories import make_article


def _item(status: int, error_type: str | None = None) -> dict[str, Any]:
    outcome: dict[str, Any] = {"status": status}
    if error_type:
        outcome["error"] = {"type": error_type, "reason": f"{error_type} happened"}
    return {"index": outcome}


def _writer() -> BulkWriter:
    return BulkWriter(es=None, index="news")  # type: ignore[arg-type]  # pure logic only


def test_every_item_is_classified_by_its_own_status() -> None:
    items = [
        _item(201),
        _item(200),
        _item(409, "version_conflict_engine_exception"),
        _item(429, "es_rejected_execution_exception"),
        _item(503, "unavailable_shards_exception"),
        _item(400, "document_parsing_exception"),
    ]
    result = BulkResult()
    retry = _writer()._sort_items(items, [10, 11, 12, 13, 14, 15], result)
    assert result.indexed == 2
    assert result.stale == 1
    assert retry == [13, 14]
    assert [(f.position, f.code) for f in result.failures] == [(15, "index_rejected")]
    assert "document_parsing_exception" in result.failures[0].reason


def test_a_409_that_is_not_our_version_conflict_is_a_failure() -> None:
    result = BulkResult()
    retry = _writer()._sort_items([_item(409, "some_other_conflict")], [0], result)
    assert retry == []
    assert result.stale == 0
    assert [f.position for f in result.failures] == [0]


def test_operations_use_the_article_id_and_external_version() -> None:
    docs = [BulkDoc("a", 5, b'{"id":"a"}'), BulkDoc("b", 7, b'{"id":"b","title":"y"}')]
    lines = _writer()._operations(docs, [1]).split(b"\n")
    assert [json.loads(line) for line in lines[:2]] == [
        {"index": {"_index": "news", "_id": "b", "version": 7, "version_type": "external"}},
        {"id": "b", "title": "y"},
    ]
    assert lines[2] == b"", "an NDJSON body ends with a newline"


def test_document_source_splices_the_derived_fields_into_the_record() -> None:
    article = make_article(
        tweets=[{"text": "Hi", "author": "A B", "handle": "ab", "posted_date": "2020-01-08"}]
    )
    value = article.model_dump_json().encode()
    doc = json.loads(document_source(article, value, indexed_at="2024-05-01T12:00:00.000Z"))
    assert doc == {
        **to_document(article, indexed_at="2024-05-01T12:00:00.000Z"),
    }
    assert doc["has_tweets"] is True
    assert doc["version"] == article.version


@pytest.mark.parametrize("attempt", range(12))
def test_backoff_grows_and_is_capped(attempt: int) -> None:
    delay = backoff(attempt, cap=10.0)
    ceiling = min(10.0, 0.1 * 2**attempt)
    assert ceiling * 0.5 <= delay <= ceiling
