"""ninjs bytes to topic events: versions of one uri share an id; kills and holds are events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.article import Article, compute_uri_id
from services.common.errors import ArticleRejected
from services.common.settings import Settings
from services.common.status_event import KILL_VERSION, StatusEvent
from services.ingest.limits import InputLimits
from services.ingest.ninjs_parser import parse_ninjs
from services.ingest.readers import Item
from services.ingest.verdict import Prepared, parse_item

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _bytes(**fields: Any) -> bytes:
    doc = {
        "uri": "urn:newsml:example.com:2026:quake",
        "versioncreated": "2026-12-02T10:00:00Z",
        "headlines": [{"value": "Quake hits coast"}],
        "bodies": [{"contenttype": "text/plain", "value": "A quake hit.\n\nNo casualties."}],
        "language": "en",
    }
    return orjson.dumps(doc | fields)


def test_a_usable_item_is_an_article_with_its_newsroom_fields() -> None:
    article = parse_ninjs(
        _bytes(
            urgency=2,
            by="Ana Ruiz",
            embargoed="2026-12-03T00:00:00Z",
            subjects=[{"name": "Chile"}, {"name": "science", "rel": "category"}],
        ),
        source="ninjs",
        ingested_at=NOW,
    )
    assert isinstance(article, Article)
    assert article.id == compute_uri_id("urn:newsml:example.com:2026:quake")
    assert article.title == "Quake hits coast"
    assert article.body == "A quake hit.\n\nNo casualties."
    assert article.category == "science"
    assert article.subjects == ("Chile",)
    assert (article.urgency, article.byline) == (2, "Ana Ruiz")
    assert article.embargoed == datetime(2026, 12, 3, tzinfo=UTC)
    assert article.updated_at == datetime(2026, 12, 2, 10, tzinfo=UTC)
    assert Article.model_validate(article.model_dump()) == article


def test_a_correction_keeps_the_id_and_has_a_higher_version() -> None:
    first = parse_ninjs(_bytes(), source="ninjs", ingested_at=NOW)
    fixed = parse_ninjs(
        _bytes(
            versioncreated="2026-12-02T11:00:00Z",
            firstcreated="2026-12-02T10:00:00Z",
            bodies=[{"value": "A strong quake hit.\n\nNo casualties."}],
        ),
        source="ninjs",
        ingested_at=NOW,
    )
    assert isinstance(first, Article)
    assert isinstance(fixed, Article)
    assert fixed.id == first.id
    assert fixed.version > first.version
    assert fixed.content_hash != first.content_hash


def test_canceled_is_a_kill_above_every_version_and_withheld_a_hold_at_its_time() -> None:
    kill = parse_ninjs(_bytes(pubstatus="canceled"), source="ninjs", ingested_at=NOW)
    hold = parse_ninjs(_bytes(pubstatus="withheld"), source="ninjs", ingested_at=NOW)
    article = parse_ninjs(_bytes(), source="ninjs", ingested_at=NOW)
    assert isinstance(kill, StatusEvent)
    assert isinstance(hold, StatusEvent)
    assert isinstance(article, Article)
    assert kill.id == hold.id == article.id
    assert kill.version == KILL_VERSION > article.version
    assert hold.version == article.version  # the same moment: a later version releases it


def test_a_kill_needs_nothing_but_the_uri() -> None:
    event = parse_ninjs(
        b'{"uri": "urn:x", "pubstatus": "canceled"}', source="http", ingested_at=NOW
    )
    assert isinstance(event, StatusEvent)
    assert event.at == NOW


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"{nope", "invalid_json"),
        (b"[]", "invalid_ninjs"),
        (b'{"headlines": []}', "invalid_ninjs"),
        (b'{"uri": "urn:x"}', "empty_body"),
    ],
)
def test_bad_documents_get_stable_codes(data: bytes, code: str) -> None:
    with pytest.raises(ArticleRejected) as caught:
        parse_ninjs(data, source="http")
    assert caught.value.code == code


_TEXT = st.text(min_size=0, max_size=60)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(
    headline=_TEXT,
    body=st.text(min_size=0, max_size=300),
    language=st.sampled_from(["en", "EN-us", "es-419", "x", "zh-Hant-TW", ""]),
    subjects=st.lists(_TEXT, max_size=5),
    by=_TEXT,
    html=st.booleans(),
)
def test_whatever_a_valid_item_holds_the_article_meets_the_contract(
    headline: str, body: str, language: str, subjects: list[str], by: str, html: bool
) -> None:
    data = _bytes(
        headlines=[{"value": headline}],
        bodies=[{"contenttype": "text/html" if html else "text/plain", "value": body}],
        language=language,
        subjects=[{"name": s} for s in subjects],
        by=by,
    )
    made: Article | StatusEvent | ArticleRejected
    try:
        made = parse_ninjs(data, source="prop", ingested_at=NOW)
    except ArticleRejected as rejected:
        made = rejected
    if isinstance(made, ArticleRejected):
        assert made.code in {"empty_body", "invalid_ninjs"}
        return
    assert isinstance(made, Article)
    assert Article.model_validate(made.model_dump()) == made


def test_a_ninjs_item_and_its_kill_become_records_keyed_alike() -> None:
    limits = InputLimits.of(Settings())
    version = parse_item(Item(_bytes(), "http:x", format="ninjs"), limits)
    kill = parse_item(Item(_bytes(pubstatus="canceled"), "http:x", format="ninjs"), limits)
    assert isinstance(version, Prepared)
    assert isinstance(kill, Prepared)
    assert kill.id == version.id
    assert kill.version == KILL_VERSION
    assert dict(version.headers)["event"] == b"article"
    assert dict(kill.headers)["event"] == b"status"
    assert StatusEvent.model_validate_json(kill.value).event == "canceled"


def test_an_invalid_ninjs_upload_is_a_rejection_with_its_code() -> None:
    verdict = parse_item(Item(b'{"uri": 5}', "http:x", format="ninjs"), InputLimits.of(Settings()))
    assert isinstance(verdict, ArticleRejected)
    assert verdict.code == "invalid_ninjs"
