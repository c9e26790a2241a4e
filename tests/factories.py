"""Test factories, the one place tests build seed text and articles.

``seed_text`` writes the seed format; ``make_article`` runs it through the real parser, so the
article's id, hash and derived fields are exactly what production computes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from services.common.article import Article, Tweet
from services.ingest.parser import parse_article

REPO = Path(__file__).resolve().parents[1]
SEEDS_DIR = REPO / "seeds"
REFERENCE_SEED = SEEDS_DIR / "000_e649af23f52b00de.txt"

# A fixed ingestion time, so articles built twice compare equal.
INGESTED_AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

DEFAULT_LEDE = (
    "The city council approved a new budget on Tuesday after a marathon session that ran past "
    "midnight. The plan raises spending on public transport and trims the parks department."
)
DEFAULT_PARAGRAPHS = (
    DEFAULT_LEDE,
    "Council members argued for more than six hours over the transport levy, which opponents "
    "said would fall hardest on small businesses in the old town.",
    "The mayor said the vote was a turning point. “We have waited a decade for this,” she told "
    "reporters outside the chamber.",
)

_MONTH_NAMES = (
    "January February March April May June July August September October November December"
).split()

TweetLike = Tweet | Mapping[str, Any]


def tweet_paragraph(
    text: str,
    author: str,
    handle: str,
    posted: date | str,
    *,
    dash: str = "—",
) -> str:
    """A paragraph quoting a tweet: 'text — Name (@handle) January 8, 2020'."""
    day = date.fromisoformat(posted) if isinstance(posted, str) else posted
    when = f"{_MONTH_NAMES[day.month - 1]} {day.day}, {day.year}"
    return f"{text} {dash} {author} (@{handle.lstrip('@')}) {when}"


def _tweet_paragraph(tweet: TweetLike) -> str:
    fields = tweet.model_dump() if isinstance(tweet, Tweet) else dict(tweet)
    return tweet_paragraph(
        fields["text"], fields["author"], fields["handle"], fields["posted_date"]
    )


def seed_text(
    *,
    date: date | str = "2020-01-08",
    category: str = "world",
    updated: str | None = "Jan 08, 2020 09:06 IST",
    lede: str | None = None,
    paragraphs: Sequence[str] | None = None,
    tweets: Sequence[TweetLike] = (),
    newline: str = "\n",
    blank_lines: int = 1,
    bom: bool = False,
    header_indent: str = "",
) -> str:
    """Seed-format text. ``updated`` is what follows 'Updated: ' (None: no Updated line).

    ``lede`` replaces the first paragraph; ``tweets`` are appended as tweet paragraphs;
    ``newline``, ``blank_lines``, ``bom`` and ``header_indent`` vary the layout only.
    Encode with ``.encode()`` (a BOM is the U+FEFF character at the start).
    """
    body = list(DEFAULT_PARAGRAPHS if paragraphs is None else paragraphs)
    if lede is not None:
        body[:1] = [lede]
    body.extend(_tweet_paragraph(tweet) for tweet in tweets)
    day = date if isinstance(date, str) else date.isoformat()
    blocks = [f"{header_indent}date {day} {category}"]
    if updated is not None:
        blocks.append(f"Updated: {updated}")
    blocks.extend(body)
    separator = newline * (blank_lines + 1)
    return ("\ufeff" if bom else "") + separator.join(blocks)


# seed_text() keywords that make_article() accepts besides Article fields.
_SEED_KEYWORDS = frozenset(
    {"date", "category", "updated", "lede", "paragraphs", "tweets", "newline", "blank_lines"}
)


def make_article(**overrides: Any) -> Article:
    """A valid Article made by the real parser.

    seed_text() keywords (date, category, updated, lede, paragraphs, tweets...) shape the
    content, so id and content_hash stay consistent with it; ``source`` and ``ingested_at``
    default to 'tests' and INGESTED_AT; any other keyword overrides that Article field
    verbatim (validated, not re-derived: use it to build inconsistent articles on purpose).
    """
    seed_kwargs = {key: overrides.pop(key) for key in list(overrides) if key in _SEED_KEYWORDS}
    source = overrides.pop("source", "tests")
    ingested_at = overrides.pop("ingested_at", INGESTED_AT)
    article = parse_article(
        seed_text(**seed_kwargs).encode(), source=source, ingested_at=ingested_at
    )
    if not overrides:
        return article
    return Article.model_validate({**article.model_dump(), **overrides})


def make_articles(count: int, **overrides: Any) -> list[Article]:
    """``count`` distinct articles (each a different lede), same other keywords."""
    return [
        make_article(lede=f"Story number {number}. {DEFAULT_LEDE}", **overrides)
        for number in range(count)
    ]


def seed_files() -> list[Path]:
    """Every example article in seeds/, sorted."""
    return sorted(SEEDS_DIR.glob("*.txt"))


ES_NODE = NodeConfig("http", "127.0.0.1", 9200)


def es_api_error(status: int, error: dict[str, Any], cls: type[ApiError] = ApiError) -> ApiError:
    """An ApiError as the Elasticsearch client raises it for a reply of ``status`` and ``error``."""
    meta = ApiResponseMeta(
        status=status, http_version="1.1", headers=HttpHeaders(), duration=0.01, node=ES_NODE
    )
    return cls(str(error.get("type", "")), meta=meta, body={"error": error, "status": status})


def mapping_v5() -> dict[str, Any]:
    """The article index as mapping v5 made it: embeddings as unit floats, int8 HNSW."""
    from services.indexer.mapping import load_mapping

    mapping = load_mapping()
    mapping["mappings"]["_meta"]["mapping_version"] = 5
    mapping["mappings"]["properties"]["embedding"] = {
        "type": "dense_vector",
        "dims": 256,
        "similarity": "dot_product",
        "index_options": {"type": "int8_hnsw"},
    }
    return mapping
