"""docker-compose.yml, the image and the monitoring files checked against the code (no Docker)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from fastapi import FastAPI

from services.common.kafka import standard_topics
from services.common.settings import Settings
from tests.factories import REPO

COMPOSE = REPO / "docker-compose.yml"
COMPOSE_SCHEMA = REPO / ".venv" / "compose-spec.json"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "newswire.json"
OURS = {
    "ingest": "ingest_port",
    "indexer": "indexer_port",
    "api": "api_port",
    "alerts": "alerts_port",
}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def app_for(name: str) -> FastAPI:
    settings = Settings()
    if name == "ingest":
        from services.ingest.app import create_app as ingest_app

        return ingest_app(settings)
    if name == "indexer":
        from services.indexer.app import create_app as indexer_app
        from services.indexer.consumer import Indexer

        return indexer_app(Indexer(settings))  # not entered: only its routes are read
    if name == "alerts":
        from services.alerts.app import create_app as alerts_app
        from services.alerts.service import AlertsService

        return alerts_app(AlertsService(settings))  # not entered: only its routes are read
    from services.api.app import create_app as api_app

    return api_app(settings)


@pytest.mark.skipif(
    not COMPOSE_SCHEMA.is_file(), reason="no .venv/compose-spec.json: `make setup` fetches it"
)
def test_compose_follows_the_compose_specification() -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    # Named explicitly: the file's "$schema" URL is spelled in a way jsonschema does not map.
    validator = jsonschema.Draft201909Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert not errors, errors


def test_every_service_has_a_healthcheck_restart_policy_and_health_conditions() -> None:
    services = compose()["services"]
    for name, service in services.items():
        if name == "init":
            assert service["restart"] == "no"
            continue
        assert "healthcheck" in service, name
        assert service["restart"] == "unless-stopped", name
    for name in OURS:
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert {d["condition"] for d in services["init"]["depends_on"].values()} == {"service_healthy"}


def test_every_command_names_a_real_entry_point() -> None:
    from services.cli.main import app as cli

    commands = {
        c.name or (c.callback.__name__ if c.callback else "") for c in cli.registered_commands
    }
    for name, service in compose()["services"].items():
        command = service.get("command")
        if not command or name in ("prometheus",):
            continue
        if command[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(f"{command[2]}.__main__") is not None, name
        else:
            assert command[0] == "newswire", name
            assert command[1] in commands, name


def test_every_newswire_variable_is_a_settings_field() -> None:
    fields = set(Settings.model_fields)
    text = COMPOSE.read_text()
    names = set(re.findall(r"\bNEWSWIRE_([A-Z_]+)\b", text))
    assert names, "compose configures the services through NEWSWIRE_* variables"
    unknown = sorted(n for n in names if n.lower() not in fields)
    assert not unknown, unknown
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert all(n.lower() in fields for n in re.findall(r"\bNEWSWIRE_([A-Z_]+)=", dockerfile))


@pytest.mark.parametrize("name", sorted(OURS))
def test_healthcheck_paths_and_ports_exist_in_the_app(name: str) -> None:
    service = compose()["services"][name]
    port = getattr(Settings(), OURS[name])
    probe = " ".join(service["healthcheck"]["test"])
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", probe)
    assert url is not None, probe
    assert int(url.group(1)) == port
    assert service["ports"] == [f"{port}:{port}"]
    assert url.group(2) in app_for(name).openapi()["paths"]


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.local.yml"])
def test_prometheus_targets_match_the_service_ports(config: str) -> None:
    data = yaml.safe_load((REPO / "deploy" / "prometheus" / config).read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"][0] for job in data["scrape_configs"]
    }
    settings = Settings()
    assert set(targets) == set(OURS)
    for job, target in targets.items():
        host, port = target.rsplit(":", 1)
        assert int(port) == getattr(settings, OURS[job])
        assert host == ("127.0.0.1" if "local" in config else job)


def test_topic_files_agree_with_the_code() -> None:
    settings = Settings()
    data = json.loads((REPO / "deploy" / "kafka" / "topics.json").read_text())
    assert {t["name"] for t in data["topics"]} == set(standard_topics(settings))
    configs = standard_topics(settings)
    for topic in data["topics"]:
        assert topic["configs"] == configs[topic["name"]]
        assert topic["partitions"] == settings.topic_partitions


def dashboard_metrics() -> set[str]:
    """Metric names used in the dashboard's PromQL (histogram series reduced to their name)."""
    names: set[str] = set()
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"\b(newswire_[a-z_]+)\b", target["expr"]):
                names.add(re.sub(r"_(bucket|sum|count)$", "", name))
    return names


def test_dashboard_covers_what_an_operator_needs() -> None:
    titles = " ".join(p["title"].lower() for p in json.loads(DASHBOARD.read_text())["panels"])
    for need in (
        "ingest",
        "rejects",
        "indexing",
        "lag",
        "dead letters",
        "bulk latency",
        "freshness",
        "api requests",
        "api latency",
    ):
        assert need in titles, need
    assert dashboard_metrics()


def test_the_image_runs_as_a_user_without_build_tools() -> None:
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    final = dockerfile.split("FROM ")[-1]
    user = re.search(r"^USER (\S+)", final, re.M)
    assert user is not None
    assert user.group(1) not in ("root", "0")
    assert "pip install" not in final
    assert "apt-get" not in final


def test_make_targets_exist() -> None:
    makefile = (REPO / "Makefile").read_text()
    for target in ("setup", "up", "down", "status", "test", "bench", "chaos"):
        assert re.search(rf"^{target}:", makefile, re.M), target


def _registered_names() -> set[str]:
    from prometheus_client import REGISTRY

    import services.alerts.metrics
    import services.api.metrics
    import services.api.status.tracker
    import services.indexer.metrics
    import services.ingest.metrics  # noqa: F401  (registration happens at import)

    names = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names.add(family.name + "_total")
    return names


def test_dashboard_names_only_metrics_the_code_registers() -> None:
    missing = sorted(dashboard_metrics() - _registered_names())
    assert not missing, missing


def test_the_mapping_travels_in_the_wheel() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"deploy/elasticsearch/news-articles.json" = "services/indexer/news-articles.json"' in (
        pyproject
    )
    assert Path(REPO / "deploy" / "elasticsearch" / "news-articles.json").is_file()


def test_compose_elasticsearch_takes_requests_of_the_local_stack_size() -> None:
    from services.common.settings import Settings
    from services.stack.elasticsearch import HTTP_MAX_CONTENT

    env = compose()["services"]["elasticsearch"]["environment"]
    assert env["http.max_content_length"] == HTTP_MAX_CONTENT
    assert HTTP_MAX_CONTENT.endswith("mb")
    # The indexer's bulk requests stay well under what the server takes.
    assert Settings().bulk_max_bytes * 2 <= int(HTTP_MAX_CONTENT[:-2]) * 1024 * 1024


def test_compose_broker_takes_the_largest_record_the_topics_take() -> None:
    from services.common.kafka import max_message_bytes

    env = compose()["services"]["kafka"]["environment"]
    assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) == max_message_bytes(Settings())
