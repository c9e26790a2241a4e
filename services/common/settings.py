"""The one settings model: every knob is an environment variable with the ``NEWSWIRE_`` prefix."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.errors import ConfigError


def _default_dir(kind: str) -> Path:
    # Root runs Elasticsearch as an unprivileged user, who cannot enter /root: use FHS paths.
    if os.geteuid() == 0:
        return Path("/var/cache/newswire" if kind == "cache" else "/var/lib/newswire")
    if kind == "cache":
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    else:
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "newswire"


class AlertSettings(BaseSettings):
    """The knobs of saved searches (alerts): the matcher, live streams and webhooks."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_", extra="ignore")

    index_alias: str = "news-articles"
    alerts_max: int = Field(default=10_000, ge=1)  # saved searches one deployment holds
    # The matcher reads the saved searches again when its copy is older than this: an alert
    # made just before an article is posted must see it.
    alerts_reload_ms: int = Field(default=250, ge=10)
    alerts_chunk: int = Field(default=250, ge=1)  # saved searches per multi-search request
    # How long a record may stay unsearchable after the indexer committed past it before the
    # matcher gives up on it (dead-lettered or superseded): a few refresh intervals.
    alerts_visible_grace_s: float = Field(default=3.0, gt=0)
    # An embargo that lifted while no matcher ran is told late, when it lifted this recently.
    alerts_embargo_lookback_s: float = Field(default=86_400.0, ge=0)
    sse_heartbeat_s: float = Field(default=15.0, gt=0)
    sse_max_streams: int = Field(default=200, ge=1)  # open event streams per API process
    webhook_timeout_s: float = Field(default=5.0, gt=0)  # one delivery attempt, whole
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_s: float = Field(default=1.0, gt=0)  # doubled per failed attempt
    webhook_backoff_max_s: float = Field(default=300.0, gt=0)
    webhook_concurrency: int = Field(default=32, ge=1)  # attempts in flight, all alerts
    webhook_per_alert: int = Field(default=2, ge=1)  # a slow receiver holds only its own
    # Webhooks to loopback, link-local or private addresses (a local stack, tests): refused
    # unless allowed here (services/common/egress.py).
    webhook_private_targets: bool = False

    @property
    def alerts_index(self) -> str:
        """The index of saved searches."""
        return f"{self.index_alias}-alerts"

    @property
    def alert_matches_index(self) -> str:
        """What each saved search has matched so far: one document per alert and article."""
        return f"{self.index_alias}-alert-matches"

    @property
    def deliveries_index(self) -> str:
        """Webhook deliveries: the outbox and its log."""
        return f"{self.index_alias}-alert-deliveries"


