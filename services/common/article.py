"""The article contract (schema v2, v1 still read): the one shape every service reads and writes.

Identity and content fingerprints are computed here so every producer derives them alike:
``id`` depends only on what makes an article *that* article (date, category, lede), while
``content_hash`` changes whenever anything a reader would see changes.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

from services.common.clock import to_iso

SCHEMA_VERSION: Final = 2
SCHEMA_ID = "urn:newswire:schema:article:v2"
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "article.v2.json"
# v2 adds the newsroom fields (uri, embargoed, urgency, subjects, byline), all optional: every
# v1 article is a valid v2 article, and v1 records already in the topic are still read.
READ_VERSIONS: Final = (1, 2)

CATEGORY_MAX_CHARS = 64
URI_MAX_CHARS = 2048

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Elasticsearch refuses negative external versions, and news archives reach back centuries:
# versions count milliseconds from 0001-01-01 UTC, so every date from year 1 to 9999 has one,
# in time order, and the largest (about 3.2e14) is far below the 2^63 limit.
VERSION_OFFSET_MS: Final = 62_135_596_800_000  # 0001-01-01 to 1970-01-01


def utc_ms(moment: datetime) -> datetime:
    """An aware datetime in UTC, truncated to milliseconds."""
    # Milliseconds are what the wire format carries: truncating makes JSON round-trips exact.
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    extra = moment.microsecond % 1000
    return moment.replace(microsecond=moment.microsecond - extra) if extra else moment


UtcDatetime = Annotated[
    AwareDatetime,
    AfterValidator(utc_ms),
    PlainSerializer(to_iso, return_type=str, when_used="json"),
]

# Examples for the JSON Schema, all taken from the reference seed seeds/000_e649af23f52b00de.txt
# (a unit test checks they still match what the parser makes of it).
_LEDE = (
    "The US department of defence confirmed that Iran launched more than a dozen ballistic "
    "missiles against its military and coalition forces at two bases in Iraq Tuesday evening "
    "US eastern time (early Wednesday morning in India). There were no reports of casualties "
    "yet. The United States has close to 6,000 troops in Iraq, to combat the Islamic State, or "
    "what remains of it, and train Iraqi forces."
)
EXAMPLE_TWEET: dict[str, Any] = {
    "text": (
        "All is well! Missiles launched from Iran at two military bases located in Iraq. "
        "Assessment of casualties & damages taking place now. So far, so good! We have the "
        "most powerful and well equipped military anywhere in the world, by far! I will be "
        "making a statement tomorrow morning."
    ),
    "author": "Donald J. Trump",
    "handle": "realDonaldTrump",
    "posted_date": "2020-01-08",
}
EXAMPLES: dict[str, Any] = {
    "id": "14d38489e204ff07",
    "category": "world",
    "published_date": "2020-01-08",
    "updated_at": "2020-01-08T03:36:00.000Z",
    "title": (
        "The US department of defence confirmed that Iran launched more than a dozen ballistic "
        "missiles…"
    ),
    "summary": (
        "The US department of defence confirmed that Iran launched more than a dozen ballistic "
        "missiles against its military and coalition forces at two bases in Iraq Tuesday evening "
        "US eastern time (early Wednesday morning in India). There were no reports of casualties "
        "yet. The United States has close to…"
    ),
    "body": _LEDE + "\n\n…",
    "word_count": 672,
    "language": "en",
    "content_hash": "sha256:94037907b1ecfed02520dfb9872c3a7a193a2e9a5efe57e903fbfca523ed4d29",
    "source": "seeds/000_e649af23f52b00de.txt",
    "ingested_at": "2024-05-01T12:00:00.000Z",
}


class Tweet(BaseModel):
    """A tweet embedded in an article, as quoted in its body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(description="The tweet text as quoted.", examples=[EXAMPLE_TWEET["text"]])
    author: str = Field(
        min_length=1, description="Display name of the author.", examples=["Donald J. Trump"]
    )
    handle: str = Field(
        pattern=r"^[A-Za-z0-9_]{1,15}$",
        description="Twitter handle without the leading @.",
        examples=["realDonaldTrump"],
    )
    posted_date: date = Field(description="Day the tweet was posted.", examples=["2020-01-08"])


