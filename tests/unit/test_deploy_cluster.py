"""docker-compose.cluster.yml checked as docker-compose.yml is, and as a cluster (no Docker)."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from services.common.kafka import max_message_bytes
from services.common.settings import Settings
from services.stack.elasticsearch import HTTP_MAX_CONTENT
from tests.factories import REPO
from tests.unit.test_deploy import COMPOSE_SCHEMA, app_for

CLUSTER = REPO / "docker-compose.cluster.yml"


def cluster() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CLUSTER.read_text())
    return data


def named(prefix: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in cluster()["services"].items() if re.fullmatch(rf"{prefix}-\d", k)}


@pytest.mark.skipif(
    not COMPOSE_SCHEMA.is_file(), reason="no .venv/compose-spec.json: `make setup` fetches it"
)
def test_cluster_compose_follows_the_compose_specification() -> None:
    validator = jsonschema.Draft201909Validator(json.loads(COMPOSE_SCHEMA.read_text()))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(cluster())]
    assert not errors, errors


def test_three_brokers_three_nodes_two_indexers_two_apis() -> None:
    assert len(named("kafka")) == 3
    assert len(named("elasticsearch")) == 3
    assert len(named("indexer")) == 2
    assert len(named("api")) == 2


def test_every_service_is_checked_restarted_and_waits_for_the_whole_cluster() -> None:
    services = cluster()["services"]
    for name, service in services.items():
        if name == "init":
            assert service["restart"] == "no"
            continue
        assert "healthcheck" in service, name
        assert service["restart"] == "unless-stopped", name
    members = set(named("kafka")) | set(named("elasticsearch"))
    assert set(services["init"]["depends_on"]) == members
    ours = ["ingest", "alerts", *named("indexer"), *named("api")]
    for name in ours:
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"


def test_the_brokers_form_one_quorum_and_copy_everything_three_times() -> None:
    brokers = named("kafka")
    ids = set()
    for name, broker in brokers.items():
        env = broker["environment"]
        ids.add(env["KAFKA_NODE_ID"])
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert sorted(v.split("@")[1].split(":")[0] for v in voters) == sorted(brokers)
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) == max_message_bytes(Settings())
        assert int(env["KAFKA_REPLICA_FETCH_MAX_BYTES"]) >= int(env["KAFKA_MESSAGE_MAX_BYTES"])
        assert "-Xmx384m" in env["KAFKA_HEAP_OPTS"]
    assert ids == {"1", "2", "3"}


def test_the_nodes_discover_each_other() -> None:
    nodes = named("elasticsearch")
    for name, node in nodes.items():
        env = node["environment"]
        assert env["node.name"] == name
        assert sorted(env["discovery.seed_hosts"].split(",")) == sorted(nodes)
        assert sorted(env["cluster.initial_master_nodes"].split(",")) == sorted(nodes)
        assert env["http.max_content_length"] == HTTP_MAX_CONTENT
        assert "-Xmx512m" in env["ES_JAVA_OPTS"]


def test_the_services_are_given_every_broker_and_every_node() -> None:
    env = cluster()["x-newswire-env"]
    settings = Settings(
        kafka_bootstrap=env["NEWSWIRE_KAFKA_BOOTSTRAP"],
        es_url=env["NEWSWIRE_ES_URL"],
        es_hosts=env["NEWSWIRE_ES_HOSTS"],
    )
    assert sorted(h.split(":")[0] for h in settings.kafka_bootstrap.split(",")) == sorted(
        named("kafka")
    )
    assert len(settings.es_node_urls) == 3


def test_every_newswire_variable_is_a_settings_field_and_commands_exist() -> None:
    fields = set(Settings.model_fields)
    names = set(re.findall(r"\bNEWSWIRE_([A-Z_]+)\b", CLUSTER.read_text()))
    assert not sorted(n for n in names if n.lower() not in fields)
    for name, service in cluster()["services"].items():
        command = service.get("command")
        if command and command[:2] == ["python", "-m"]:
            assert command[2] in (
                "services.ingest",
                "services.indexer",
                "services.api",
                "services.alerts",
            ), name


@pytest.mark.parametrize(("prefix", "app"), [("indexer", "indexer"), ("api", "api")])
def test_replicas_probe_paths_the_app_serves_on_its_port(prefix: str, app: str) -> None:
    port = getattr(Settings(), f"{app}_port")
    paths = app_for(app).openapi()["paths"]
    host_ports = set()
    for service in named(prefix).values():
        probe = " ".join(service["healthcheck"]["test"])
        url = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", probe)
        assert url is not None, probe
        assert int(url.group(1)) == port
        assert url.group(2) in paths
        [mapping] = service["ports"]
        host, inside = mapping.split(":")
        assert int(inside) == port
        host_ports.add(host)
    assert len(host_ports) == len(named(prefix)), "each replica on a host port of its own"
