"""Response models: the OpenAPI contract of the query API, with examples."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.alerts import AlertSpec
from services.common.article import EXAMPLE_TWEET, EXAMPLES

_ITEM_EXAMPLE: dict[str, Any] = {
    "id": EXAMPLES["id"],
    "title": "Iran launched more than a dozen ballistic missiles at two bases in Iraq",
    "title_html": "Iran launched more than a dozen <mark>ballistic missiles</mark> at two bases…",
    "category": "world",
    "published_date": "2020-01-08",
    "updated_at": "2020-01-08T03:36:00.000Z",
    "snippet": "…confirmed that Iran launched more than a dozen <mark>ballistic missiles</mark>…",
    "score": 12.7,
    "has_tweets": True,
    "story_id": EXAMPLES["id"],
    "other_versions": 2,
}
_SEARCH_EXAMPLE: dict[str, Any] = {
    "total": {"value": 42, "exact": True},
    "items": [_ITEM_EXAMPLE],
    "facets": {
        "category": [{"value": "world", "count": 30}, {"value": "business", "count": 12}],
        "handle": [{"value": "realdonaldtrump", "count": 5}],
        "published": [{"date": "2020-01-01", "count": 40}, {"date": "2020-02-01", "count": 2}],
    },
    "next_cursor": "eyJhIjpbMTIuNywiMTRkMzg0ODllMjA0ZmYwNyJdLCJmIjoiYWJjIn0",
    "took_ms": 4,
}


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
    story_id: str = Field(
        description="The story this copy belongs to (rewrites, wire copies, regional editions).",
        examples=["14d38489e204ff07"],
    )
    other_versions: int = Field(
        0, description="Other copies of the story that matched, collapsed under this hit."
    )


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

    model_config = ConfigDict(json_schema_extra={"examples": [_SEARCH_EXAMPLE]})

    total: Total
    items: list[SearchItem]
    facets: Facets
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    took_ms: int
    matched: Literal["all", "most", "any"] | None = Field(
        default=None,
        description=(
            "How the words matched: all of them; when nothing had all, all but one (most) or "
            "any one (any). Phrases, +word and -word always match. Null without words."
        ),
    )
    typo_tolerant: bool = Field(
        default=False,
        description="True when nothing matched as typed and words of 5+ letters allowed typos.",
    )
    did_you_mean: str | None = Field(
        default=None, description="The query with unknown words corrected from the index's words."
    )


class TweetOut(BaseModel):
    """An embedded tweet."""

    text: str
    author: str
    handle: str
    posted_date: str


class ArticleOut(BaseModel):
    """A stored article (the contract of services/common/article.py plus index fields)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {**EXAMPLES, "schema_version": 1, "title_derived": True, "tweets": [EXAMPLE_TWEET]}
            ]
        },
    )

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
    uri: str | None = None
    embargoed: str | None = None
    urgency: int | None = None
    subjects: list[str] = []
    byline: str | None = None


class BodyChange(BaseModel):
    """What a version changed in the body, against the version before it."""

    words_added: int = Field(examples=[12])
    words_removed: int = Field(examples=[3])
    paragraphs_changed: int = Field(examples=[1])
    summary: str = Field(examples=["+12 / -3 words in 1 paragraph"])


class VersionOut(BaseModel):
    """One version in an article's history."""

    number: int = Field(description="1 for the first version, then each correction.")
    version: int = Field(description="Its external version: GET .../versions/{version}.")
    updated_at: str | None
    title: str
    title_changed: bool = Field(description="The headline differs from the version before.")
    body_change: BodyChange | None = Field(description="Null for the first version.")


class VersionsResponse(BaseModel):
    """Every version of one article, oldest first ("Updated N times": count - 1)."""

    id: str
    count: int
    versions: list[VersionOut]