class Article(BaseModel):
    """One news article, as published to Kafka and indexed in Elasticsearch."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Article",
        json_schema_extra={"description": "A Newswire news article, contract version 2."},
    )

    id: str = Field(
        pattern=r"^[0-9a-f]{16}$",
        description="Deterministic identity: sha256 of date, category and normalised lede.",
        examples=[EXAMPLES["id"]],
    )
    schema_version: Literal[1, 2] = Field(
        description="Version of this contract (1 is still read).", examples=[2]
    )
    category: str = Field(
        min_length=1,
        max_length=CATEGORY_MAX_CHARS,
        description="Lowercase, single-spaced category from the header.",
        examples=[EXAMPLES["category"]],
    )
    published_date: date = Field(
        description="Date from the header line.", examples=[EXAMPLES["published_date"]]
    )
    updated_at: UtcDatetime | None = Field(
        description="The 'Updated:' time in UTC (ISO-8601, trailing Z), null when absent.",
        examples=[EXAMPLES["updated_at"]],
    )
    title: str = Field(
        min_length=1, description="Headline, given or derived.", examples=[EXAMPLES["title"]]
    )
    title_derived: bool = Field(
        description="True when the title was derived from the lede.", examples=[True]
    )
    summary: str = Field(
        description="The lede, cut at a word boundary.", examples=[EXAMPLES["summary"]]
    )
    body: str = Field(
        min_length=1,
        description="Paragraphs separated by one blank line.",
        examples=[EXAMPLES["body"]],
    )
    tweets: tuple[Tweet, ...] = Field(
        description="Tweets embedded in the body, in order.", examples=[[EXAMPLE_TWEET]]
    )
    word_count: int = Field(
        ge=0, description="Words in the body.", examples=[EXAMPLES["word_count"]]
    )
    language: str = Field(
        pattern=r"^[a-z]{2}$",
        description="ISO 639-1 code guessed from the text.",
        examples=[EXAMPLES["language"]],
    )
    content_hash: str = Field(
        pattern=r"^sha256:[0-9a-f]{64}$",
        description="Fingerprint of the content: changes when anything a reader sees changes.",
        examples=[EXAMPLES["content_hash"]],
    )
    source: str = Field(
        description="Where the article came from: a file path, 'http', 'stdin'...",
        examples=[EXAMPLES["source"]],
    )
    ingested_at: UtcDatetime = Field(
        description="When Newswire parsed it (UTC); not part of identity or content hash.",
        examples=[EXAMPLES["ingested_at"]],
    )
    uri: str | None = Field(
        default=None,
        min_length=1,
        max_length=URI_MAX_CHARS,
        description="The provider's identity of the item (ninjs `uri`); the id derives from it.",
        examples=["urn:newsml:example.com:20200108:iran-missiles"],
    )
    embargoed: UtcDatetime | None = Field(
        default=None,
        description="Not to be shown before this time (UTC); null when not embargoed.",
        examples=["2020-01-08T06:00:00.000Z"],
    )
    urgency: int | None = Field(
        default=None, ge=1, le=9, description="Editorial urgency, 1 (highest) to 9.", examples=[3]
    )
    subjects: tuple[Annotated[str, Field(min_length=1, max_length=100)], ...] = Field(
        default=(),
        max_length=50,
        description="Subjects of the story (ninjs `subjects` names), a facet.",
        examples=[["Iran", "Iraq"]],
    )
    byline: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Who wrote it (ninjs `by`).",
        examples=["Jane Doe"],
    )

    @property
    def version(self) -> int:
        """External version for Elasticsearch: see ``version_of``."""
        return version_of(self.published_date, self.updated_at)


_FIELDS = frozenset(Article.model_fields)
_set_slot = object.__setattr__


def trusted_article(fields: dict[str, Any]) -> Article:
    """An Article from every field's value, all valid already: no validation, no copies."""
    # What model_construct does for this model (no aliases, defaults, extra or private
    # attributes, no post-init hook), without its per-field alias lookups: a tenth of a parse.
    article = Article.__new__(Article)
    _set_slot(article, "__dict__", fields)
    _set_slot(article, "__pydantic_fields_set__", set(_FIELDS))
    _set_slot(article, "__pydantic_extra__", None)
    _set_slot(article, "__pydantic_private__", None)
    return article


def version_of(published_date: date, updated_at: datetime | None) -> int:
    """The external version: ms since 0001-01-01 UTC of ``updated_at``, else of the day."""
    return epoch_ms(published_date, updated_at) + VERSION_OFFSET_MS


