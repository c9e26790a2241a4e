"""The live stack every integration test stands on, and per-test isolation on top of it.

Servers come from, in order: NEWSWIRE_KAFKA_BOOTSTRAP + NEWSWIRE_ES_URL when both are set;
testcontainers when a Docker engine answers; otherwise the local stack (real Kafka and
Elasticsearch as processes, on test ports, in a state directory wiped for each session).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.settings import Settings
from services.stack.isolation import isolated
from services.stack.local_stack import LocalStack

# Fixtures shared by integration modules (a corpus indexed live, the API in front of it).
pytest_plugins = ["tests.integration.api_fixtures"]

KAFKA_IMAGE = "apache/kafka:4.1.1"
# Elasticsearch with Newswire's analysis plugin, as compose builds it.
ES_DOCKERFILE = "deploy/elasticsearch/Dockerfile"
REPO = Path(__file__).resolve().parents[1]


# The local stack of this session, when that is what runs the servers (fault-injection tests
# stop and restart its processes).
_LOCAL: dict[str, LocalStack] = {}


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _containers() -> Iterator[Settings]:
    # The community modules: the old top-level ones warn (an error here) since 4.15.
    from testcontainers.community.elasticsearch import ElasticSearchContainer
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.core.image import DockerImage

    with (
        DockerImage(path=REPO, dockerfile_path=ES_DOCKERFILE, tag="newswire-es:test") as image,
        KafkaContainer(KAFKA_IMAGE).with_kraft() as kafka,
        ElasticSearchContainer(str(image), mem_limit="2g") as es,
    ):
        # ElasticSearchContainer has no get_url (any more): the URL from its host and port.
        es_url = f"http://{es.get_container_host_ip()}:{es.get_exposed_port(es.port)}"
        yield Settings(kafka_bootstrap=kafka.get_bootstrap_server(), es_url=es_url)


def _local_stack() -> Iterator[Settings]:
    base = Settings()
    # Test ports and a state dir of their own, so a developer's `make up` stack keeps running
    # and two test sessions on one machine (NEWSWIRE_TEST_PORT_BASE) never meet.
    port_base = int(os.environ.get("NEWSWIRE_TEST_PORT_BASE", "29000"))
    settings = base.model_copy(
        update={
            "kafka_bootstrap": f"127.0.0.1:{port_base + 92}",
            "kafka_controller_port": port_base + 93,
            "es_url": f"http://127.0.0.1:{port_base + 200}",
            "state_dir": base.state_dir / f"test-{port_base}",
        }
    )
    shutil.rmtree(settings.state_dir, ignore_errors=True)
    with LocalStack(settings) as stack:
        _LOCAL["stack"] = stack
        yield settings
        _LOCAL.clear()


@pytest.fixture(scope="session")
def live_stack() -> Iterator[Settings]:
    """Connection settings of a running Kafka and Elasticsearch for this test session."""
    if os.environ.get("NEWSWIRE_KAFKA_BOOTSTRAP") and os.environ.get("NEWSWIRE_ES_URL"):
        yield Settings()
    elif _docker_answers():
        yield from _containers()
    else:
        yield from _local_stack()


@pytest.fixture
def settings(live_stack: Settings) -> Settings:
    """The live stack's settings with topics, group and index private to one test."""
    return isolated(live_stack, f"test-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def local_stack(live_stack: Settings) -> LocalStack:
    """The local stack's processes, for tests that break them; skips on other stacks."""
    if "stack" not in _LOCAL:
        pytest.skip("needs the local stack (servers from env or containers are not ours to stop)")
    return _LOCAL["stack"]
