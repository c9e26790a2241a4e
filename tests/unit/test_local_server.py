"""Each local server's folders and port, from the shared LocalServer."""

from __future__ import annotations

from pathlib import Path

from services.common.settings import Settings
from services.stack.artifacts import Artifacts
from services.stack.kafka import KafkaServer


def test_kafka_lives_in_its_own_home_under_the_state_dir(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    artifacts = Artifacts("4", "9", tmp_path / "libs", tmp_path / "es")
    server = KafkaServer(settings, artifacts, tmp_path / "jdk")
    assert (server.port, server.java_home, server.artifacts) == (
        settings.kafka_port,
        tmp_path / "jdk",
        artifacts,
    )
    assert server.home == tmp_path / "kafka"
    assert (server.data_dir, server.logs_dir) == (server.home / "data", server.home / "logs")
    assert server.config == server.home / "server.properties"
