"""The peer: quixstreams' ``ElasticsearchSink`` on the article topic, tuned as its docs allow.

Run as ``python -m services.bench.peer READY_FILE`` with the settings of ``procs.child_env``:
it consumes ``topic_articles`` as consumer group ``indexer_group`` into the index
``index_alias`` (created with the indexer's mapping), and touches READY_FILE once its
partitions are assigned. quixstreams comes from the optional ``bench`` extra.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Any

from services.common.clock import utc_now_iso
from services.common.settings import Settings, get_settings
from services.indexer.mapping import language_fields, load_mapping, source_version

FETCH_BYTES = 16 * 1024 * 1024
MISSING = (
    "quixstreams (the bench's peer) is not installed: run `make setup`, which installs the "
    "optional bench extra, or: uv pip install -c constraints.txt --override bench-overrides.txt "
    "-e '.[bench]'"
)


def available() -> bool:
    """Whether quixstreams (the ``bench`` extra) is installed: asked before a run starts."""
    return importlib.util.find_spec("quixstreams") is not None


def peer_settings(settings: Settings) -> dict[str, Any]:
    """Every knob the peer is run with: the report's ``peer.settings``, and what ``main`` uses."""
    return {
        "library": "quixstreams ElasticsearchSink",
        "version": _version("quixstreams"),
        "elasticsearch_client": _version("elasticsearch"),
        "application": {
            "broker_address": settings.kafka_bootstrap,
            "consumer_group": settings.indexer_group,
            "auto_offset_reset": "earliest",
            # A checkpoint (sink flush, then commit) every 3,000 records, or each second for
            # the tail; checkpoints block consumption, so fewer is faster.
            "commit_every": 3000,
            "commit_interval": 1.0,
            "processing_guarantee": "at-least-once",
            "use_changelog_topics": False,  # stateless: no changelog, no RocksDB writes
            "consumer_extra_config": {
                "fetch.max.bytes": FETCH_BYTES,
                "max.partition.fetch.bytes": FETCH_BYTES,
            },
            "loglevel": "WARNING",
        },
        "topic": {"name": settings.topic_articles, "value_deserializer": "json (orjson)"},
        "sink": {
            "index": settings.index_alias,
            "mapping": "services/indexer mapping (deploy/elasticsearch/news-articles.json)",
            # The sink hands each chunk to elasticsearch.helpers.bulk, whose own chunk_size
            # (500 docs) it does not expose: that is what reaches Elasticsearch per request.
            "batch_size": 3000,
            "max_bulk_retries": 3,
            "request_timeout": 120,
        },
        "transform": "the indexer's derived fields (has_tweets, version, indexed_at, language)",
        "connectivity_check": "cluster.health instead of GET / (405 on the integ-test zip)",
        "timed_from": "partitions assigned (the indexer: /readyz, partitions assigned too)",
    }


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def enrich(value: dict[str, Any]) -> dict[str, Any]:
    """The document the indexer writes for this article JSON, from plain dict work."""
    value["has_tweets"] = bool(value.get("tweets"))
    value["version"] = source_version(value)
    value["indexed_at"] = utc_now_iso()
    value.update(language_fields(value["language"], value["title"], value["body"]))
    return value


def main(ready: Path) -> None:
    """Consume until SIGTERM."""
    if not available():
        sys.exit(MISSING)
    settings = get_settings()
    tuned = peer_settings(settings)
    state = tempfile.mkdtemp(prefix="newswire-peer-")
    app_class, sink_class = _classes(ready)
    app = app_class(**tuned["application"], state_dir=state)
    topic = app.topic(settings.topic_articles, value_deserializer="json")
    sink = sink_class(
        url=settings.es_url,
        index=settings.index_alias,
        mapping=load_mapping(),
        batch_size=tuned["sink"]["batch_size"],
        max_bulk_retries=tuned["sink"]["max_bulk_retries"],
        request_timeout=tuned["sink"]["request_timeout"],
    )
    app.dataframe(topic).apply(enrich).sink(sink)
    app.run()


def _classes(ready: Path) -> tuple[Any, Any]:
    """The application and the sink, each changed only where the bench needs it."""
    from elasticsearch import Elasticsearch
    from quixstreams import Application
    from quixstreams.sinks.community.elasticsearch import ElasticsearchSink

    class PeerApp(Application):  # type: ignore[misc,unused-ignore]
        """Says when its partitions are assigned: the bench times the peer from there, as it
        times the indexer from its /readyz (partitions assigned too)."""

        def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
            super()._on_assign(consumer, partitions)
            if partitions:
                ready.touch()

    class PeerSink(ElasticsearchSink):  # type: ignore[misc,unused-ignore]
        """The sink, its write path untouched; only its start-up check differs."""

        def setup(self) -> None:
            # The stock setup calls GET /, which the integ-test distribution answers 405.
            self._client = Elasticsearch(**self._client_kwargs)
            self._client.cluster.health()
            self._create_index()  # type: ignore[no-untyped-call,unused-ignore]

    return PeerApp, PeerSink


if __name__ == "__main__":
    main(Path(sys.argv[1]))
