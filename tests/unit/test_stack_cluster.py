"""The stack's cluster mode, without servers: members' ports, configs, size and replication."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.common.kafka import durability, replication_for
from services.common.settings import Settings
from services.stack.artifacts import Artifacts
from services.stack.elasticsearch import ElasticsearchServer
from services.stack.kafka import KafkaServer
from services.stack.local_stack import SHAPE_FILE, recorded_shape, with_shape


def _artifacts(tmp_path: Path) -> Artifacts:
    return Artifacts("4", "9", tmp_path / "libs", tmp_path / "es")


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_one_broker_keeps_the_single_node_config(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    server = KafkaServer(settings, _artifacts(tmp_path), tmp_path / "jdk")
    props = _props(server._properties())
    assert server.name == "kafka"
    assert server.home == tmp_path / "kafka"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert server.heap_mb == settings.kafka_heap_mb


def test_three_brokers_form_one_quorum_on_their_own_ports(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, kafka_brokers=3)
    servers = [KafkaServer(settings, _artifacts(tmp_path), tmp_path / "jdk", i) for i in range(3)]
    assert [s.name for s in servers] == ["kafka", "kafka-2", "kafka-3"]
    assert [s.ports for s in servers] == [[9092, 9093], [9102, 9103], [9112, 9113]]
    assert len({s.home for s in servers}) == 3
    for i, server in enumerate(servers):
        props = _props(server._properties())
        assert props["node.id"] == str(i + 1)
        voters = "1@127.0.0.1:9093,2@127.0.0.1:9103,3@127.0.0.1:9113"
        assert props["controller.quorum.voters"] == voters
        assert props["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{server.port}"
        assert props["offsets.topic.replication.factor"] == "3"
        assert props["transaction.state.log.min.isr"] == "2"
        assert int(props["replica.fetch.max.bytes"]) >= int(props["message.max.bytes"])
        assert server.heap_mb <= 384


def test_one_node_of_elasticsearch_is_single_node(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    server = ElasticsearchServer(settings, _artifacts(tmp_path), tmp_path / "jdk")
    config = server._config()
    assert "discovery.type: single-node" in config
    assert server.process.pid_file == tmp_path / "elasticsearch.pid"
    assert server.heap_mb == settings.es_heap_mb


def test_three_nodes_discover_each_other_on_loopback(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, es_nodes=3)
    nodes = [
        ElasticsearchServer(settings, _artifacts(tmp_path), tmp_path / "jdk", i) for i in range(3)
    ]
    assert [n.ports for n in nodes] == [[9200, 9300], [9201, 9301], [9202, 9302]]
    assert [n.name for n in nodes] == ["elasticsearch", "elasticsearch-2", "elasticsearch-3"]
    for i, node in enumerate(nodes):
        config = node._config()
        assert "single-node" not in config
        assert f"node.name: newswire-{i + 1}" in config
        assert 'discovery.seed_hosts: ["127.0.0.1:9300", "127.0.0.1:9301", "127.0.0.1:9302"]' in (
            config
        )
        assert 'cluster.initial_master_nodes: ["newswire-1", "newswire-2", "newswire-3"]' in config
        assert node.heap_mb <= 512


def test_the_size_given_wins_and_is_found_again_from_the_state_dir(tmp_path: Path) -> None:
    settings = with_shape(Settings(state_dir=tmp_path), 3, 2)
    assert settings.kafka_bootstrap == "127.0.0.1:9092,127.0.0.1:9102,127.0.0.1:9112"
    assert settings.es_node_urls == ["http://127.0.0.1:9200", "http://127.0.0.1:9201"]
    (tmp_path / SHAPE_FILE).write_text(json.dumps({"kafka_brokers": 3, "es_nodes": 2}))
    assert recorded_shape(Settings(state_dir=tmp_path)) == {"kafka_brokers": 3, "es_nodes": 2}
    found = with_shape(Settings(state_dir=tmp_path))
    assert (found.kafka_brokers, found.es_nodes) == (3, 2)
    assert found.kafka_bootstrap == settings.kafka_bootstrap
    # The environment's (or a caller's) explicit size wins over the record.
    explicit = with_shape(Settings(state_dir=tmp_path, kafka_brokers=1, es_nodes=1))
    assert explicit.kafka_bootstrap == "127.0.0.1:9092"
    assert explicit.es_node_urls == ["http://127.0.0.1:9200"]


def test_no_record_is_one_of_each(tmp_path: Path) -> None:
    settings = with_shape(Settings(state_dir=tmp_path))
    assert (settings.kafka_brokers, settings.es_nodes) == (1, 1)
    assert settings.kafka_bootstrap == "127.0.0.1:9092"


@pytest.mark.parametrize(
    ("brokers", "factor", "min_isr"), [(1, 1, None), (2, 2, None), (3, 3, "2"), (5, 3, "2")]
)
def test_topics_get_min_3_brokers_copies_and_two_in_sync_at_three(
    brokers: int, factor: int, min_isr: str | None
) -> None:
    assert replication_for(Settings(), brokers) == factor
    assert durability(factor).get("min.insync.replicas") == min_isr


def test_a_configured_replication_wins() -> None:
    assert replication_for(Settings(topic_replication=2), 3) == 2


def test_every_node_url_is_given_to_the_clients_once() -> None:
    settings = Settings(
        es_url="http://127.0.0.1:9200", es_hosts="http://127.0.0.1:9201, http://127.0.0.1:9200"
    )
    assert settings.es_node_urls == ["http://127.0.0.1:9200", "http://127.0.0.1:9201"]