class Settings(AlertSettings):
    """Configuration shared by the CLI, the four services and the local stack."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_", extra="ignore")

    # Where the servers are.
    kafka_bootstrap: str = "127.0.0.1:9092"  # a comma-separated list in a cluster
    es_url: str = "http://127.0.0.1:9200"
    es_hosts: str = ""  # more Elasticsearch nodes beside es_url, comma-separated URLs

    # Kafka contract.
    topic_articles: str = "news.articles.v1"
    topic_dlq: str = "news.articles.dlq.v1"
    topic_partitions: int = Field(default=3, ge=1)
    # None: min(3, brokers in the cluster), with min.insync.replicas 2 at 3 (ensure_topics).
    topic_replication: int | None = Field(default=None, ge=1)
    indexer_group: str = "newswire-indexer"
    # Saved searches: what the matcher found, per alert (keyed by alert id, read by SSE and
    # webhooks), and the groups of the matcher (on the article topic) and the webhook sender.
    topic_alert_events: str = "news.alerts.events.v1"
    alerts_group: str = "newswire-alerts"
    webhooks_group: str = "newswire-webhooks"

    # Elasticsearch contract.
    index_alias: str = "news-articles"
    index_version: int = Field(default=1, ge=1)

    # Ingest.
    max_article_bytes: int = Field(default=1_048_576, ge=1024)
    # An article's time is its version: one far ahead would lock it against every correction.
    max_future_skew_s: float = Field(default=86_400.0, ge=0)
    api_key: SecretStr | None = None  # required by the services; `newswire up` makes one
    watch_dir: Path | None = None  # the ingest service also watches this folder when set
    # A watched file is read once its size and mtime stayed unchanged this long (complete).
    watch_quiet_ms: int = Field(default=1000, ge=0)

    # Ingest admission: what one process takes on at once, and how long it waits for it.
    ingest_max_uploads: int = Field(default=64, ge=1)  # bodies being received or published
    # Each admitted MiB costs about 3 MiB while parsed and encoded: 32 MiB keeps RSS < 200 MiB.
    ingest_max_inflight_bytes: int = Field(default=32 * 1_048_576, ge=1024)
    ingest_body_timeout_s: float = Field(default=10.0, gt=0)  # the whole body, from the headers
    ingest_kafka_timeout_s: float = Field(default=10.0, gt=0)  # send + ack, else 503
    ingest_max_connections: int = Field(default=1000, ge=1)  # uvicorn answers 503 beyond it
    ingest_keep_alive_s: int = Field(default=5, ge=1)  # idle keep-alive connections close
    ingest_dlq_rate_per_s: float = Field(default=10.0, gt=0)  # dead letters per client address
    ingest_dlq_burst: int = Field(default=50, ge=1)

    # Indexer batching and retries.
    batch_max_docs: int = Field(default=1000, ge=1)
    batch_max_bytes: int = Field(default=8_000_000, ge=1024)
    # Freshness (publish to searchable) is this wait + one bulk + up to the index's
    # refresh_interval (500 ms, deploy/elasticsearch/news-articles.json) + the reader's poll:
    # 50 + ~50 + 500 + 50 ms keeps p99 under 1 s at 200 articles/s. A backlog fills batches
    # at once whatever the wait, so it costs no throughput; refreshing twice a second makes
    # more small segments, which merges absorb (measured in the bench's drain phase).
    batch_max_wait_ms: int = Field(default=50, ge=1)
    bulk_max_retries: int = Field(default=8, ge=0)
    # Batches written at once. Elasticsearch indexes one bulk request on about one core: on
    # two cores a second request in flight keeps the other busy (more only queue up).
    bulk_concurrency: int = Field(default=2, ge=1)
    # What one bulk request carries, uncompressed: well under Elasticsearch's
    # http.max_content_length (100 MB), whatever Kafka fetched (its limits count compressed bytes).
    bulk_max_bytes: int = Field(default=10_485_760, ge=65_536)
    bulk_backoff_max_s: float = Field(default=10.0, gt=0)

    # Stories: near-duplicates share a story id when their embeddings' cosine reaches this
    # (measured on seeds/stories/, README "Stories"), published within this many days.
    stories_enabled: bool = True
    story_threshold: float = Field(default=0.64, gt=0, le=1)
    story_window_days: int = Field(default=3, ge=0)
    # Stored articles whose vectors the indexer keeps for stories (about 1 KiB each).
    story_memory_articles: int = Field(default=100_000, ge=1_000)

    # HTTP services.
    host: str = "127.0.0.1"
    api_port: int = 8000
    ingest_port: int = 8001
    indexer_port: int = 8002
    alerts_port: int = 8003
    # Where the API finds the other services for its health view (compose: http://ingest:8001).
    ingest_url: str | None = None
    indexer_url: str | None = None
    alerts_url: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    max_query_chars: int = Field(default=500, ge=1)
    # Query API bounds: every Elasticsearch call times out, trends (the costly one) are rationed.
    search_timeout_s: float = Field(default=5.0, gt=0)
    trends_concurrency: int = Field(default=2, ge=1)
    # Related stories: none shown below this cosine to the article (measured, README "Stories").
    related_floor: float = Field(default=0.35, ge=-1, le=1)
    # mode=hybrid: the weight of meaning (knn score, (1 + cosine) / 2) beside the words'
    # BM25 score in one bool query (measured on the relevance suite, README "Stories").
    hybrid_vector_boost: float = Field(default=5.0, ge=0)
    # Opens GET /v1/pipeline/dead-letters (raw payloads); unset: the ingest key; neither: closed.
    operator_key: SecretStr | None = None

    # Logs.
    log_level: str = "INFO"
    log_format: str = "json"

    # Local stack (no Docker): where downloads and server state live, and JVM budgets.
    cache_dir: Path = Field(default_factory=lambda: _default_dir("cache"))
    state_dir: Path = Field(default_factory=lambda: _default_dir("state"))
    kafka_controller_port: int = 9093
    # Cluster mode (`newswire stack up --kafka-brokers 3 --es-nodes 3`): member i listens on
    # the first member's ports + 10*i (Kafka) and + i (Elasticsearch).
    kafka_brokers: int = Field(default=1, ge=1, le=3)
    es_nodes: int = Field(default=1, ge=1, le=3)
    kafka_heap_mb: int = Field(default=512, ge=128)
    es_heap_mb: int = Field(default=1024, ge=256, le=1024)
    stack_timeout_s: float = Field(default=120.0, gt=0)
    java_home: Path | None = None

    def required_api_key(self) -> str:
        """The API key a service must be started with; a missing or empty one is a ConfigError."""
        key = self.api_key.get_secret_value() if self.api_key is not None else ""
        if not key.strip():
            state = "empty" if self.api_key is not None else "not set"
            raise ConfigError(
                f"NEWSWIRE_API_KEY is {state}: the service will not start without a key "
                "(`newswire up` generates one; with compose, export NEWSWIRE_API_KEY)"
            )
        return key

    @property
    def index_name(self) -> str:
        """The concrete, versioned index behind the alias."""
        return f"{self.index_alias}-v{self.index_version}"

    @property
    def versions_index(self) -> str:
        """The index of every version of every article (corrections' history)."""
        return f"{self.index_alias}-versions"

    @property
    def kafka_port(self) -> int:
        """The broker port, taken from the first bootstrap address."""
        first = self.kafka_bootstrap.split(",")[0]
        return int(first.rsplit(":", 1)[1]) if ":" in first else 9092

    @property
    def es_node_urls(self) -> list[str]:
        """Every Elasticsearch node the clients may use: ``es_url`` first, then ``es_hosts``."""
        extra = [url.strip() for url in self.es_hosts.split(",") if url.strip()]
        return [self.es_url, *(url for url in extra if url != self.es_url)]

    @property
    def es_port(self) -> int:
        """The Elasticsearch HTTP port, taken from ``es_url``."""
        return urlsplit(self.es_url).port or 9200


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
