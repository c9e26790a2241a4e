"""Response models: the OpenAPI contract of the query API, with examples."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Total(BaseModel):
    """How many documents match; ``exact`` is false past 10,000."""

    value: int = Field(examples=[1])
    exact: bool = Field(examples=[True])


class SearchItem(BaseModel):
    """One hit."""

    id: str = Field(examples=["14d38489e204ff07"])
    title: str
    title_html: str = Field(description="The title, HTML-escaped, matches in <mark>.")
    category: str = Field(examples=["world"])
    published_date: str = Field(examples=["2020-01-08"])
    updated_at: str | None = Field(examples=["2020-01-08T03:36:00.000Z"])
    snippet: str = Field(description="HTML-escaped text, matches in <mark>…</mark>.")
    score: float | None
    has_tweets: bool


class Bucket(BaseModel):
    """A facet value and how many documents have it."""

    value: str
    count: int


class DateBucket(BaseModel):
    """A date histogram bucket."""

    date: str = Field(examples=["2020-01-01"])
    count: int


class Facets(BaseModel):
    """Disjunctive facet counts, only those asked for."""

    category: list[Bucket] | None = None
    handle: list[Bucket] | None = None
    published: list[DateBucket] | None = None


class SearchResponse(BaseModel):
    """A page of results."""

    total: Total
    items: list[SearchItem]
    facets: Facets
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    took_ms: int


class TweetOut(BaseModel):
    """An embedded tweet."""

    text: str
    author: str
    handle: str
    posted_date: str


class ArticleOut(BaseModel):
    """A stored article (the contract of services/common/article.py plus index fields)."""

    model_config = ConfigDict(extra="allow")

    id: str
    schema_version: int
    category: str
    published_date: str
    updated_at: str | None
    title: str
    title_derived: bool
    summary: str
    body: str
    tweets: list[TweetOut]
    word_count: int
    language: str
    content_hash: str
    source: str
    ingested_at: str
    indexed_at: str | None = None


class RelatedResponse(BaseModel):
    """Articles like the given one (never the article itself)."""

    items: list[SearchItem]


class Trend(BaseModel):
    """A term that stands out in the selection against the whole archive."""

    term: str
    score: float
    doc_count: int
    bg_count: int


class TrendsResponse(BaseModel):
    """Significant terms of the selection."""

    documents: int = Field(description="Documents in the selection (sampled).")
    terms: list[Trend]


class PipelineStatus(BaseModel):
    """Kafka lag per partition, DLQ depth, index freshness and health of every component."""

    kafka: dict[str, Any]
    index: dict[str, Any]
    health: dict[str, str]


class DeadLetter(BaseModel):
    """One rejected input, as an operator needs to see it."""

    code: str = Field(examples=["malformed_header"])
    message: str
    source: str = Field(examples=["seeds/broken.txt"])
    stage: str = Field(examples=["ingest"])
    failed_at: str
    timestamp: int
    partition: int
    offset: int
    payload_bytes: int
    payload_head: str


class DeadLetters(BaseModel):
    """The newest dead letters, newest first."""

    items: list[DeadLetter]


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine-readable ``code``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://newswire.dev/problems/invalid_query"])
    title: str = Field(examples=["Bad request"])
    status: int = Field(examples=[400])
    detail: str = Field(examples=["a phrase is missing its closing quote (at character 1)"])
    code: str = Field(examples=["unterminated_phrase"])
    instance: str = Field(examples=["/v1/search"])


_MEANINGS = {
    400: "Malformed query, cursor or parameter",
    404: "No such resource",
    422: "A parameter failed validation",
    503: "Elasticsearch or Kafka unavailable",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses, all served as application/problem+json."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": _MEANINGS[status],
            "model": Problem,
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }
