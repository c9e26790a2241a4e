"""The local stack's parts that need no server: pid files, ports, JDK and pom reading."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import psutil
import pytest

from services.common.errors import StackError
from services.common.settings import Settings
from services.stack.artifacts import POM, pom_versions
from services.stack.jdk import java_major
from services.stack.local_stack import LocalStack
from services.stack.process import ManagedProcess, port_in_use


def test_pom_pins_kafka_4_and_elasticsearch_9() -> None:
    kafka, es = pom_versions(POM)
    assert kafka.startswith("4.")
    assert es.startswith("9.")


@pytest.mark.parametrize(
    ("release", "major"),
    [('JAVA_VERSION="21.0.2"', 21), ('JAVA_VERSION="25"', 25), ('JAVA_VERSION="1.8.0_392"', 8)],
)
def test_java_major_reads_the_release_file(tmp_path: Path, release: str, major: int) -> None:
    (tmp_path / "release").write_text(release + "\n")
    assert java_major(tmp_path) == major


def test_a_managed_process_starts_reports_and_stops_with_its_children(tmp_path: Path) -> None:
    proc = ManagedProcess("sleeper", tmp_path / "p.pid", tmp_path / "p.log")
    # A parent that forks a child, as the Elasticsearch launcher does.
    script = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
    pid = proc.start([sys.executable, "-c", script], env={}, cwd=tmp_path)
    assert proc.pid() == pid
    deadline = time.monotonic() + 10
    while not (children := psutil.Process(pid).children()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children, "the parent should have forked its child"
    assert proc.stop(timeout=5) is True
    assert not any(child.is_running() for child in children)
    assert proc.pid() is None
    assert not (tmp_path / "p.pid").exists()
    assert proc.stop() is False  # stopping twice is safe


def test_a_clock_step_does_not_disown_a_running_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = ManagedProcess("sleeper", tmp_path / "c.pid", tmp_path / "c.log")
    pid = proc.start(["sleep", "30"], env={}, cwd=tmp_path)
    try:
        # NTP steps the wall clock forward a minute: the kernel's boot time moves with it,
        # and so does every process's wall-clock start time.
        stepped = psutil.boot_time() + 60.0
        monkeypatch.setattr("psutil._psplatform.boot_time", lambda: stepped)
        assert psutil.Process(pid).create_time() > time.time() + 30, "the step must be visible"
        assert proc.pid() == pid
    finally:
        monkeypatch.undo()
        assert proc.stop(timeout=5) is True


def test_a_reused_pid_is_not_mistaken_for_ours(tmp_path: Path) -> None:
    import os

    proc = ManagedProcess("x", tmp_path / "x.pid", tmp_path / "x.log")
    # Our own (live) pid, but with another start time: that is some other process.
    proc.pid_file.write_text(f"{os.getpid()} 12345.0\n")
    assert proc.pid() is None


def test_port_in_use_sees_a_listener() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert port_in_use(port) is True
    assert port_in_use(port) is False


def test_settings_derive_ports_from_the_addresses() -> None:
    settings = Settings(kafka_bootstrap="127.0.0.1:19092", es_url="http://127.0.0.1:19200")
    assert (settings.kafka_port, settings.es_port) == (19092, 19200)
    assert settings.index_name == "news-articles-v1"


def test_a_state_dir_keeps_the_size_its_data_was_made_with(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    LocalStack(settings)._check_shape()  # nothing there yet: any size
    (tmp_path / "kafka").mkdir()  # a single-node stack ran here (made before sizes were kept)
    LocalStack(settings)._check_shape()
    cluster = settings.model_copy(update={"kafka_brokers": 3, "es_nodes": 3})
    with pytest.raises(StackError) as refused:
        LocalStack(cluster)._check_shape()
    assert "NEWSWIRE_STATE_DIR" in refused.value.message
    LocalStack(cluster)._record_shape()  # as if this dir had been a cluster's from the start
    LocalStack(cluster)._check_shape()
    with pytest.raises(StackError):
        LocalStack(settings)._check_shape()
