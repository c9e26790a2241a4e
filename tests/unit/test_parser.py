"""The seed-format and JSON parsers: every format rule, every rejection code, identity."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.article import Article, compute_uri_id, version_of
from services.common.errors import ArticleRejected
from services.ingest.dates import parse_updated
from services.ingest.json_parser import parse_json_article
from services.ingest.parser import parse_article, parse_path
from tests.factories import (
    DEFAULT_LEDE,
    INGESTED_AT,
    REFERENCE_SEED,
    SEEDS_DIR,
    make_article,
    seed_files,
    seed_text,
    tweet_paragraph,
)


def parse(text: str, source: str = "test.txt") -> Article:
    return parse_article(text.encode(), source=source, ingested_at=INGESTED_AT)


def rejection(data: bytes | str, max_bytes: int = 1_048_576) -> ArticleRejected:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(ArticleRejected) as info:
        parse_article(raw, source="bad.txt", max_bytes=max_bytes)
    assert info.value.source == "bad.txt"
    return info.value


def updated_utc(value: str, day: str = "2020-01-08") -> datetime | None:
    return parse(seed_text(date=day, updated=value)).updated_at


# --- the reference seed ---------------------------------------------------------------------


def test_reference_seed_parses_to_the_documented_article() -> None:
    article = parse_path(REFERENCE_SEED)

    assert article.category == "world"
    assert article.published_date == date(2020, 1, 8)
    assert article.updated_at == datetime(2020, 1, 8, 3, 36, tzinfo=UTC)
    assert article.title_derived is True
    assert article.body.startswith("The US department of defence confirmed")
    assert article.body.endswith("UN Security Council meeting.")
    assert len(article.body.split("\n\n")) == 11
    assert article.language == "en"
    assert article.source == str(REFERENCE_SEED)
    assert [t.model_dump() for t in article.tweets] == [
        {
            "text": (
                "All is well! Missiles launched from Iran at two military bases located in Iraq. "
                "Assessment of casualties & damages taking place now. So far, so good! We have "
                "the most powerful and well equipped military anywhere in the world, by far! I "
                "will be making a statement tomorrow morning."
            ),
            "author": "Donald J. Trump",
            "handle": "realDonaldTrump",
            "posted_date": date(2020, 1, 8),
        }
    ]


def test_every_seed_file_parses() -> None:
    files = seed_files()
    assert len(files) >= 12
    for path in files:
        article = parse_path(path)
        assert article.body, path


def test_seed_files_are_named_after_their_article_id() -> None:
    for path in seed_files():
        if path == REFERENCE_SEED:
            continue  # named before the id scheme existed; kept as given
        match = re.fullmatch(r"[0-9]{3}_([0-9a-f]{16})\.txt", path.name)
        assert match is not None, path.name
        assert parse_path(path).id == match[1], path.name


def test_seed_files_cover_the_format_variants() -> None:
    raw = {path.name: path.read_bytes() for path in seed_files()}
    assert any(b"\r\n" in data for data in raw.values()), "one seed has CRLF line ends"
    assert any(data.startswith(b"\xef\xbb\xbf") for data in raw.values()), "one seed has a BOM"
    articles = [parse_path(path) for path in seed_files()]
    assert any(a.updated_at is None for a in articles)
    assert any(" " in a.category for a in articles)
    assert sum(len(a.tweets) >= 2 for a in articles) >= 1


def test_seed_edit_keeps_the_id_and_carries_a_newer_version() -> None:
    by_id: dict[str, list[Article]] = {}
    for path in seed_files():
        article = parse_path(path)
        by_id.setdefault(article.id, []).append(article)
    edits = [versions for versions in by_id.values() if len(versions) > 1]
    assert len(edits) == 1
    older, newer = edits[0]
    assert newer.version > older.version
    assert newer.content_hash != older.content_hash
    assert newer.summary == older.summary


# --- header -----------------------------------------------------------------------------------


def test_header_may_have_surrounding_whitespace_and_multi_word_category() -> None:
    text = seed_text(category="  Science  And Tech ", header_indent="   ")
    article = parse(text.replace("Tech ", "Tech \t  ", 1))
    assert article.category == "science and tech"


def test_category_is_lowercased_and_header_keyword_case_insensitive() -> None:
    article = parse(seed_text(category="WORLD News").replace("date ", "Date ", 1))
    assert article.category == "world news"


def test_header_date_is_the_published_date() -> None:
    assert parse(seed_text(date="2024-02-29")).published_date == date(2024, 2, 29)


def test_header_may_follow_leading_blank_lines() -> None:
    assert parse("\n\n  \n" + seed_text()).category == "world"


# --- Updated: line ----------------------------------------------------------------------------


def test_updated_line_is_optional() -> None:
    article = parse(seed_text(updated=None))
    assert article.updated_at is None
    assert article.body.startswith(DEFAULT_LEDE)


def test_updated_line_may_directly_follow_the_header_and_precede_the_lede() -> None:
    text = "date 2020-01-08 world\nUpdated: Jan 08, 2020 09:06 IST\nThe lede is here."
    article = parse(text)
    assert article.updated_at == datetime(2020, 1, 8, 3, 36, tzinfo=UTC)
    assert article.body == "The lede is here."


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jan 08, 2020 09:06 IST", datetime(2020, 1, 8, 3, 36)),
        ("Jan 8, 2020 9:06 IST", datetime(2020, 1, 8, 3, 36)),
        ("January 8, 2020 09:06 IST", datetime(2020, 1, 8, 3, 36)),
        ("Sept 8, 2020 09:06 IST", datetime(2020, 9, 8, 3, 36)),
        ("jan 08 2020 09:06 ist", datetime(2020, 1, 8, 3, 36)),
        ("Jan 08, 2020 02:00 IST", datetime(2020, 1, 7, 20, 30)),
        ("Jan 08, 2020 09:06 UTC", datetime(2020, 1, 8, 9, 6)),
        ("Jan 08, 2020 09:06 GMT", datetime(2020, 1, 8, 9, 6)),
        ("Jul 08, 2020 09:06 BST", datetime(2020, 7, 8, 8, 6)),
        ("Jan 08, 2020 09:06 CET", datetime(2020, 1, 8, 8, 6)),
        ("Jul 08, 2020 09:06 CEST", datetime(2020, 7, 8, 7, 6)),
        ("Jan 08, 2020 09:06 EST", datetime(2020, 1, 8, 14, 6)),
        ("Jul 08, 2020 09:06 EDT", datetime(2020, 7, 8, 13, 6)),
        ("Jan 08, 2020 09:06 PST", datetime(2020, 1, 8, 17, 6)),
        ("Jul 08, 2020 09:06 PDT", datetime(2020, 7, 8, 16, 6)),
        ("Jan 08, 2020 09:06 CST", datetime(2020, 1, 8, 15, 6)),
        ("Jan 08, 2020 09:06 MST", datetime(2020, 1, 8, 16, 6)),
        ("Jan 08, 2020 09:06 JST", datetime(2020, 1, 8, 0, 6)),
        ("Jan 08, 2020 09:06 AEDT", datetime(2020, 1, 7, 22, 6)),
        ("Jan 08, 2020 09:06 SGT", datetime(2020, 1, 8, 1, 6)),
        ("Jan 08, 2020 09:06 HKT", datetime(2020, 1, 8, 1, 6)),
        ("Jan 08, 2020 09:06 PKT", datetime(2020, 1, 8, 4, 6)),
        ("Jan 08, 2020 09:06 EET", datetime(2020, 1, 8, 7, 6)),
        ("Jan 08, 2020 09:06 WET", datetime(2020, 1, 8, 9, 6)),
        ("Jan 08, 2020 09:06 MSK", datetime(2020, 1, 8, 6, 6)),
        ("Jan 08, 2020 09:06 Asia/Kolkata", datetime(2020, 1, 8, 3, 36)),
    ],
)
def test_updated_zones_convert_to_utc(value: str, expected: datetime) -> None:
    assert updated_utc(value) == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jan 08, 2020 9:06 pm IST", datetime(2020, 1, 8, 15, 36)),
        ("Jan 08, 2020 9:06 PM IST", datetime(2020, 1, 8, 15, 36)),
        ("Jan 08, 2020 9:06pm IST", datetime(2020, 1, 8, 15, 36)),
        ("Jan 08, 2020 9:06 p.m. IST", datetime(2020, 1, 8, 15, 36)),
        ("Jan 08, 2020 9:06 am IST", datetime(2020, 1, 8, 3, 36)),
        # 12:xx am is just after midnight, 12:xx pm just after noon.
        ("Jan 08, 2020 12:05 am UTC", datetime(2020, 1, 8, 0, 5)),
        ("Jan 08, 2020 12:05 pm UTC", datetime(2020, 1, 8, 12, 5)),
        ("Jan 08, 2020 11:59 pm UTC", datetime(2020, 1, 8, 23, 59)),
        ("Jan 08, 2020 12:30 AM IST", datetime(2020, 1, 7, 19, 0)),
    ],
)
def test_updated_twelve_hour_clock(value: str, expected: datetime) -> None:
    assert updated_utc(value) == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Generic zones follow daylight saving for the date in question.
        ("Jul 08, 2020 09:00 ET", datetime(2020, 7, 8, 13, 0)),
        ("Jan 08, 2020 09:00 ET", datetime(2020, 1, 8, 14, 0)),
        ("Jul 08, 2020 09:00 PT", datetime(2020, 7, 8, 16, 0)),
        ("Jan 08, 2020 09:00 PT", datetime(2020, 1, 8, 17, 0)),
        ("Jul 08, 2020 09:00 CT", datetime(2020, 7, 8, 14, 0)),
        ("Jan 08, 2020 09:00 MT", datetime(2020, 1, 8, 16, 0)),
        # The US switched back to standard time on Nov 1, 2020.
        ("Oct 31, 2020 11:45 PM ET", datetime(2020, 11, 1, 3, 45)),
        ("Nov 4, 2020 11:45 PM ET", datetime(2020, 11, 5, 4, 45)),
    ],
)
def test_updated_generic_zones_follow_daylight_saving(value: str, expected: datetime) -> None:
    assert updated_utc(value) == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jan 08, 2020 09:06 +05:30", datetime(2020, 1, 8, 3, 36)),
        ("Jan 08, 2020 09:06 +0530", datetime(2020, 1, 8, 3, 36)),
        ("Jan 08, 2020 09:06 UTC+5:30", datetime(2020, 1, 8, 3, 36)),
        ("Jan 08, 2020 09:06 UTC+05", datetime(2020, 1, 8, 4, 6)),
        ("Jan 08, 2020 09:06 GMT-4", datetime(2020, 1, 8, 13, 6)),
        ("Jan 08, 2020 09:06 -03:00", datetime(2020, 1, 8, 12, 6)),
        ("Jan 08, 2020 09:06 \u221203:00", datetime(2020, 1, 8, 12, 6)),
        ("Jan 08, 2020 09:06 +00:00", datetime(2020, 1, 8, 9, 6)),
        ("Jan 08, 2020 3:00 p.m. GMT-4", datetime(2020, 1, 8, 19, 0)),
    ],
)
def test_updated_numeric_offsets(value: str, expected: datetime) -> None:
    assert updated_utc(value) == expected.replace(tzinfo=UTC)


def test_updated_seconds_are_kept() -> None:
    assert updated_utc("Jan 08, 2020 09:06:42 UTC") == datetime(2020, 1, 8, 9, 6, 42, tzinfo=UTC)


def test_parse_updated_accepts_the_value_without_the_prefix() -> None:
    assert parse_updated("Jan 08, 2020 09:06 IST") == datetime(2020, 1, 8, 3, 36, tzinfo=UTC)


# --- paragraphs and body ----------------------------------------------------------------------


def test_paragraphs_are_separated_by_any_number_of_blank_lines() -> None:
    paragraphs = ["First paragraph.", "Second paragraph.", "Third paragraph."]
    one = parse(seed_text(paragraphs=paragraphs))
    many = parse(seed_text(paragraphs=paragraphs, blank_lines=4))
    assert one.body == many.body == "First paragraph.\n\nSecond paragraph.\n\nThird paragraph."


def test_blank_lines_may_hold_whitespace() -> None:
    text = "date 2020-01-08 world\n\nFirst one.\n   \t\n\u00a0\nSecond one.\n  \n"
    assert parse(text).body == "First one.\n\nSecond one."


def test_wrapped_lines_and_runs_of_spaces_are_collapsed() -> None:
    text = "date 2020-01-08 world\n\n  First   line\nwraps here.  \n\nSecond\tone.\n"
    assert parse(text).body == "First line wraps here.\n\nSecond one."


def test_lede_may_directly_follow_the_header() -> None:
    article = parse("date 2020-01-08 world\nThe lede.\n\nMore.")
    assert article.updated_at is None
    assert article.body == "The lede.\n\nMore."


def test_clean_and_messy_paragraphs_keep_their_order() -> None:
    text = "date 2020-01-08 world\n\nOne.\n\nTwo\twith tab.\n\nThree.\n \nFour\nwrapped.\n\n\nFive."
    assert parse(text).body.split("\n\n") == [
        "One.",
        "Two with tab.",
        "Three.",
        "Four wrapped.",
        "Five.",
    ]


def test_body_keeps_tweet_paragraphs() -> None:
    tweet = tweet_paragraph("Big news today.", "Jane Doe", "janedoe", "2021-05-04")
    article = parse(seed_text(paragraphs=["Lede sentence here.", tweet, "Closing words."]))
    assert article.body == f"Lede sentence here.\n\n{tweet}\n\nClosing words."


# --- tweets -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dash", ["—", "–", "--"])
def test_tweets_are_extracted_with_any_dash(dash: str) -> None:
    tweet = tweet_paragraph("Big news today.", "Jane Q. Doe", "jane_doe", "2021-05-04", dash=dash)
    article = parse(seed_text(paragraphs=["Lede sentence.", tweet]))
    assert [t.model_dump() for t in article.tweets] == [
        {
            "text": "Big news today.",
            "author": "Jane Q. Doe",
            "handle": "jane_doe",
            "posted_date": date(2021, 5, 4),
        }
    ]


def test_several_tweets_keep_their_order_and_abbreviated_months_work() -> None:
    paragraphs = [
        "Lede sentence.",
        "First tweet text. — Ann Lee (@annlee) Jan 3, 2021",
        "Some reporting between the tweets.",
        "Second tweet — with a dash inside. — Bo Chan (@BoChan99) Sept 12, 2021",
    ]
    tweets = parse(seed_text(paragraphs=paragraphs)).tweets
    assert [(t.handle, t.posted_date, t.text) for t in tweets] == [
        ("annlee", date(2021, 1, 3), "First tweet text."),
        ("BoChan99", date(2021, 9, 12), "Second tweet — with a dash inside."),
    ]


def test_tweet_text_may_be_empty() -> None:
    tweets = parse(seed_text(paragraphs=["Lede.", "— Ann Lee (@annlee) January 3, 2021"])).tweets
    assert [(t.text, t.author) for t in tweets] == [("", "Ann Lee")]


@pytest.mark.parametrize(
    "paragraph",
    [
        "A mention of (@someone) in passing, posted 2021.",
        "He wrote — Ann Lee (@annlee) on January 3, 2021",
        "Bad date — Ann Lee (@annlee) February 30, 2021",
        "Unknown month — Ann Lee (@annlee) Smarch 3, 2021",
        "Handle too long — Ann Lee (@a_handle_far_too_long) January 3, 2021",
        "No dash Ann Lee (@annlee) January 3, 2021",
    ],
)
def test_paragraphs_that_are_not_tweets(paragraph: str) -> None:
    article = parse(seed_text(paragraphs=["Lede.", paragraph]))
    assert article.tweets == ()
    assert paragraph in article.body


# --- derived fields ---------------------------------------------------------------------------


def test_title_is_the_first_sentence_of_the_lede() -> None:
    article = parse(seed_text(lede="Rain returns to the valley. Farmers welcome the change."))
    assert article.title == "Rain returns to the valley"
    assert article.title_derived is True


def test_title_sentence_does_not_end_at_abbreviations_or_initials() -> None:
    lede = "Mr. Esper met Donald J. Trump and U.S. officials on Monday. They talked."
    assert parse(seed_text(lede=lede)).title == (
        "Mr. Esper met Donald J. Trump and U.S. officials on Monday"
    )


def test_long_title_is_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    lede = " ".join(["word"] * 60) + "."
    title = parse(seed_text(lede=lede)).title
    assert len(title) <= 100
    assert title.endswith("word…")


def test_summary_is_the_lede_cut_to_300_chars() -> None:
    lede = "Short sentence one. " + " ".join(["longer"] * 80)
    summary = parse(seed_text(lede=lede)).summary
    assert len(summary) <= 300
    assert summary.endswith("longer…")
    assert lede.startswith(summary[:-1])
    short = parse(seed_text(lede="Just this."))
    assert short.summary == "Just this."


def test_word_count_counts_words_not_lone_dashes() -> None:
    article = parse(seed_text(paragraphs=["One two three — four.", "Five six."]))
    assert article.word_count == 6


@pytest.mark.parametrize(
    ("lede", "language"),
    [
        ("The minister said on Monday that the plan was not going to be changed.", "en"),
        ("El ministro dijo el lunes que el plan no se va a cambiar por ahora.", "es"),
        ("Le ministre a déclaré lundi que le plan ne sera pas modifié pour le moment.", "fr"),
        (
            "Der Minister sagte am Montag, dass der Plan nicht geändert wird und auch so bleibt.",
            "de",
        ),
        ("Il ministro ha detto che il piano non sarà cambiato per la prima volta.", "it"),
        ("Министр заявил в понедельник, что план не будет изменён.", "ru"),
        ("मंत्री ने सोमवार को कहा कि योजना में बदलाव नहीं किया जाएगा।", "hi"),
        ("12345 67890", "en"),
    ],
)
def test_language_is_guessed_from_stop_words_and_scripts(lede: str, language: str) -> None:
    assert parse(seed_text(paragraphs=[lede])).language == language


def test_ingested_at_is_set_at_parse_time_in_utc() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    article = parse_article(seed_text().encode(), source="x")
    assert before <= article.ingested_at <= datetime.now(UTC)
    assert article.ingested_at.tzinfo is not None
    assert article.ingested_at.utcoffset() is not None
    assert json.loads(article.model_dump_json())["ingested_at"].endswith("Z")


def test_naive_ingested_at_is_taken_as_utc() -> None:
    article = parse_article(seed_text().encode(), source="x", ingested_at=datetime(2024, 1, 1))
    assert article.ingested_at == datetime(2024, 1, 1, tzinfo=UTC)


def test_parsed_articles_pass_full_model_validation() -> None:
    # The parser builds articles without validation for speed: prove they are valid anyway.
    for path in seed_files():
        article = parse_path(path)
        assert Article.model_validate(article.model_dump()) == article
        assert Article.model_validate_json(article.model_dump_json()) == article


# --- identity ---------------------------------------------------------------------------------


def test_identity_survives_encoding_and_layout_changes() -> None:
    base = seed_text()
    article = parse(base, source="a.txt")
    variants = [
        seed_text(bom=True),
        seed_text(newline="\r\n"),
        seed_text(newline="\r"),
        seed_text(blank_lines=3),
        seed_text(header_indent="  ").replace("\n", "   \n"),
        seed_text(category="  World "),
        base + "\n\n\n",
    ]
    for text in variants:
        other = parse(text, source="renamed/b.txt")
        assert other.id == article.id, repr(text[:40])
        assert other.content_hash == article.content_hash, repr(text[:40])
        assert other.body == article.body


def test_identity_ignores_unicode_normal_form_and_case_of_the_lede() -> None:
    lede = "Café owners in Zürich protest the new rules."
    article = parse(seed_text(lede=lede))
    decomposed = parse(seed_text(lede=unicodedata.normalize("NFD", lede)))
    shouted = parse(seed_text(lede=lede.upper()))
    assert decomposed.id == article.id
    assert decomposed.content_hash == article.content_hash
    assert shouted.id == article.id


def test_identity_is_sixteen_hex_chars_and_depends_on_date_category_and_lede() -> None:
    article = make_article()
    assert re.fullmatch(r"[0-9a-f]{16}", article.id)
    assert make_article().id == article.id
    assert make_article(date="2020-01-09").id != article.id
    assert make_article(category="business").id != article.id
    assert make_article(lede="A different story entirely.").id != article.id
    assert make_article(updated="Jan 09, 2020 10:00 IST").id == article.id
    assert make_article(paragraphs=[DEFAULT_LEDE, "Another ending."]).id == article.id


def test_edit_keeps_id_with_newer_version_and_new_content_hash() -> None:
    older = make_article(updated="Jan 08, 2020 09:06 IST")
    newer = make_article(
        updated="Jan 08, 2020 11:30 pm IST",
        paragraphs=[DEFAULT_LEDE, "A corrected later paragraph."],
    )
    assert newer.id == older.id
    assert newer.version > older.version
    assert newer.content_hash != older.content_hash


def test_content_hash_changes_with_content_but_not_with_source_or_ingest_time() -> None:
    article = make_article()
    assert make_article(source="elsewhere", ingested_at=datetime.now(UTC)).content_hash == (
        article.content_hash
    )
    assert make_article(category="business").content_hash != article.content_hash
    assert make_article(updated=None).content_hash != article.content_hash
    assert make_article(paragraphs=[DEFAULT_LEDE, "Changed."]).content_hash != (
        article.content_hash
    )


def test_version_falls_back_to_the_published_day_not_the_ingest_time() -> None:
    article = make_article(updated=None, date="2020-01-08")
    assert article.version == version_of(date(2020, 1, 8), None)
    updated = make_article(updated="Jan 08, 2020 09:06 IST")
    assert updated.version == version_of(date(2020, 1, 8), datetime(2020, 1, 8, 3, 36, tzinfo=UTC))


# --- rejections -------------------------------------------------------------------------------


def test_too_large_is_checked_before_decoding() -> None:
    error = rejection(b"\xff" * 2000, max_bytes=1024)
    assert error.code == "too_large"
    assert "2000 bytes" in error.message
    assert "1024" in error.message


def test_exactly_at_the_limit_is_accepted() -> None:
    text = seed_text().encode()
    assert parse_article(text, source="x", max_bytes=len(text)).id


def test_undecodable_bytes() -> None:
    error = rejection(b"date 2020-01-08 world\n\nCaf\xe9 society.")
    assert error.code == "undecodable"
    assert "offset 26" in error.message


def test_utf16_gets_a_hint() -> None:
    error = rejection(seed_text().encode("utf-16"))
    assert error.code == "undecodable"
    assert "UTF-16" in error.message


@pytest.mark.parametrize("text", ["", "   \n\n\t \n", "\ufeff"])
def test_empty_input_is_missing_its_header(text: str) -> None:
    error = rejection(text)
    assert error.code == "missing_header"
    assert "empty" in error.message


def test_body_text_first_is_missing_its_header() -> None:
    error = rejection("The US department of defence confirmed that Iran launched.\n\nMore.")
    assert error.code == "missing_header"
    assert "got 'The US department of defence confirmed…'" in error.message


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("dte 2020-01-08 world", "got 'dte 2020-01-08 world'"),
        ("date 2020/01/08 world", "got 'date 2020/01/08 world'"),
        ("date 20-01-08 world", "YYYY-MM-DD"),
        ("date world 2020-01-08", "YYYY-MM-DD"),
        ("date 2020-01-08world", "YYYY-MM-DD"),
        ("date 2020-01-08", "no category"),
        ("date 2020-01-08   ", "no category"),
        ("world 2020-01-08", "YYYY-MM-DD"),
        ("date 2020-01-08 " + "very long category " * 5, "over 64"),
    ],
)
def test_malformed_header(header: str, fragment: str) -> None:
    error = rejection(f"{header}\n\nA lede paragraph.")
    assert error.code == "malformed_header"
    assert fragment in error.message


@pytest.mark.parametrize("day", ["2021-02-30", "2021-13-01", "2021-00-10", "0000-01-01"])
def test_impossible_date(day: str) -> None:
    error = rejection(f"date {day} world\n\nA lede paragraph.")
    assert error.code == "impossible_date"
    assert day in error.message


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("yesterday", "must look like"),
        ("Jan 08, 2020", "must look like"),
        ("Jan 08, 2020 09:06", "no time zone"),
        ("Jan 08, 2020 09:06 XYZ", "unknown time zone 'XYZ'"),
        ("Jan 08, 2020 09:06 Mars/Olympus", "unknown time zone"),
        ("Smarch 08, 2020 09:06 IST", "unknown month 'Smarch'"),
        ("Feb 30, 2020 09:06 IST", "impossible date"),
        ("Jan 08, 2020 25:06 IST", "impossible time"),
        ("Jan 08, 2020 09:61 IST", "impossible time"),
        ("Jan 08, 2020 13:06 pm IST", "12-hour clock"),
        ("Jan 08, 2020 0:06 am IST", "12-hour clock"),
        ("Jan 08, 2020 09:06 +15:00", "unknown time zone"),
        ("Jan 08, 2020 09:06 +05:75", "unknown time zone"),
        ("Dec 31, 9999 23:00 -05:00", "out of range"),
        ("", "must look like"),
    ],
)
def test_malformed_updated(value: str, fragment: str) -> None:
    error = rejection(seed_text(updated=value))
    assert error.code == "malformed_updated"
    assert fragment in error.message


@pytest.mark.parametrize(
    "text",
    [
        "date 2020-01-08 world",
        "date 2020-01-08 world\n\n\n   \n",
        "date 2020-01-08 world\n\nUpdated: Jan 08, 2020 09:06 IST\n\n",
    ],
)
def test_empty_body(text: str) -> None:
    assert rejection(text).code == "empty_body"


def test_parse_path_rejects_unreadable_files(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.txt", tmp_path):
        with pytest.raises(ArticleRejected) as info:
            parse_path(path)
        assert info.value.code == "unreadable"
        assert info.value.source == str(path)


def test_parse_path_never_opens_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    with pytest.raises(ArticleRejected) as info:
        parse_path(fifo)
    assert info.value.code == "unreadable"
    assert info.value.message == f"cannot read {fifo}: fifo, not a regular file"


def test_parse_path_follows_a_link_it_is_given(tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to(REFERENCE_SEED)
    assert parse_path(link).id == parse_path(REFERENCE_SEED).id


def test_parse_path_reads_no_more_than_needed(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    path.write_bytes(seed_text().encode() + b" filler" * 10_000)
    with pytest.raises(ArticleRejected) as info:
        parse_path(path, max_bytes=2048)
    assert info.value.code == "too_large"
    assert parse_path(path, max_bytes=1_000_000).source == str(path)


# --- JSON input -------------------------------------------------------------------------------


def json_rejection(data: bytes | str) -> ArticleRejected:
    with pytest.raises(ArticleRejected) as info:
        parse_json_article(data, source="http")
    assert info.value.source == "http"
    return info.value


MINIMAL = {
    "category": " World ",
    "published_date": "2020-01-08",
    "body": seed_text(updated=None).split("\n", 2)[2],
}


def test_full_article_json_round_trips() -> None:
    article = make_article(tweets=[tweet_like()])
    again = parse_json_article(article.model_dump_json(), source="http", ingested_at=INGESTED_AT)
    assert again == article


def tweet_like() -> dict[str, str]:
    return {"text": "Hi.", "author": "Ann Lee", "handle": "annlee", "posted_date": "2020-01-08"}


def test_full_article_json_cannot_forge_derived_fields() -> None:
    article = make_article()
    forged = article.model_dump(mode="json") | {
        "id": "0" * 16,
        "content_hash": "sha256:" + "0" * 64,
        "word_count": 1,
        "tweets": [tweet_like()],
        "summary": "Lies.",
    }
    again = parse_json_article(json.dumps(forged), source="http", ingested_at=INGESTED_AT)
    assert again == article


def test_full_article_json_keeps_a_given_title() -> None:
    data = make_article().model_dump(mode="json") | {
        "title": "A  Real Headline",
        "title_derived": False,
    }
    article = parse_json_article(json.dumps(data), source="http")
    assert article.title == "A Real Headline"
    assert article.title_derived is False
    assert article.content_hash != make_article().content_hash


def test_minimal_json_is_normalised_like_seed_text() -> None:
    article = parse_json_article(json.dumps(MINIMAL).encode(), source="http")
    from_seed = make_article(updated=None)
    assert article.id == from_seed.id
    assert article.content_hash == from_seed.content_hash
    assert article.category == "world"
    assert article.source == "http"
    assert article.title_derived is True


def test_minimal_json_with_title_source_and_updated_at() -> None:
    data = MINIMAL | {
        "title": "Budget passes",
        "source": "wire/feed-7",
        "updated_at": "2020-01-08T09:06:00+05:30",
    }
    article = parse_json_article(json.dumps(data), source="http")
    assert article.title == "Budget passes"
    assert article.title_derived is False
    assert article.source == "wire/feed-7"
    assert article.updated_at == datetime(2020, 1, 8, 3, 36, tzinfo=UTC)


@pytest.mark.parametrize(
    "value", ["2020-01-08T03:36:00Z", "2020-01-08T03:36:00.000Z", "Jan 08, 2020 09:06 IST"]
)
def test_minimal_json_updated_at_forms(value: str) -> None:
    article = parse_json_article(json.dumps(MINIMAL | {"updated_at": value}), source="http")
    assert article.updated_at == datetime(2020, 1, 8, 3, 36, tzinfo=UTC)


def test_json_may_carry_a_bom_and_be_a_str() -> None:
    raw = json.dumps(MINIMAL)
    assert parse_json_article(b"\xef\xbb\xbf" + raw.encode(), source="x").category == "world"
    assert parse_json_article(raw, source="x").category == "world"


@pytest.mark.parametrize(
    ("data", "code", "fragment"),
    [
        ("{not json", "invalid_json", "not valid JSON"),
        ("", "invalid_json", "not valid JSON"),
        (b"\xff\xfe{}", "invalid_json", "not valid JSON"),
        ("[1, 2]", "invalid_article", "got an array"),
        ("null", "invalid_article", "got null"),
        ('"text"', "invalid_article", "got a string"),
        (json.dumps(MINIMAL | {"colour": "red"}), "invalid_article", "unknown field(s) 'colour'"),
        (json.dumps({"category": "x", "body": "b"}), "invalid_article", "'published_date'"),
        (json.dumps(MINIMAL | {"body": 7}), "invalid_article", "'body' must be a string"),
        (json.dumps(MINIMAL | {"category": "  "}), "invalid_article", "category"),
        (json.dumps(MINIMAL | {"published_date": "8 Jan"}), "invalid_article", "YYYY-MM-DD"),
        (json.dumps(MINIMAL | {"published_date": "2021-02-30"}), "impossible_date", "2021-02-30"),
        (json.dumps(MINIMAL | {"body": "\n\n  \n"}), "empty_body", "no paragraphs"),
        (json.dumps(MINIMAL | {"updated_at": "2020-01-08T03:36:00"}), "malformed_updated", "zone"),
        (json.dumps(MINIMAL | {"updated_at": "soon"}), "malformed_updated", "must look like"),
    ],
)
def test_json_rejections(data: str | bytes, code: str, fragment: str) -> None:
    error = json_rejection(data)
    assert error.code == code
    assert fragment in error.message


def test_full_article_json_must_meet_the_contract() -> None:
    data = make_article().model_dump(mode="json")
    for broken, fragment in [
        (data | {"extra": 1}, "extra"),
        (data | {"schema_version": 3}, "schema_version"),
        ({k: v for k, v in data.items() if k != "body"}, "body"),
        (data | {"updated_at": "2020-01-08T03:36:00"}, "updated_at"),
    ]:
        error = json_rejection(json.dumps(broken))
        assert error.code == "invalid_article"
        assert fragment in error.message


def test_json_too_large() -> None:
    with pytest.raises(ArticleRejected) as info:
        parse_json_article(json.dumps(MINIMAL), source="http", max_bytes=100)
    assert info.value.code == "too_large"


# --- properties -------------------------------------------------------------------------------

HEADER = "date 2020-01-08 world\n"
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


SEED_CODES = {
    "too_large",
    "undecodable",
    "missing_header",
    "malformed_header",
    "impossible_date",
    "malformed_updated",
    "empty_body",
}
JSON_CODES = {
    "invalid_json",
    "invalid_article",
    "impossible_date",
    "malformed_updated",
    "empty_body",
}


def outcome(call: Callable[[], Article]) -> Article | ArticleRejected:
    """The article, or the rejection; any other exception propagates and fails the test."""
    try:
        return call()
    except ArticleRejected as exc:
        return exc


@FAST
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_parse_or_are_rejected(data: bytes) -> None:
    result = outcome(lambda: parse_article(data, source="fuzz", max_bytes=1500))
    assert isinstance(result, Article) or result.code in SEED_CODES


@FAST
@given(st.text(max_size=1000))
def test_text_after_a_valid_header_parses_or_is_rejected(text: str) -> None:
    result = outcome(lambda: parse_article((HEADER + text).encode(), source="fuzz"))
    if isinstance(result, ArticleRejected):
        assert result.code in {"empty_body", "malformed_updated"}
    else:
        # Whatever came out is a valid article that survives the wire.
        assert Article.model_validate_json(result.model_dump_json()) == result


# Characters the format cares about, so generated inputs get deep into the parser.
_seedish = st.text(
    alphabet=st.sampled_from(
        list("date 2020-01-08 world Updated: Jan 08, 09:06 IST pm — (@x) 12.\r\n\t\u00a0\u2028\x85")
    ),
    max_size=300,
)


@FAST
@given(_seedish)
def test_seed_like_text_parses_or_is_rejected(text: str) -> None:
    result = outcome(lambda: parse_article(text.encode(), source="fuzz"))
    if isinstance(result, ArticleRejected):
        assert result.code in SEED_CODES
    else:
        assert Article.model_validate_json(result.model_dump_json()) == result


_bodyish = st.text(
    alphabet=st.sampled_from(list("ab. \n\n\n\t\r\u00a0\u2028\x85\x1c\x00")), max_size=200
)


@FAST
@given(_bodyish)
def test_body_is_the_blocks_between_blank_lines_collapsed(text: str) -> None:
    # The rule the fast paths must keep: a run of whitespace holding two or more line ends
    # separates paragraphs; every paragraph is collapsed to single spaces; empty ones go.
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    # The control-character rule: NUL is removed; \x1c and \x85 become spaces (whitespace still).
    lines = lines.replace("\x00", "")
    paragraphs = [" ".join(block.split()) for block in re.split(r"\n\s*\n", lines)]
    body = "\n\n".join(filter(None, paragraphs))
    result = outcome(lambda: parse_article((HEADER + "\n" + text).encode(), source="fuzz"))
    if body:
        assert isinstance(result, Article)
        assert result.body == body
    else:
        assert isinstance(result, ArticleRejected)
        assert result.code == "empty_body"


_zone = st.sampled_from(["IST", "ET", "pt", "UTC+5:30", "+0530", "GMT-4", "XYZ", "Asia/Tokyo", ""])
_updated_lines = st.builds(
    "Updated: {} {}, {} {}:{:02d} {} {}".format,
    st.sampled_from(["Jan", "February", "Sept", "Foo", "may"]),
    st.integers(0, 32),
    st.integers(1, 9999),
    st.integers(0, 25),
    st.integers(0, 61),
    st.sampled_from(["", "am", "PM", "p.m."]),
    _zone,
)


@FAST
@given(_updated_lines, st.text(max_size=200))
def test_random_updated_lines_parse_or_are_rejected(line: str, body: str) -> None:
    data = f"{HEADER}{line}\n\nLede. {body}".encode()
    result = outcome(lambda: parse_article(data, source="fuzz"))
    if isinstance(result, ArticleRejected):
        assert result.code == "malformed_updated"
    else:
        assert result.updated_at is not None
        assert result.updated_at.utcoffset() is not None


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
_json_objects = st.fixed_dictionaries(
    {},
    optional={
        "category": _json_values | st.text(max_size=20),
        "published_date": _json_values | st.dates().map(date.isoformat),
        "body": _json_values | st.text(max_size=200),
        "updated_at": _json_values | st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
        "title": _json_values,
        "source": _json_values,
        "id": _json_values,
    },
)


@FAST
@given(_json_objects | _json_values)
def test_arbitrary_json_parses_or_is_rejected(value: object) -> None:
    result = outcome(lambda: parse_json_article(json.dumps(value), source="fuzz"))
    if isinstance(result, ArticleRejected):
        assert result.code in JSON_CODES
    else:
        assert Article.model_validate_json(result.model_dump_json()) == result


@FAST
@given(st.binary(max_size=500))
def test_arbitrary_json_bytes_parse_or_are_rejected(data: bytes) -> None:
    result = outcome(lambda: parse_json_article(data, source="fuzz"))
    assert isinstance(result, Article) or result.code in JSON_CODES


def test_seeds_dir_is_the_repo_seeds_folder() -> None:
    assert SEEDS_DIR.name == "seeds"
    assert REFERENCE_SEED.exists()


# --- control characters ---------------------------------------------------------------------


def test_control_characters_are_removed_from_the_body_and_the_id_ignores_them() -> None:
    clean = parse(seed_text(lede="A story told plainly.", paragraphs=None))
    dirty = parse(seed_text(lede="A st\x00ory\x7f told\x01 pla\x9binly.\x1b", paragraphs=None))
    assert dirty.body == clean.body
    assert dirty.id == clean.id
    assert dirty.content_hash == clean.content_hash


def test_word_splitting_control_characters_become_spaces() -> None:
    # VT, FF, the separators FS..US and NEL split words today: they still do, as one space.
    article = parse(seed_text(lede="one\x0btwo\x0cthree\x1cfour\x1ffive\x85six"))
    assert article.body.split("\n\n")[0] == "one two three four five six"


def test_tab_and_newlines_keep_their_meaning() -> None:
    article = parse(seed_text(paragraphs=["first\tpart\nwrapped", "second"]))
    assert article.body == "first part wrapped\n\nsecond"


def test_a_body_of_control_characters_only_is_an_empty_body() -> None:
    assert rejection(seed_text(paragraphs=["\x01" * 5000])).code == "empty_body"


def test_control_characters_in_the_header_category() -> None:
    article = parse(seed_text(category="wor\x00ld\x1b"))
    assert article.category == "world"
    assert parse(seed_text(category="science\x0band tech")).category == "science and tech"


def test_control_characters_in_json_fields_follow_the_same_rule() -> None:
    minimal = {
        "category": "sci\x00ence\x0btech",
        "published_date": "2020-01-08",
        "title": "A \x01 title\x7f",
        "body": "First\x02 paragraph.\n\nSecond\x1b one.",
    }
    article = parse_json_article(json.dumps(minimal).encode(), source="t", ingested_at=INGESTED_AT)
    assert article.category == "science tech"
    assert article.title == "A title"
    assert article.body == "First paragraph.\n\nSecond one."
    full = make_article().model_dump(mode="json")
    full["body"] = "\x01" + full["body"].replace(" ", " \x02", 3)
    full["category"] = "\x1bworld"
    again = parse_json_article(json.dumps(full).encode(), source="t", ingested_at=INGESTED_AT)
    assert (again.id, again.body, again.category) == (
        make_article().id,
        make_article().body,
        "world",
    )


def test_a_json_category_of_control_characters_is_refused() -> None:
    minimal = {"category": "\x01\x02", "published_date": "2020-01-08", "body": "Text."}
    with pytest.raises(ArticleRejected) as info:
        parse_json_article(json.dumps(minimal).encode(), source="t")
    assert info.value.code == "invalid_article"


def test_a_minimal_object_may_carry_the_v2_newsroom_fields() -> None:
    data = MINIMAL | {
        "embargoed": "2020-01-09T08:00:00+02:00",
        "urgency": 2,
        "subjects": ["Iran", "Iraq"],
        "byline": "Jane Doe",
        "uri": "urn:example:1",
    }
    article = parse_json_article(json.dumps(data), source="http")
    assert article.embargoed == datetime(2020, 1, 9, 6, 0, tzinfo=UTC)
    assert (article.urgency, article.subjects, article.byline) == (2, ("Iran", "Iraq"), "Jane Doe")
    assert article.id == compute_uri_id("urn:example:1")
    plain = parse_json_article(json.dumps(MINIMAL), source="http")
    assert plain.content_hash != article.content_hash


@pytest.mark.parametrize(
    ("field", "value"),
    [("urgency", 0), ("embargoed", "2020-01-09T08:00:00"), ("subjects", [""]), ("uri", "")],
)
def test_v2_fields_of_a_minimal_object_meet_the_contract(field: str, value: object) -> None:
    error = json_rejection(json.dumps(MINIMAL | {field: value}))
    assert error.code == "invalid_article"
    assert field in error.message
