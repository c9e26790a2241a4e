"""Single-node Elasticsearch from the server-core distribution, never as root."""

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


class ElasticsearchServer(LocalServer):
    """The Elasticsearch process with its own config, data and logs under the state dir."""

    name = "elasticsearch"

    def __init__(self, settings: Settings, artifacts: Artifacts, java_home: Path) -> None:
        super().__init__(settings, artifacts, java_home, settings.es_port)
        self.conf_dir = self.home / "config"
        self.tmp_dir = self.home / "tmp"
        self.process = ManagedProcess(
            "elasticsearch", settings.state_dir / "elasticsearch.pid", self.logs_dir / "es.out"
        )
        self.user = service_user()

    @property
    def ports(self) -> list[int]:
        """Every port the server binds (HTTP and transport)."""
        return [self.port, self.port + 100]

    @property
    def log_file(self) -> Path:
        """The log an operator should read first when Elasticsearch fails."""
        return self.logs_dir / "newswire-local.log"

    def _config(self) -> str:
        return "\n".join(
            [
                "cluster.name: newswire-local",
                "node.name: newswire-1",
                f"path.data: {self.data_dir}",
                f"path.logs: {self.logs_dir}",
                "network.host: 127.0.0.1",
                f"http.port: {self.port}",
                f"transport.port: {self.port + 100}",
                "discovery.type: single-node",
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
            "ES_JAVA_OPTS": f"-Xms{self.settings.es_heap_mb}m -Xmx{self.settings.es_heap_mb}m",
        }
        return [str(self.artifacts.es_home / "bin" / "elasticsearch")], env, self.user

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
