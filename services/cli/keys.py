"""The ingest key of `newswire up`: the user's NEWSWIRE_API_KEY, else one generated and kept."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from services.common.errors import ConfigError
from services.common.settings import Settings

REPO = Path(__file__).resolve().parents[2]
KEY_FILE = "api-key"


@dataclass(frozen=True)
class ApiKey:
    """The key the services get, and the file it is kept in (None when the user gave it)."""

    value: str
    path: Path | None


def key_path(settings: Settings) -> Path:
    """Where `newswire up` keeps a generated key: the state directory, never the repository."""
    return settings.state_dir / KEY_FILE


def resolve_api_key(settings: Settings) -> ApiKey:
    """The user's key as given; else the kept one; else a new one written with mode 600."""
    if settings.api_key is not None:
        return ApiKey(settings.required_api_key(), None)  # an empty one is a ConfigError
    path = key_path(settings)
    if path.resolve().is_relative_to(REPO):
        raise ConfigError(f"the key file {path} would be inside the repository: move state_dir")
    if path.exists():
        value = path.read_text().strip()
        if not value:
            raise ConfigError(f"the key file {path} is empty: delete it to get a new key")
        path.chmod(0o600)  # whoever touched it, it stays private
        return ApiKey(value, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    # O_EXCL with the mode at creation: the key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return ApiKey(value, path)
