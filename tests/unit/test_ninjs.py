"""ninjs 2.x in: IPTC's own schema and test suite decide validity; the reader keeps the rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.errors import ArticleRejected
from services.common.ninjs_schema import MAX_DEPTH, depth, problems
from services.ingest.html_text import html_paragraphs
from services.ingest.ninjs_reader import read_ninjs

SUITE = Path(__file__).resolve().parents[1] / "fixtures" / "ninjs"
CASES = sorted(SUITE.rglob("*.json"))


def test_the_suite_is_there() -> None:
    assert len([c for c in CASES if "should_fail" in c.parts]) >= 8
    assert len([c for c in CASES if "should_fail" not in c.parts]) >= 25


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_iptc_test_suite_verdicts(case: Path) -> None:
    found = problems(json.loads(case.read_text()))
    if "should_fail" in case.parts:
        assert found, "IPTC says this document is invalid"
    else:
        assert found == []


def test_a_document_nested_too_deep_is_refused_before_validation() -> None:
    doc: dict[str, Any] = {"uri": "urn:x"}
    here = doc
    for _ in range(5000):
        here["associations"] = [{"uri": "urn:y", "name": "n"}]
        here = here["associations"][0]
    assert depth(doc) > MAX_DEPTH
    assert problems(doc) == [f"nested more than {MAX_DEPTH} levels deep"]


def _item(**extra: Any) -> dict[str, Any]:
    return {
        "uri": "urn:newsml:example.com:20261202:abc",
        "headlines": [{"role": "main", "value": "Floods in  Hunan"}],
        "bodies": [{"contenttype": "text/plain", "value": "First para.\n\nSecond para."}],
        **extra,
    }


def test_a_plain_item_is_read() -> None:
    item = read_ninjs(
        _item(
            versioncreated="2026-12-02T10:00:00+01:00",
            language="en-GB",
            urgency=3,
            subjects=[{"name": "Weather"}, {"name": "Weather"}, {"name": "China"}],
        ),
        "t",
    )
    assert item.headline == "Floods in Hunan"
    assert item.paragraphs == ("First para.", "Second para.")
    assert item.version_created == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert item.language == "en"
    assert item.urgency == 3
    assert item.subjects == ("Weather", "China")
    assert item.pubstatus == "usable"


def test_html_bodies_win_over_plain_text_and_keep_their_paragraphs() -> None:
    bodies = [
        {"role": "main", "contenttype": "text/plain", "value": "One blob of text."},
        {
            "role": "richtext",
            "contenttype": "text/html",
            "value": "<p>One &amp; two</p><p>Three</p>",
        },
    ]
    assert read_ninjs(_item(bodies=bodies), "t").paragraphs == ("One & two", "Three")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-02", datetime(2026, 12, 2, tzinfo=UTC)),
        ("2026-12-02T10:00:00Z", datetime(2026, 12, 2, 10, tzinfo=UTC)),
        ("2026-12-02T10:00:00.123-05:00", datetime(2026, 12, 2, 15, 0, 0, 123000, tzinfo=UTC)),
    ],
)
def test_dates_are_read_to_utc(value: str, expected: datetime) -> None:
    assert read_ninjs(_item(embargoed=value), "t").embargoed == expected


@pytest.mark.parametrize("value", ["2026-12-02T10:00:00", "yesterday", "", "2026-13-45"])
def test_a_date_without_offset_or_unreadable_is_refused(value: str) -> None:
    with pytest.raises(ArticleRejected) as caught:
        read_ninjs(_item(versioncreated=value), "t")
    assert caught.value.code == "malformed_date"


@pytest.mark.parametrize("value", [0, 10, 2.5, -1])
def test_urgency_outside_one_to_nine_is_refused(value: float) -> None:
    with pytest.raises(ArticleRejected) as caught:
        read_ninjs(_item(urgency=value), "t")
    assert caught.value.code == "invalid_ninjs"


def test_schema_problems_are_invalid_ninjs_with_where() -> None:
    with pytest.raises(ArticleRejected) as caught:
        read_ninjs({"uri": "urn:x", "pubstatus": "deleted"}, "t")
    assert caught.value.code == "invalid_ninjs"
    assert "pubstatus" in str(caught.value)


def test_a_usable_item_needs_a_body_a_kill_does_not() -> None:
    with pytest.raises(ArticleRejected) as caught:
        read_ninjs({"uri": "urn:x"}, "t")
    assert caught.value.code == "empty_body"
    assert read_ninjs({"uri": "urn:x", "pubstatus": "canceled"}, "t").paragraphs == ()


def test_html_hides_scripts_styles_and_embedded_documents() -> None:
    markup = (
        "<p>Seen <b>bold</b></p><script>var x = '<p>no</p>';</script><style>p{}</style>"
        "<svg><text>no</text></svg><iframe>no</iframe><div>also seen<br/>next</div>"
    )
    assert html_paragraphs(markup) == ["Seen bold", "also seen", "next"]


@given(st.text(alphabet=st.sampled_from("<>/&;#pbr scriptdiv=\"'x\n"), max_size=300))
def test_html_reduction_never_fails_and_gives_clean_paragraphs(markup: str) -> None:
    for paragraph in html_paragraphs(markup):
        assert paragraph == paragraph.strip()
        assert paragraph
        assert "  " not in paragraph


def test_a_uri_too_long_or_blank_is_refused() -> None:
    for uri in ["   ", "u" * 3000]:
        with pytest.raises(ArticleRejected) as caught:
            read_ninjs(_item(uri=uri), "t")
        assert caught.value.code == "invalid_ninjs"
