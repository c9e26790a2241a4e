"""The v1 article contract: model rules, serialisation, helpers and the committed JSON Schema."""

from __future__ import annotations

import json
import sys
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from services.common.article import (
    EXAMPLES,
    SCHEMA_PATH,
    SCHEMA_VERSION,
    VERSION_OFFSET_MS,
    Article,
    Tweet,
    article_json_schema,
    compute_id,
    identity_text,
    is_collapsed,
    normalise_category,
    schema_text,
    trusted_article,
    version_of,
    write_schema,
)
from services.ingest.language import detect_language
from services.ingest.parser import parse_path
from services.ingest.text import count_words, cut_text, derive_title, first_sentence
from tests.factories import INGESTED_AT, REFERENCE_SEED, make_article, seed_files

V2_FIELDS = {"uri", "embargoed", "urgency", "subjects", "byline"}
# make_article()'s content hash under contract v1 (before v2 existed).
EXAMPLES_V1_HASH = "sha256:35e39db91c2545b0dbab73c45d040a9e59ca9d8597004ccef1e9f4108c1a6ba9"


def test_schema_version_is_two_and_one_is_still_read() -> None:
    assert SCHEMA_VERSION == 2
    assert article_json_schema()["properties"]["schema_version"]["enum"] == [1, 2]
    assert make_article().schema_version == 2
    v1 = {k: v for k, v in make_article().model_dump(mode="json").items() if k not in V2_FIELDS}
    old = Article.model_validate(v1 | {"schema_version": 1})
    assert old.schema_version == 1
    assert old.embargoed is None
    assert old.subjects == ()


def test_the_v1_schema_file_is_kept_and_v1_records_meet_both_schemas() -> None:
    v1_schema = json.loads((SCHEMA_PATH.parent / "article.v1.json").read_text(encoding="utf-8"))
    v2_schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    record = {
        k: v for k, v in make_article().model_dump(mode="json").items() if k not in V2_FIELDS
    } | {"schema_version": 1}
    assert list(Draft202012Validator(v1_schema).iter_errors(record)) == []
    assert list(Draft202012Validator(v2_schema).iter_errors(record)) == []


def test_a_seed_article_keeps_its_v1_content_hash() -> None:
    # The hash never named the contract version it was made under: a re-ingest after the
    # upgrade is the same version, not a rival edit.
    assert make_article().content_hash == EXAMPLES_V1_HASH


def test_committed_schema_file_is_up_to_date() -> None:
    # Regenerate with: .venv/bin/python -m services.common.article
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "services/common/schema/article.v1.json is stale: run python -m services.common.article"
    )


def test_write_schema_writes_the_generated_text(tmp_path: Path) -> None:
    path = write_schema(tmp_path / "sub" / "article.json")
    assert json.loads(path.read_text(encoding="utf-8")) == article_json_schema()


def test_schema_is_a_valid_draft_2020_12_schema_with_required_fields() -> None:
    schema = article_json_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(Article.model_fields) - V2_FIELDS


def test_every_seed_article_validates_against_the_committed_schema() -> None:
    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    for path in seed_files():
        document = json.loads(parse_path(path).model_dump_json())
        errors = [error.message for error in validator.iter_errors(document)]
        assert errors == [], path


def test_schema_examples_come_from_the_reference_seed() -> None:
    article = parse_path(REFERENCE_SEED)
    document = article.model_dump(mode="json")
    for field in ("id", "category", "published_date", "updated_at", "title", "summary"):
        assert EXAMPLES[field] == document[field], field
    for field in ("word_count", "language", "content_hash"):
        assert EXAMPLES[field] == document[field], field
    assert EXAMPLES["source"] == REFERENCE_SEED.relative_to(REFERENCE_SEED.parents[1]).as_posix()
    assert document["body"].startswith(EXAMPLES["body"].removesuffix("\n\n…"))
    assert [t.model_dump(mode="json") for t in article.tweets] == [
        json.loads(json.dumps(example))
        for example in article_json_schema()["properties"]["tweets"]["examples"][0]
    ]


def test_schema_examples_validate_against_the_schema() -> None:
    schema = article_json_schema()
    example = {name: prop["examples"][0] for name, prop in schema["properties"].items()}
    example["tweets"] = schema["properties"]["tweets"]["examples"][0]
    assert list(Draft202012Validator(schema).iter_errors(example)) == []
    assert Article.model_validate(example).id == EXAMPLES["id"]


