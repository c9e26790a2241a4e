"""The bulk documents of decoded records: the derived fields spliced in exactly as encoded."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from services.common.article import Article
from services.indexer.mapping import document_source, language_fields
from services.indexer.records import Decoded, bulk_docs
from tests.factories import make_article
from tests.unit.kafka_fakes import TOPIC, FakeRecord

ARTICLES = [
    make_article(),
    make_article(language="es", title='Un "título" \\ con\ttabulador'),
    make_article(
        tweets=[{"text": "Hi", "author": "A B", "handle": "ab", "posted_date": "2020-01-08"}]
    ),
]


def _expected(article: Article, indexed_at: str) -> dict[str, object]:
    derived: dict[str, object] = {"has_tweets": bool(article.tweets), "version": article.version}
    derived["indexed_at"] = indexed_at
    derived["story_id"] = article.id  # no story assignment: a story of its own
    derived.update(language_fields(article.language, article.title, article.body))
    return {**orjson.loads(article.model_dump_json()), **derived}


@given(
    index=st.integers(0, len(ARTICLES) - 1),
    indexed_at=st.text(max_size=30),
    pretty=st.booleans(),
)
def test_the_document_is_the_record_and_the_derived_fields(
    index: int, indexed_at: str, pretty: bool
) -> None:
    article = ARTICLES[index]
    value = article.model_dump_json(indent=2 if pretty else None).encode() + b"\n"
    source = document_source(article, value, indexed_at=indexed_at)
    assert b"\n" not in source, "one line of the bulk body"
    assert orjson.loads(source) == _expected(article, indexed_at)


def test_bulk_docs_carry_id_version_hash_and_source_in_order() -> None:
    decoded = [
        Decoded(FakeRecord(TOPIC, 0, n, None, a.model_dump_json().encode()), a)
        for n, a in enumerate(ARTICLES)
    ]
    docs = bulk_docs(decoded, indexed_at="2024-05-01T12:00:00.000Z")
    assert [(d.id, d.version, d.content_hash) for d in docs] == [
        (a.id, a.version, a.content_hash) for a in ARTICLES
    ]
    assert [orjson.loads(d.source) for d in docs] == [
        _expected(a, "2024-05-01T12:00:00.000Z") for a in ARTICLES
    ]
