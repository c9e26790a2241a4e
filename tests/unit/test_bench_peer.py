"""The peer's settings (as reported) and its documents (as the indexer writes them)."""

from __future__ import annotations

from typing import Any

from services.bench.drain import round_settings, summary
from services.bench.peer import FETCH_BYTES, enrich, peer_settings
from services.common.settings import Settings
from services.indexer.mapping import source_version


def test_the_peer_reads_the_topic_from_the_start_with_large_fetches() -> None:
    settings = Settings(topic_articles="t.articles", indexer_group="g", index_alias="i")
    tuned = peer_settings(settings)
    app = tuned["application"]
    assert app["consumer_group"] == "g"
    assert app["auto_offset_reset"] == "earliest"
    assert app["consumer_extra_config"]["fetch.max.bytes"] == FETCH_BYTES == 16 * 1024 * 1024
    assert app["commit_every"] > 0
    assert tuned["topic"]["name"] == "t.articles"
    assert tuned["sink"]["index"] == "i"
    assert "orjson" in tuned["topic"]["value_deserializer"]
    assert tuned["version"]  # the installed quixstreams, or "not installed"


def test_each_round_has_its_own_group_and_index_on_the_same_topic() -> None:
    settings = Settings(topic_articles="t.articles", indexer_group="g", index_alias="i")
    first, second = round_settings(settings, "peer", 0), round_settings(settings, "indexer", 1)
    assert first.topic_articles == second.topic_articles == "t.articles"
    assert len({first.indexer_group, second.indexer_group, "g"}) == 3
    assert len({first.index_alias, second.index_alias, "i"}) == 3


def test_the_summary_takes_medians_and_keeps_every_run() -> None:
    runs = {"indexer": [3.0, 1.0, 2.0], "peer": [1.0, 2.0]}
    got = summary({"runs": runs})
    assert got["indexer_docs_per_s"] == 2.0
    assert got["peer_docs_per_s"] == 1.5
    assert got["peer_runs_docs_per_s"] == [1.0, 2.0]


def test_the_peer_writes_the_derived_fields_the_indexer_writes() -> None:
    value: dict[str, Any] = {
        "language": "en",
        "title": "T",
        "body": "B",
        "tweets": [],
        "published_date": "2024-03-01",
        "updated_at": None,
    }
    doc = enrich(dict(value))
    assert doc["has_tweets"] is False
    assert doc["version"] == source_version(value)
    assert doc["indexed_at"].endswith("Z")
