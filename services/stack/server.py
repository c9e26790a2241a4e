"""What every local server shares: its settings, artifacts and JDK, its port and its folders."""

from __future__ import annotations

from pathlib import Path

from services.common.settings import Settings
from services.stack.artifacts import Artifacts


class LocalServer:
    """A server run from resolved artifacts on a JDK, its home under the state dir by its name."""

    name: str  # each server class names itself; its home folder is named for it

    def __init__(
        self, settings: Settings, artifacts: Artifacts, java_home: Path, port: int
    ) -> None:
        self.settings = settings
        self.artifacts = artifacts
        self.java_home = java_home
        self.port = port
        self.home = settings.state_dir / self.name
        self.data_dir = self.home / "data"
        self.logs_dir = self.home / "logs"
