"""An Article from already-validated parts: every derived field is computed here, once."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from services.common.article import (
    NO_NEWSROOM,
    SCHEMA_VERSION,
    Article,
    Newsroom,
    Tweet,
    compute_content_hash,
    compute_id,
    compute_uri_id,
    trusted_article,
    utc_ms,
)
from services.ingest.dates import MONTHS, calendar_date
from services.ingest.language import detect_language
from services.ingest.text import count_words, derive_summary, derive_title

_TWEET_RE = re.compile(
    r"(?:—|–|--)\s*(?P<author>(?:(?!--)[^()—–]){1,100}?)\s*\(@(?P<handle>[A-Za-z0-9_]{1,15})\)"
    r"\s*(?P<month>[A-Za-z]{3,9})\.?\s+(?P<day>[0-9]{1,2}),?\s+(?P<year>[0-9]{4})$"
)


def _tweet(paragraph: str) -> Tweet | None:
    """The tweet a paragraph quotes when it ends in '— Name (@handle) Month D, YYYY'."""
    # Cheap tests first: almost no paragraph is a tweet.
    if not paragraph[-1:].isdigit():
        return None
    at = paragraph.rfind("(@")
    if at < 0:
        return None
    # The author is at most 100 chars, so the dash is near the '(@': never scan the whole text.
    match = _TWEET_RE.search(paragraph, max(0, at - 110))
    if match is None:
        return None
    month = MONTHS.get(match["month"].lower())
    posted = calendar_date(int(match["year"]), month, int(match["day"])) if month else None
    author = match["author"].strip()
    if posted is None or not author:
        return None
    # Validated: pydantic-core checks a small model faster than model_construct builds one.
    return Tweet(
        text=paragraph[: match.start()].rstrip(),
        author=author,
        handle=match["handle"],
        posted_date=posted,
    )


def _ingest_time(ingested_at: datetime | None) -> datetime:
    if ingested_at is None:
        ingested_at = datetime.now(UTC)
    # A naive time from a caller is taken as UTC.
    # Construction skips the model's own truncation to the milliseconds the wire carries.
    return utc_ms(ingested_at if ingested_at.tzinfo else ingested_at.replace(tzinfo=UTC))


def build_article(
    *,
    category: str,
    published_date: date,
    updated_at: datetime | None,
    paragraphs: list[str],
    source: str,
    title: str | None = None,
    ingested_at: datetime | None = None,
    body: str | None = None,
    newsroom: Newsroom = NO_NEWSROOM,
    language: str | None = None,
) -> Article:
    """An Article from already-validated parts, every derived field computed here.

    ``category`` must be normalised and ``paragraphs`` non-empty and whitespace-collapsed;
    ``body``, when the caller has it, must be the paragraphs joined by blank lines;
    ``language``, when the provider states it (ninjs), is kept instead of the guess.
    """
    lede = paragraphs[0]
    if body is None:
        body = "\n\n".join(paragraphs)
    # Every value is valid by construction (checked by the callers or computed here), so
    # validation is skipped: it would cost ~5% of the parse. Property tests re-validate whatever
    # the parser makes from arbitrary input, so a gap here fails the test suite, not production.
    return trusted_article(
        {
            "id": compute_uri_id(newsroom.uri)
            if newsroom.uri
            else compute_id(published_date, category, lede),
            "schema_version": SCHEMA_VERSION,
            "category": category,
            "published_date": published_date,
            "updated_at": utc_ms(updated_at) if updated_at else None,
            "title": title or derive_title(lede),
            "title_derived": not title,
            "summary": derive_summary(lede),
            "body": body,
            # Only a paragraph ending in a digit (the tweet's year) can quote a tweet.
            "tweets": tuple(filter(None, [_tweet(p) for p in paragraphs if p[-1].isdigit()])),
            "word_count": count_words(body, paragraphs=len(paragraphs)),
            "language": language or detect_language(body),
            "content_hash": compute_content_hash(
                category=category,
                published_date=published_date,
                updated_at=updated_at,
                title=title,
                body=body,
                newsroom=newsroom.hash_key(),
            ),
            "source": source,
            "ingested_at": _ingest_time(ingested_at),
            "uri": newsroom.uri,
            "embargoed": utc_ms(newsroom.embargoed) if newsroom.embargoed else None,
            "urgency": newsroom.urgency,
            "subjects": newsroom.subjects,
            "byline": newsroom.byline,
        }
    )
