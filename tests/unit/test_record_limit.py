"""The size limit applies to the record Kafka gets: key + value + headers, after JSON escaping."""

from __future__ import annotations

import pytest

from services.common.errors import ArticleRejected
from services.common.kafka import max_message_bytes, max_record_bytes
from services.common.settings import Settings
from services.ingest.verdict import article_headers, prepare
from tests.factories import make_article


def record_size(value: bytes, key: str, headers: list[tuple[str, bytes]]) -> int:
    return len(value) + len(key) + sum(len(n) + len(v) for n, v in headers)


def test_the_limit_counts_key_value_and_headers_exactly() -> None:
    article = make_article()
    value = article.model_dump_json().encode()
    size = record_size(value, article.id, article_headers(article, "t"))
    prepared = prepare(article, limit=size, source="s", trace_id="t")
    assert prepared.value == article.model_dump_json().encode()
    with pytest.raises(ArticleRejected) as info:
        prepare(article, limit=size - 1, source="s", trace_id="t")
    assert info.value.code == "too_large"
    assert info.value.source == "s"


def test_quotes_double_in_json_and_outgrow_a_limit_the_text_fits() -> None:
    text = '"' * 6000
    article = make_article(paragraphs=["A lede.", text])
    assert len(article.body.encode()) < 8000
    with pytest.raises(ArticleRejected) as info:
        prepare(article, limit=8000, source="quotes.txt")
    assert info.value.code == "too_large"
    assert "over the 8000-byte limit" in info.value.message


def test_the_topic_limit_is_a_fixed_margin_above_the_record_limit() -> None:
    settings = Settings(max_article_bytes=2_000_000)
    assert max_record_bytes(settings) == 2_000_000
    assert max_message_bytes(settings) == 2_000_000 + 65536