class StoryResponse(BaseModel):
    """The copies of one story, oldest first."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"story_id": EXAMPLES["id"], "items": [_ITEM_EXAMPLE]}]}
    )

    story_id: str
    items: list[SearchItem]


class RelatedResponse(BaseModel):
    """Articles like the given one (never the article itself)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_ITEM_EXAMPLE]}]})

    items: list[SearchItem]


class Trend(BaseModel):
    """A term that stands out in the selection against the whole archive."""

    term: str = Field(examples=["missiles"])
    score: float = Field(examples=[3.81])
    doc_count: int = Field(description="Documents of the selection with the term.", examples=[9])
    bg_count: int = Field(description="Documents of the archive with the term.", examples=[14])


class TrendsResponse(BaseModel):
    """Significant terms of the selection."""

    documents: int = Field(description="Documents in the selection (sampled).")
    terms: list[Trend]


class PartitionLag(BaseModel):
    """One partition of the article topic as the indexer group sees it."""

    partition: int = Field(examples=[0])
    end_offset: int = Field(examples=[1200])
    committed_offset: int = Field(examples=[1180])
    lag: int = Field(description="Records not committed by the group.", examples=[20])
    lag_seconds: float = Field(
        description="Age of the oldest record not committed by the group.", examples=[1.42]
    )
    status: Literal["OK", "WARN", "STALL", "STOP", "REWIND"] = Field(
        description="Burrow-like evaluation over a sliding window of samples.", examples=["OK"]
    )


class KafkaView(BaseModel):
    """Lag of the indexer group per partition and the dead-letter topic's depth."""

    topic: str = Field(examples=["news.articles.v1"])
    group: str = Field(examples=["newswire-indexer"])
    group_members: int = Field(examples=[1])
    partitions: list[PartitionLag]
    total_lag: int = Field(examples=[20])
    dlq_depth: int = Field(examples=[3])


class Newest(BaseModel):
    """The most recently indexed article."""

    id: str = Field(examples=["14d38489e204ff07"])
    indexed_at: str = Field(examples=["2026-11-24T10:15:02.311Z"])


class IndexView(BaseModel):
    """The article index behind the alias."""

    alias: str = Field(examples=["news-articles"])
    documents: int = Field(examples=[100000])
    newest: Newest | None
    freshness_seconds: float | None = Field(
        description="Seconds since the newest article was indexed.", examples=[0.8]
    )


class Unavailable(BaseModel):
    """A backend that could not be asked."""

    error: str = Field(examples=["Kafka unavailable: KafkaConnectionError"])


class AlertsStatus(BaseModel):
    """Saved searches as the alerts service runs them: matching and webhook delivery."""

    alerts: int = Field(description="Saved searches the matcher runs.", examples=[1000])
    events_per_s: float = Field(description="Events emitted, over the last minute.")
    matcher_lag: int = Field(description="Article records the matcher has not committed.")
    embargoes_waiting: int = Field(description="Articles to match again when embargoes lift.")
    deliveries_in_flight: int = Field(description="Webhook deliveries being attempted.")
    failing_webhooks: int = Field(description="Alerts whose receiver failed its last attempt.")
    oldest_delivery_wait_s: float = Field(description="Age of the oldest undelivered event.")


class BrokerView(BaseModel):
    """One Kafka broker: up while the cluster lists it, with the partitions it leads."""

    id: int = Field(examples=[1])
    address: str | None = Field(examples=["127.0.0.1:9092"])
    state: Literal["up", "down"]
    leaders: int = Field(description="Partitions of the watched topics it leads.")


class KafkaClusterView(BaseModel):
    """The brokers and the copies of the watched topics' partitions (articles, DLQ, offsets)."""

    brokers: list[BrokerView]
    partitions: int
    under_replicated_partitions: int = Field(description="Fewer copies in sync than replicas.")
    offline_partitions: int = Field(description="No leader: neither read nor written.")


