"""Services run as child processes during benchmarks and chaos runs, with their peak memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from services.common.lifecycle import Scoped
from services.common.settings import Settings
from services.stack.readiness import wait_ready

# Settings a child needs to see exactly what the parent sees.
_FIELDS = (
    "kafka_bootstrap",
    "es_url",
    "es_hosts",
    "topic_articles",
    "topic_dlq",
    "topic_partitions",
    "indexer_group",
    "index_alias",
    "batch_max_docs",
    "batch_max_bytes",
    "batch_max_wait_ms",
    "bulk_max_bytes",
    "bulk_concurrency",
    "api_port",
    "ingest_port",
    "indexer_port",
    "alerts_port",
    "topic_alert_events",
    "alerts_group",
    "webhooks_group",
    "webhook_backoff_s",
    "webhook_private_targets",
    "sse_heartbeat_s",
    "state_dir",
    "host",
    "stories_enabled",
    "story_threshold",
    "related_floor",
    "hybrid_vector_boost",
)


def free_port() -> int:
    """A TCP port on the loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    env.update({f"NEWSWIRE_{name.upper()}": str(getattr(settings, name)) for name in _FIELDS})
    if settings.api_key is not None:  # a secret: str() of it would be asterisks
        env["NEWSWIRE_API_KEY"] = settings.api_key.get_secret_value()
    env["NEWSWIRE_LOG_LEVEL"] = "WARNING"
    return env


class Child(Scoped):
    """A child process (``python -m module``) whose peak RSS is sampled while it runs."""

    def __init__(self, module: str, settings: Settings, log: Path, *args: str) -> None:
        self.module = module
        self.settings = settings
        self.log = log
        self.args = args
        self.peak_rss = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._sampler: threading.Thread | None = None

    def start(self, *, stdout: Path | None = None) -> Child:
        """Start the process and the RSS sampler; stdout goes to ``stdout`` or the log."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as err, (stdout or self.log).open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                env=child_env(self.settings),
                stdout=out,
                stderr=err,
            )
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def _sample(self) -> None:
        assert self.proc is not None
        try:
            handle = psutil.Process(self.proc.pid)
            while self.proc.poll() is None:
                self.peak_rss = max(self.peak_rss, handle.memory_info().rss)
                time.sleep(0.1)
        except psutil.Error:
            pass

    def wait_ready(self, port: int, timeout: float = 60.0) -> None:
        """Block until ``/readyz`` on ``port`` answers 200."""
        state = wait_ready(f"http://127.0.0.1:{port}", timeout, alive=self.running, interval=0.2)
        if state == "exited":
            raise RuntimeError(f"{self.module} exited: {self.log.read_text()[-1500:]}")
        if state == "timed_out":
            raise RuntimeError(f"{self.module} not ready after {timeout:.0f}s (log {self.log})")

    def running(self) -> bool:
        """Started and not exited."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the crash a test wants to survive."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it will not go. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._sampler is not None:
            self._sampler.join(timeout=2)
        return self.proc.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for a process that ends by itself (a CLI run)."""
        assert self.proc is not None
        code = self.proc.wait(timeout=timeout)
        if self._sampler is not None:
            self._sampler.join(timeout=2)
        return code

    # A ``with`` block runs the child until it is left.
    _start = start
    _stop = stop
