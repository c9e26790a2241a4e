"""The local stack: resolve, start, wait for, report on and stop Kafka and Elasticsearch."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from services.common.errors import StackError
from services.common.lifecycle import Scoped
from services.common.settings import Settings
from services.stack.artifacts import Artifacts, resolve
from services.stack.elasticsearch import ElasticsearchServer
from services.stack.jdk import find_java_home
from services.stack.kafka import KafkaServer
from services.stack.plugin import ensure_plugin
from services.stack.process import ManagedProcess, port_in_use, tail


class Server(Protocol):
    """What the runner needs of each server."""

    name: str
    port: int
    process: ManagedProcess

    @property
    def ports(self) -> list[int]: ...
    @property
    def log_file(self) -> Path: ...
    def prepare(self) -> None: ...
    def command(self) -> tuple[list[str], dict[str, str], str | None]: ...
    def probe(self) -> str | None: ...


@dataclass(frozen=True)
class ComponentStatus:
    """One line of ``newswire stack status``."""

    name: str
    up: bool
    pid: int | None
    port: int
    version: str | None
    log_file: str


class LocalStack(Scoped):
    """Kafka and Elasticsearch as local processes; also a context manager that stops them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._servers: list[Server] | None = None
        self._started: list[Server] = []

    def servers(self) -> list[Server]:
        """The servers, resolving artifacts and a JDK on first use."""
        if self._servers is None:
            artifacts: Artifacts = resolve(self.settings.cache_dir)
            java_home = find_java_home(self.settings.java_home, self.settings.cache_dir)
            ensure_plugin(artifacts.es_home, java_home)
            self._servers = [
                KafkaServer(self.settings, artifacts, java_home),
                ElasticsearchServer(self.settings, artifacts, java_home),
            ]
        return self._servers

    def up(self) -> list[ComponentStatus]:
        """Start whatever is not running, wait until all answer; on failure stop what we began."""
        to_start = [s for s in self.servers() if s.process.pid() is None]
        for server in to_start:
            for port in server.ports:
                if port_in_use(port):
                    raise StackError(
                        server.name, f"port {port} is already in use by another process"
                    )
        for server in to_start:
            server.prepare()
            argv, env, user = server.command()
            server.process.start(argv, env=env, cwd=self.settings.state_dir, user=user)
            self._started.append(server)
        try:
            self._wait_ready(self.servers())
        except StackError:
            for server in to_start:
                server.process.stop()
            raise
        return self.status()

    def _wait_ready(self, servers: list[Server]) -> None:
        deadline = time.monotonic() + self.settings.stack_timeout_s
        pending = list(servers)
        while pending:
            for server in list(pending):
                if server.probe() is not None:
                    pending.remove(server)
                elif server.process.pid() is None:
                    raise StackError(
                        server.name,
                        "exited during start-up:\n" + tail(server.process.log_file, 15),
                        log_file=str(server.log_file),
                    )
            if pending and time.monotonic() > deadline:
                server = pending[0]
                raise StackError(
                    server.name,
                    f"not ready after {self.settings.stack_timeout_s:.0f}s",
                    log_file=str(server.log_file),
                )
            if pending:
                time.sleep(0.5)

    def down(self) -> list[str]:
        """Stop every server (Elasticsearch first); returns the names that were running."""
        stopped = []
        for server in reversed(self.servers()):
            if server.process.stop():
                stopped.append(server.name)
        return stopped

    def status(self) -> list[ComponentStatus]:
        """Each server: up only when its process lives and it answers."""
        result = []
        for server in self.servers():
            pid = server.process.pid()
            version = server.probe() if pid is not None else None
            result.append(
                ComponentStatus(
                    server.name,
                    version is not None,
                    pid,
                    server.port,
                    version,
                    str(server.log_file),
                )
            )
        return result

    # A ``with`` block brings the stack up and, however it is left, down again.
    _start = up
    _stop = down