def test_model_is_frozen_and_forbids_extra_fields() -> None:
    article = make_article()
    with pytest.raises(ValidationError):
        article.title = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        Article.model_validate(article.model_dump() | {"colour": "red"})
    with pytest.raises(ValidationError, match="extra"):
        Tweet.model_validate(
            {"text": "t", "author": "a", "handle": "h", "posted_date": "2020-01-01", "x": 1}
        )
    assert hash(article) == hash(make_article())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "ABCDEF0123456789"),
        ("id", "abc"),
        ("schema_version", 3),
        ("urgency", 0),
        ("urgency", 10),
        ("subjects", [""]),
        ("uri", ""),
        ("embargoed", "2020-01-08T03:36:00"),
        ("category", ""),
        ("language", "eng"),
        ("content_hash", "md5:abc"),
        ("word_count", -1),
        ("title", ""),
        ("updated_at", datetime(2020, 1, 8, 3, 36)),
        ("ingested_at", "2020-01-08T03:36:00"),
    ],
)
def test_model_rejects_values_outside_the_contract(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Article.model_validate(make_article().model_dump() | {field: value})


def test_datetimes_serialise_as_utc_with_a_trailing_z() -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    article = make_article(updated_at=datetime(2020, 1, 8, 9, 6, tzinfo=india))
    assert article.updated_at == datetime(2020, 1, 8, 3, 36, tzinfo=UTC)
    document = json.loads(article.model_dump_json())
    assert document["updated_at"] == "2020-01-08T03:36:00.000Z"
    assert document["ingested_at"] == "2024-05-01T12:00:00.000Z"
    assert document["published_date"] == "2020-01-08"
    assert "+00:00" not in article.model_dump_json()


def test_missing_updated_at_serialises_as_null() -> None:
    assert json.loads(make_article(updated=None).model_dump_json())["updated_at"] is None


def test_datetimes_keep_milliseconds_so_json_round_trips_exactly() -> None:
    moment = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    article = make_article(ingested_at=moment)
    assert article.ingested_at == moment.replace(microsecond=123000)
    assert Article.model_validate_json(article.model_dump_json()) == article


def test_json_round_trip_with_tweets() -> None:
    tweet = {"text": "Hi.", "author": "Ann Lee", "handle": "annlee", "posted_date": "2021-01-03"}
    article = make_article(tweets=[tweet])
    assert article.tweets == (Tweet.model_validate(tweet),)
    assert Article.model_validate_json(article.model_dump_json()) == article


def test_version_counts_milliseconds_from_year_one() -> None:
    updated = datetime(2020, 1, 8, 3, 36, 0, 250000, tzinfo=UTC)
    offset = VERSION_OFFSET_MS
    assert offset == (datetime(1970, 1, 1, tzinfo=UTC) - datetime(1, 1, 1, tzinfo=UTC)) // (
        timedelta(milliseconds=1)
    )
    assert version_of(date(2020, 1, 8), updated) == 1578454560250 + offset
    assert version_of(date(2020, 1, 8), None) == 1578441600000 + offset
    assert make_article(updated=None, date="2020-01-08").version == 1578441600000 + offset


def test_every_version_from_year_one_to_9999_is_a_valid_external_version() -> None:
    # Elasticsearch takes external versions from 0 to 2^63 - 1.
    first = version_of(date(1, 1, 1), None)
    last = version_of(date(9999, 12, 31), datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC))
    assert first == 0
    assert 0 < last < 2**63 - 1
    assert version_of(date(1969, 12, 31), None) > 0


def test_versions_keep_time_order_across_1970() -> None:
    days = [
        date(1, 1, 1),
        date(1066, 10, 14),
        date(1890, 5, 1),
        date(1969, 12, 31),
        date(1970, 1, 1),
    ]
    versions = [version_of(day, None) for day in days]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)
    older = version_of(date(1890, 5, 1), datetime(1890, 5, 1, 9, 0, tzinfo=UTC))
    newer = version_of(date(1890, 5, 1), datetime(1890, 5, 2, 9, 0, tzinfo=UTC))
    assert version_of(date(1890, 5, 1), None) < older < newer


def test_version_never_uses_the_ingest_time() -> None:
    early = make_article(ingested_at=datetime(2020, 1, 1, tzinfo=UTC))
    late = make_article(ingested_at=datetime(2030, 1, 1, tzinfo=UTC))
    assert early.version == late.version


# --- helpers ----------------------------------------------------------------------------------


def test_normalise_category() -> None:
    assert normalise_category("  Science  And\tTech ") == "science and tech"
    assert normalise_category("") == ""


def test_identity_text_folds_case_width_and_whitespace() -> None:
    assert identity_text("  Straße\u00a0ＡＢＣ \n x ") == "strasse abc x"


def test_trusted_article_is_what_validation_makes() -> None:
    tweet = {"text": "Hi.", "author": "Ann Lee", "handle": "annlee", "posted_date": "2020-01-08"}
    validated = Article.model_validate(make_article(tweets=[tweet]).model_dump())
    fields = {name: getattr(validated, name) for name in Article.model_fields}
    trusted = trusted_article(fields)
    assert type(trusted) is Article
    assert trusted == validated
    assert list(trusted.__dict__.items()) == list(validated.__dict__.items())
    assert trusted.model_fields_set == validated.model_fields_set
    assert trusted.model_fields_set is not trusted_article(dict(fields)).model_fields_set
    assert trusted.__pydantic_extra__ == validated.__pydantic_extra__
    assert trusted.__pydantic_private__ == validated.__pydantic_private__
    assert trusted.model_dump_json() == validated.model_dump_json()
    with pytest.raises(ValidationError):
        trusted.title = "changed"  # type: ignore[misc]
    # What trusted_article leaves out, the model must not use.
    assert Article.__pydantic_post_init__ is None
    assert not Article.__private_attributes__
    assert all(
        f.alias is None and f.validation_alias is None for f in Article.model_fields.values()
    )


# Text heavy in the characters collapsing and case folding care about.
_spacey_text = st.text(
    alphabet=st.sampled_from(list("ab AZ.ß\u0130\uff21\u00a8\t\n\r\x0b\x1f\x85\xa0\u2028\u3000")),
    max_size=40,
)


@given(_spacey_text | st.text(max_size=40))
def test_identity_text_is_nfkc_casefolded_and_collapsed(text: str) -> None:
    expected = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    assert identity_text(text) == expected


def test_is_collapsed_knows_every_space() -> None:
    spaces = [char for char in map(chr, range(sys.maxunicode + 1)) if char.isspace()]
    assert len(spaces) > 20
    for space in spaces:
        assert is_collapsed(f"a{space}b") is (space == " "), hex(ord(space))
        assert is_collapsed(f"ä{space}b") is (space == " "), hex(ord(space))
        assert not is_collapsed(f"a{space}"), hex(ord(space))


@given(_spacey_text | st.text(max_size=40))
def test_is_collapsed_means_split_and_join_change_nothing(text: str) -> None:
    assert is_collapsed(text) is (" ".join(text.split()) == text)


def test_compute_id_is_stable_and_sixteen_hex_chars() -> None:
    first = compute_id(date(2020, 1, 8), "world", "A lede.")
    assert first == compute_id(date(2020, 1, 8), "World", "  a   LEDE. ")
    assert len(first) == 16
    assert int(first, 16) >= 0
    assert first != compute_id(date(2020, 1, 9), "world", "A lede.")


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly ten", 11, "exactly ten"),
        ("one two three four", 12, "one two…"),
        ("one two, three four", 13, "one two…"),
        ("x" * 30, 10, "xxxxxxxxx…"),
    ],
)
def test_cut_text(text: str, limit: int, expected: str) -> None:
    assert cut_text(text, limit) == expected
    assert len(cut_text(text, limit)) <= limit


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("One. Two.", "One."),
        ("What now? Nobody knows.", "What now?"),
        ("“Go,” he said. Then left.", "“Go,” he said."),
        ("He said “stop.” Then left.", "He said “stop.”"),
        ("Dr. Who arrived. Later.", "Dr. Who arrived."),
        ("Prices rose 2.5 percent. Then fell.", "Prices rose 2.5 percent."),
        ("It ended at 5 p.m. on Sunday. Then.", "It ended at 5 p.m. on Sunday."),
        ("no end in sight", "no end in sight"),
    ],
)
def test_first_sentence(text: str, sentence: str) -> None:
    assert first_sentence(text) == sentence


def test_derive_title_drops_the_full_stop_but_keeps_other_marks() -> None:
    assert derive_title("Rain returns. More later.") == "Rain returns"
    assert derive_title("Rain returns? More later.") == "Rain returns?"
    assert derive_title("Wait... More later.") == "Wait..."
    assert derive_title(".") == "."


def test_fast_word_count_matches_the_general_one_on_every_seed() -> None:
    for path in seed_files():
        article = parse_path(path)
        assert article.word_count == count_words(article.body), path


def test_count_words() -> None:
    assert count_words("One two — three.\n\nFour") == 4
    assert count_words("") == 0
    assert count_words("One two — three.\n\nFour", paragraphs=2) == 4
    assert count_words("", paragraphs=0) == 0


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The cat sat on the mat and it was happy with the result.", "en"),
        ("De kat zat op de mat en het was een mooie dag voor iedereen.", "nl"),
        ("O gato está em casa e não quer sair para a rua com os amigos.", "pt"),
        ("東京で新しい駅が開業しました。", "ja"),
        ("北京今天下雨了很多人没有带伞", "zh"),
        ("서울에서 새로운 지하철 노선이 개통되었습니다", "ko"),
        ("وقال الوزير إن الخطة لن تتغير", "ar"),
        ("\u0590 not letters but in a script range", "en"),
        ("", "en"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_language_ties_are_broken_the_same_way_in_every_process() -> None:
    # Three Spanish-only and three Portuguese-only stop words: alphabetical order decides.
    assert detect_language("el los del os do da") == "es"


def test_factory_overrides_are_validated_and_verbatim() -> None:
    article = make_article(word_count=5, source="elsewhere")
    assert article.word_count == 5
    assert article.source == "elsewhere"
    assert article.ingested_at == INGESTED_AT
    with pytest.raises(ValidationError):
        make_article(language="english")
