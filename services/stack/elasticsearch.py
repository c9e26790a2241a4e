"""Elasticsearch from the server-core distribution, never as root: one node or up to three."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import httpx

from services.common.settings import Settings
from services.stack.artifacts import Artifacts
from services.stack.process import ManagedProcess
from services.stack.server import LocalServer

SERVICE_USER = "newswire"


def service_user() -> str | None:
    """The unprivileged user Elasticsearch runs as when we are root; None when we are not."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        proc = subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            return "nobody"
    return SERVICE_USER


# Kept equal in docker-compose.yml (a unit test checks).
HTTP_MAX_CONTENT = "32mb"


# A node's heap in a cluster: three of them and three brokers fit 2 cores and 24 GiB.
CLUSTER_HEAP_MB = 512
TRANSPORT_OFFSET = 100  # a node's transport port is its HTTP port + this


def node_urls(settings: Settings) -> list[str]:
    """The HTTP address of every node, the first one first."""
    return [f"http://127.0.0.1:{settings.es_port + i}" for i in range(settings.es_nodes)]


class ElasticsearchServer(LocalServer):
    """One Elasticsearch node with its own config, data and logs under the state dir."""

    name = "elasticsearch"

    def __init__(
        self, settings: Settings, artifacts: Artifacts, java_home: Path, member: int = 0
    ) -> None:
        self.member = member
        # The first member keeps the single-node names and paths: a one-node stack is unchanged.
        self.name = "elasticsearch" if member == 0 else f"elasticsearch-{member + 1}"
        super().__init__(settings, artifacts, java_home, settings.es_port + member)
        self.conf_dir = self.home / "config"
        self.tmp_dir = self.home / "tmp"
        self.process = ManagedProcess(
            self.name, settings.state_dir / f"{self.name}.pid", self.logs_dir / "es.out"
        )
        self.user = service_user()

    @property
    def ports(self) -> list[int]:
        """Every port the server binds (HTTP and transport)."""
        return [self.port, self.port + TRANSPORT_OFFSET]

    @property
    def log_file(self) -> Path:
        """The log an operator should read first when Elasticsearch fails."""
        return self.logs_dir / "newswire-local.log"

    @property
    def heap_mb(self) -> int:
        """The JVM heap: the configured one, capped in a cluster."""
        if self.settings.es_nodes == 1:
            return self.settings.es_heap_mb
        return min(self.settings.es_heap_mb, CLUSTER_HEAP_MB)

    def _discovery(self) -> list[str]:
        count = self.settings.es_nodes
        if count == 1:
            return ["discovery.type: single-node"]
        first = self.settings.es_port + TRANSPORT_OFFSET
        seeds = ", ".join(f'"127.0.0.1:{first + i}"' for i in range(count))
        masters = ", ".join(f'"newswire-{i + 1}"' for i in range(count))
        return [
            f"discovery.seed_hosts: [{seeds}]",
            # Read only when the cluster first forms (an empty data path); ignored afterwards.
            f"cluster.initial_master_nodes: [{masters}]",
        ]

    def _config(self) -> str:
        return "\n".join(
            [
                "cluster.name: newswire-local",
                f"node.name: newswire-{self.member + 1}",
                f"path.data: {self.data_dir}",
                f"path.logs: {self.logs_dir}",
                "network.host: 127.0.0.1",
                f"http.port: {self.port}",
                f"transport.port: {self.port + TRANSPORT_OFFSET}",
                *self._discovery(),
                "xpack.security.enabled: false",
                # Smaller than the default 100mb: a runaway request costs less heap. The
                # indexer's requests stay far under it (NEWSWIRE_BULK_MAX_BYTES); compose too.
                f"http.max_content_length: {HTTP_MAX_CONTENT}",
                # A nearly full developer disk must not turn the index read-only mid-test.
                "cluster.routing.allocation.disk.threshold_enabled: false",
                "",
            ]
        )

    def prepare(self) -> None:
        """Write config beside a copy of the distribution's defaults; hand the tree to the user."""
        for folder in (self.data_dir, self.logs_dir, self.tmp_dir):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.artifacts.es_home / "config", self.conf_dir, dirs_exist_ok=True)
        (self.conf_dir / "elasticsearch.yml").write_text(self._config())
        if self.user is not None:
            info = pwd.getpwnam(self.user)
            for path in [self.home, *self.home.rglob("*")]:
                os.lchown(path, info.pw_uid, info.pw_gid)
            self.settings.state_dir.chmod(0o755)

    def command(self) -> tuple[list[str], dict[str, str], str | None]:
        """The argv, environment and user to run Elasticsearch with."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "ES_JAVA_HOME": str(self.java_home),
            "ES_PATH_CONF": str(self.conf_dir),
            "ES_TMPDIR": str(self.tmp_dir),
            "ES_JAVA_OPTS": f"-Xms{self.heap_mb}m -Xmx{self.heap_mb}m",
        }
        return [str(self.artifacts.es_home / "bin" / "elasticsearch")], env, self.user

    def joined(self) -> bool:
        """Whether this node's cluster has every node of the stack.

        A node whose data belongs to another cluster forms one of its own: healthy, alone,
        and not part of the stack that started it.
        """
        try:
            health = httpx.get(f"http://127.0.0.1:{self.port}/_cluster/health", timeout=3.0)
            count = int(health.json().get("number_of_nodes", 0))
        except (httpx.HTTPError, ValueError, TypeError):
            return False
        return count >= self.settings.es_nodes

    def probe(self) -> str | None:
        """The server version once cluster health is yellow or green, else None."""
        base = f"http://127.0.0.1:{self.port}"
        try:
            health = httpx.get(f"{base}/_cluster/health", timeout=3.0)
            if health.status_code != 200 or health.json().get("status") not in {"yellow", "green"}:
                return None
            # The server-core distribution has no "GET /" handler: ask the node itself.
            nodes = httpx.get(f"{base}/_nodes/_local?filter_path=nodes.*.version", timeout=3.0)
            version: str = next(iter(nodes.json()["nodes"].values()))["version"]
        except (httpx.HTTPError, ValueError, KeyError, StopIteration):
            return None
        return version
