"""The local stack: resolve, start, wait for, report on and stop Kafka and Elasticsearch."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from services.common.errors import StackError
from services.common.lifecycle import Scoped
from services.common.settings import Settings
from services.stack.artifacts import Artifacts, resolve
from services.stack.elasticsearch import ElasticsearchServer, node_urls
from services.stack.jdk import find_java_home
from services.stack.kafka import KafkaServer, cluster_bootstrap
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


SHAPE_FILE = "stack-shape.json"  # the size the stack of a state dir was started with


def recorded_shape(settings: Settings) -> dict[str, int]:
    """The member counts ``up`` recorded in the state dir ({} when none was)."""
    path = settings.state_dir / SHAPE_FILE
    try:
        shape = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: int(v) for k, v in shape.items() if k in ("kafka_brokers", "es_nodes")}


def with_shape(
    settings: Settings, kafka_brokers: int | None = None, es_nodes: int | None = None
) -> Settings:
    """Settings for the stack of this state dir, with every member's address for the clients.

    Its size: as given, else as the environment says (NEWSWIRE_KAFKA_BROKERS, _ES_NODES),
    else as recorded by the last ``up`` (so ``status``, ``down`` and ``newswire up`` find
    every member of a cluster started with flags), else one of each.
    """
    recorded = recorded_shape(settings)
    shape: dict[str, int | str] = {}
    for key, given in (("kafka_brokers", kafka_brokers), ("es_nodes", es_nodes)):
        if given is not None:
            shape[key] = given
        elif key not in settings.model_fields_set and key in recorded:
            shape[key] = recorded[key]
    sized = settings.model_copy(update=shape)
    if sized.kafka_brokers > 1:
        shape["kafka_bootstrap"] = cluster_bootstrap(sized)
    if sized.es_nodes > 1:
        shape["es_hosts"] = ",".join(node_urls(sized)[1:])
    return settings.model_copy(update=shape)


def _joined(server: Server) -> bool:
    """Ready as a member: a node must be in one cluster with every other node of the stack."""
    return not isinstance(server, ElasticsearchServer) or server.joined()


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
            s = self.settings
            self._servers = [
                *(KafkaServer(s, artifacts, java_home, i) for i in range(s.kafka_brokers)),
                *(ElasticsearchServer(s, artifacts, java_home, i) for i in range(s.es_nodes)),
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
        self._check_shape()
        self._record_shape()
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

    def _check_shape(self) -> None:
        """Refuse a size other than the one this state dir's data was made with.

        A broker or node keeps its cluster's identity in its data: members added to it would
        form a cluster of their own, or none, and the stack would look up while it is not.
        """
        recorded = recorded_shape(self.settings)
        had_data = any((self.settings.state_dir / d).is_dir() for d in ("kafka", "elasticsearch"))
        if not recorded and not had_data:
            return
        before = {"kafka_brokers": 1, "es_nodes": 1, **recorded}
        wanted = {"kafka_brokers": self.settings.kafka_brokers, "es_nodes": self.settings.es_nodes}
        if before != wanted:
            raise StackError(
                "stack",
                f"{self.settings.state_dir} holds a stack of {before['kafka_brokers']} broker(s) "
                f"and {before['es_nodes']} node(s); one of {wanted['kafka_brokers']} and "
                f"{wanted['es_nodes']} needs a state directory of its own: set "
                "NEWSWIRE_STATE_DIR, or `newswire stack down` and remove that directory",
            )

    def _record_shape(self) -> None:
        shape = {"kafka_brokers": self.settings.kafka_brokers, "es_nodes": self.settings.es_nodes}
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        (self.settings.state_dir / SHAPE_FILE).write_text(json.dumps(shape) + "\n")

    def _wait_ready(self, servers: list[Server]) -> None:
        # Members start together on the same cores: a cluster takes longer than one of each.
        members = max(self.settings.kafka_brokers, self.settings.es_nodes)
        deadline = time.monotonic() + self.settings.stack_timeout_s * (1 + (members - 1) / 2)
        pending = list(servers)
        while pending:
            for server in list(pending):
                if server.probe() is not None and _joined(server):
                    pending.remove(server)
                elif server.process.pid() is None:
                    raise StackError(
                        server.name,
                        "exited during start-up:\n" + tail(server.process.log_file, 15),
                        log_file=str(server.log_file),
                    )
            if pending and time.monotonic() > deadline:
                server = pending[0]
                alone = server.probe() is not None  # it answers, but not as the stack's member
                raise StackError(
                    server.name,
                    "answers but is not in one cluster with the other nodes (its data is of "
                    "another cluster: see NEWSWIRE_STATE_DIR)"
                    if alone
                    else f"not ready after {self.settings.stack_timeout_s:.0f}s",
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