class NodeView(BaseModel):
    """One Elasticsearch node: up while it is in the cluster."""

    name: str | None = Field(examples=["newswire-1"])
    address: str = Field(examples=["127.0.0.1:9200"])
    state: Literal["up", "down"]
    master: bool = False


class SearchClusterView(BaseModel):
    """The Elasticsearch cluster: its health colour, its nodes, shards without a home."""

    status: Literal["green", "yellow", "red"]
    nodes: list[NodeView]
    unassigned_shards: int


class ClusterView(BaseModel):
    """Per broker and per node health; each side reported even when the other is away."""

    kafka: KafkaClusterView | Unavailable
    elasticsearch: SearchClusterView | Unavailable


class PipelineStatus(BaseModel):
    """Kafka lag per partition, DLQ depth, index freshness and health of every component."""

    kafka: KafkaView | Unavailable
    index: IndexView | Unavailable
    alerts: AlertsStatus | Unavailable = Field(
        default_factory=lambda: Unavailable(error="the alerts service was not asked")
    )
    cluster: ClusterView | None = None
    health: dict[str, Literal["up", "down", "unhealthy"]] = Field(
        examples=[
            {
                "api": "up",
                "kafka": "up",
                "elasticsearch": "up",
                "ingest": "up",
                "indexer": "down",
                "alerts": "up",
            }
        ]
    )


class DeadLetterView(BaseModel):
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

    items: list[DeadLetterView]


class Embargoed(BaseModel):
    """An article stored but not shown until ``embargoed``."""

    id: str
    title: str
    embargoed: str = Field(examples=["2026-12-02T18:00:00.000Z"])


class Embargoes(BaseModel):
    """Articles under embargo, the next to be lifted first."""

    total: int
    items: list[Embargoed]


class AlertLinks(BaseModel):
    """Where to reach a saved search."""

    self: str
    events: str = Field(description="Server-Sent Events of its matches.")
    deliveries: str = Field(description="Its webhook delivery log.")


class AlertView(AlertSpec):
    """A saved search as stored (never its secret)."""

    id: str
    created_at: str
    has_webhook: bool
    links: AlertLinks


class AlertCreated(AlertView):
    """A saved search just made: the only answer that shows its webhook secret."""

    secret: str | None = Field(
        description="HMAC-SHA256 key of X-Newswire-Signature-256; null without a webhook."
    )


class AlertList(BaseModel):
    """Every saved search, oldest first."""

    items: list[AlertView]


class DeliveryAttempt(BaseModel):
    """One POST to a webhook and what came of it."""

    model_config = ConfigDict(extra="allow")

    at: str
    status_code: int | None = None
    error: str | None = None
    ms: float | None = None


class Delivery(BaseModel):
    """One event for a webhook: its state and its attempts."""

    model_config = ConfigDict(extra="allow")

    delivery_id: str
    status: str = Field(examples=["delivered"], description="pending, delivered, failed, canceled")
    kind: str
    attempts: int
    created_at: str
    next_at: str
    log: list[DeliveryAttempt]


class Deliveries(BaseModel):
    """An alert's deliveries, newest first."""

    items: list[Delivery]


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine-readable ``code``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="The page documenting ``code``, relative to this API.",
        examples=["/problems/unterminated_phrase"],
    )
    title: str = Field(examples=["Bad request"])
    status: int = Field(examples=[400])
    detail: str = Field(examples=["a phrase is missing its closing quote (at character 1)"])
    code: str = Field(examples=["unterminated_phrase"])
    instance: str = Field(examples=["/v1/search"])


_MEANINGS = {
    400: "Malformed query, cursor or parameter",
    401: "Missing or wrong key (Authorization: Bearer)",
    404: "No such resource",
    410: "The article was killed (withdrawn for good); `killed_at` says when",
    422: "A parameter failed validation",
    503: "Elasticsearch or Kafka unavailable or busy (see Retry-After)",
    504: "Elasticsearch did not answer within the search timeout",
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