def epoch_ms(published_date: date, updated_at: datetime | None) -> int:
    """Unix epoch milliseconds of ``updated_at``, or of ``published_date`` at 00:00 UTC."""
    moment = updated_at or datetime(
        published_date.year, published_date.month, published_date.day, tzinfo=UTC
    )
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def normalise_category(raw: str) -> str:
    """Lowercase with single spaces: '  Science  And Tech ' -> 'science and tech'."""
    return " ".join(raw.split()).lower()


# Every character str.split() splits at but ' ' (a unit test checks the list is complete).
_ASCII_SPACES = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"
_SPACES = (
    _ASCII_SPACES
    + "\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    + "\u2028\u2029\u202f\u205f\u3000"
)


def is_collapsed(text: str) -> bool:
    """True when ``text`` is whitespace-collapsed already: no whitespace but single inner spaces."""
    if text[:1] == " " or text[-1:] == " " or "  " in text:
        return False
    # A test per kind of space is a memchr each, many times faster than split() or
    # isprintable(), which look every character up in the Unicode tables.
    return not any(map(text.__contains__, _ASCII_SPACES if text.isascii() else _SPACES))


def identity_text(text: str) -> str:
    """Text as identity sees it: NFKC, casefolded, whitespace collapsed."""
    if text.isascii():
        # ASCII is NFKC already and casefolds as it lowercases; a lede is collapsed already.
        text = text.lower()
        return text if is_collapsed(text) else " ".join(text.split())
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


# A wire has a few dozen categories: each one's identity text is worth keeping.
_category_identity = lru_cache(maxsize=1024)(identity_text)


def compute_id(published_date: date, category: str, lede: str) -> str:
    """The article id: 16 hex chars of sha256 over date, category and normalised lede."""
    category_key = _category_identity(category)
    key = f"{published_date.isoformat()}\x1f{category_key}\x1f{identity_text(lede)}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def compute_uri_id(uri: str) -> str:
    """The id of an item the provider names (ninjs ``uri``): its versions share it."""
    return hashlib.sha256(f"uri\x1f{uri}".encode()).hexdigest()[:16]


def compute_content_hash(
    *,
    category: str,
    published_date: date,
    updated_at: datetime | None,
    title: str | None,
    body: str,
    newsroom: str = "",
) -> str:
    """'sha256:<hex>' over category, dates, given title, body and ``newsroom`` fields.

    ``newsroom`` is :meth:`Newsroom.hash_key` of the v2 fields: empty for an article without them,
    so a v1 article keeps the hash it always had (a re-ingest is not a rival version).
    """
    # The update time enters as its epoch milliseconds: exact, and far cheaper than ISO text.
    updated = epoch_ms(published_date, updated_at) if updated_at else ""
    head = f"v1\x1f{category}\x1f{published_date}\x1f{updated}\x1f{title or ''}\x1f"
    digest = hashlib.sha256(head.encode())
    digest.update(body.encode())
    if newsroom:
        digest.update(b"\x1e" + newsroom.encode())
    return f"sha256:{digest.hexdigest()}"


@dataclass(frozen=True)
class Newsroom:
    """The v2 fields an agency's item carries (ninjs): none of them in a seed article."""

    uri: str | None = None
    embargoed: datetime | None = None
    urgency: int | None = None
    subjects: tuple[str, ...] = ()
    byline: str | None = None

    @classmethod
    def of(cls, holder: Any) -> Newsroom:
        """The newsroom fields of anything that has them as attributes (an Article, an item)."""
        return cls(
            uri=holder.uri,
            embargoed=holder.embargoed,
            urgency=holder.urgency,
            subjects=tuple(holder.subjects),
            byline=holder.byline,
        )

    def hash_key(self) -> str:
        """These fields as content-hash text; empty when none is set."""
        if self == NO_NEWSROOM:
            return ""
        moment = "" if self.embargoed is None else str(epoch_ms(_EPOCH.date(), self.embargoed))
        parts = [self.uri or "", moment, str(self.urgency or ""), "\x1d".join(self.subjects)]
        return "\x1f".join([*parts, self.byline or ""])


NO_NEWSROOM: Final = Newsroom()


def article_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the v2 article, as committed in schema/."""
    schema = Article.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def schema_text() -> str:
    """The schema file's exact content."""
    return json.dumps(article_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Write the JSON Schema file (run ``python -m services.common.article`` after changes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_schema())
