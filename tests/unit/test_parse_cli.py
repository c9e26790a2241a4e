"""``newswire parse FILE... [--json]``: offline checking of seed files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from services.cli.parse import parse
from services.common.settings import get_settings
from services.ingest.parser import parse_path
from tests.factories import REFERENCE_SEED, seed_files, seed_text

# services/cli/main.py registers the command as `newswire parse`; a local app with the same
# registration keeps this test independent of the other commands' imports.
app = typer.Typer()
app.callback()(lambda: None)
app.command("parse")(parse)

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def json_lines(output: str) -> list[dict[str, Any]]:
    """Each line of ``newswire parse --json``: JSON objects, whatever their fields."""
    return [json.loads(line) for line in output.splitlines()]


def test_json_prints_one_line_per_input_in_order_and_exits_0(tmp_path: Path) -> None:
    files = [str(path) for path in seed_files()[:3]]
    result = runner.invoke(app, ["parse", "--json", *files])
    assert result.exit_code == 0, result.output
    lines = json_lines(result.stdout)
    assert [line["ok"] for line in lines] == [True, True, True]
    assert [line["article"]["source"] for line in lines] == files
    first = lines[0]["article"]
    assert first == json.loads(parse_path(REFERENCE_SEED).model_dump_json()) | {
        "ingested_at": first["ingested_at"]
    }


def test_json_reports_rejections_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("dte 2020-01-08 world\n\nText.")
    missing = tmp_path / "missing.txt"
    result = runner.invoke(app, ["parse", str(REFERENCE_SEED), str(bad), str(missing), "--json"])
    assert result.exit_code == 1
    lines = json_lines(result.stdout)
    assert [line["ok"] for line in lines] == [True, False, False]
    assert lines[1] == {
        "ok": False,
        "source": str(bad),
        "error": {
            "code": "malformed_header",
            "message": (
                "header line must look like 'date YYYY-MM-DD <category>', "
                "got 'dte 2020-01-08 world'"
            ),
        },
    }
    assert lines[2]["error"]["code"] == "unreadable"


def test_directories_expand_to_their_files_sorted(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text(seed_text(lede="Second story."))
    (tmp_path / "a.txt").write_text(seed_text(lede="First story."))
    (tmp_path / ".hidden").write_text("not an article")
    result = runner.invoke(app, ["parse", "--json", str(tmp_path)])
    assert result.exit_code == 0, result.output
    sources = [line["article"]["source"] for line in json_lines(result.stdout)]
    assert sources == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]


def test_dash_reads_stdin() -> None:
    result = runner.invoke(app, ["parse", "--json", "-"], input=seed_text())
    assert result.exit_code == 0, result.output
    assert json_lines(result.stdout)[0]["article"]["source"] == "stdin"


def test_size_limit_comes_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWIRE_MAX_ARTICLE_BYTES", "1024")
    big = tmp_path / "big.txt"
    big.write_text(seed_text(paragraphs=["word " * 400]))
    result = runner.invoke(app, ["parse", "--json", str(big)])
    assert result.exit_code == 1
    assert json_lines(result.stdout)[0]["error"]["code"] == "too_large"


def test_table_output_for_humans(tmp_path: Path) -> None:
    bad = tmp_path / "empty.txt"
    bad.write_text("")
    result = runner.invoke(app, ["parse", str(REFERENCE_SEED), str(bad)])
    assert result.exit_code == 1
    assert parse_path(REFERENCE_SEED).id in result.stdout
    assert "missing_header" in result.stdout
    assert "1 accepted, 1 rejected" in result.stdout


def test_table_exit_0_when_all_accepted() -> None:
    result = runner.invoke(app, ["parse", str(REFERENCE_SEED)])
    assert result.exit_code == 0
    assert "1 accepted, 0 rejected" in result.stdout


def test_files_are_required() -> None:
    assert runner.invoke(app, ["parse"]).exit_code == 2


def test_a_time_far_ahead_is_rejected_as_the_ingest_would(tmp_path: Path) -> None:
    ahead = tmp_path / "ahead.txt"
    ahead.write_text(seed_text(updated="Jan 08, 2062 09:06 IST"))
    result = runner.invoke(app, ["parse", "--json", str(ahead)])
    assert result.exit_code == 1
    [line] = json_lines(result.stdout)
    assert line["error"]["code"] == "future_updated"
