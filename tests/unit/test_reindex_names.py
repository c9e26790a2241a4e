"""Naming of versioned indices behind the alias."""

from __future__ import annotations

from services.indexer.reindex import next_index


def test_next_index_counts_up_from_the_highest() -> None:
    assert next_index("news", []) == "news-v1"
    assert next_index("news", ["news-v1", "news-v3", "newsy-v9", "news-v2-old"]) == "news-v4"
