"""Articles out as ninjs 2.2: valid against IPTC's schema, and read back to the same content."""

from __future__ import annotations

from typing import Any

from services.api.ninjs_out import to_ninjs
from services.common.ninjs_schema import problems
from services.indexer.mapping import to_document
from services.ingest.ninjs_reader import read_ninjs
from tests.factories import make_article


def _stored(**update: Any) -> dict[str, Any]:
    return to_document(make_article(**update))


def test_a_stored_article_is_valid_ninjs() -> None:
    assert problems(to_ninjs(_stored())) == []


def test_an_article_without_update_time_is_valid_ninjs() -> None:
    assert problems(to_ninjs(_stored(updated_at=None))) == []


def test_ninjs_out_reads_back_to_the_same_headline_and_body() -> None:
    stored = _stored()
    item = read_ninjs(to_ninjs(stored), "roundtrip")
    assert item.headline == stored["title"]
    assert "\n\n".join(item.paragraphs) == stored["body"]
    assert item.language == stored["language"]
    assert item.uri == f"urn:newswire:article:{stored['id']}"
    assert item.category == stored["category"]
    assert item.subjects == ()
