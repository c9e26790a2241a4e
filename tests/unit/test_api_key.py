"""The ingest key of `newswire up` and compose: given, generated once (mode 600), or refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from services.cli.keys import REPO, key_path, resolve_api_key
from services.common.errors import ConfigError
from services.common.settings import Settings


def settings_in(state_dir: Path, key: str | None = None) -> Settings:
    return Settings(state_dir=state_dir, api_key=None if key is None else SecretStr(key))


def test_a_key_the_user_set_is_used_as_given_and_nothing_is_written(tmp_path: Path) -> None:
    key = resolve_api_key(settings_in(tmp_path, " my key "))
    assert key.value == " my key "
    assert key.path is None
    assert not key_path(settings_in(tmp_path)).exists()


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_key_the_user_set_is_refused(tmp_path: Path, empty: str) -> None:
    with pytest.raises(ConfigError, match="NEWSWIRE_API_KEY is empty"):
        resolve_api_key(settings_in(tmp_path, empty))


def test_without_a_key_one_is_generated_once_kept_private_and_reused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = resolve_api_key(settings_in(state))
    assert first.path == state / "api-key"
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    assert len(first.value) >= 32
    assert first.path.read_text().strip() == first.value
    again = resolve_api_key(settings_in(state))
    assert again == first
    other = resolve_api_key(settings_in(tmp_path / "elsewhere"))
    assert other.value != first.value


def test_a_kept_key_file_made_readable_is_made_private_again(tmp_path: Path) -> None:
    first = resolve_api_key(settings_in(tmp_path))
    assert first.path is not None
    first.path.chmod(0o644)
    assert resolve_api_key(settings_in(tmp_path)).value == first.value
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600


def test_an_empty_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "api-key").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        resolve_api_key(settings_in(tmp_path))


def test_a_key_is_never_written_into_the_repository() -> None:
    with pytest.raises(ConfigError, match="inside the repository"):
        resolve_api_key(settings_in(REPO / "state"))
    assert not (REPO / "state").exists()


def test_the_services_refuse_an_unset_or_empty_key() -> None:
    with pytest.raises(ConfigError, match="NEWSWIRE_API_KEY is not set"):
        Settings(api_key=None).required_api_key()
    with pytest.raises(ConfigError, match="NEWSWIRE_API_KEY is empty"):
        Settings(api_key=SecretStr("")).required_api_key()
    assert Settings(api_key=SecretStr("k")).required_api_key() == "k"


@pytest.mark.parametrize("service", ["ingest", "api"])
def test_compose_requires_a_key_for_the_services_that_check_it(service: str) -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    value = compose["services"][service]["environment"]["NEWSWIRE_API_KEY"]
    assert value.startswith("${NEWSWIRE_API_KEY:?")  # compose stops with this message if unset
