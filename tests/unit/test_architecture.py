"""The shape of services/: docs/architecture.md names every module, imports keep to the rooms,
no class over 150 lines and no function over 60."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "services"
DOC = REPO / "docs" / "architecture.md"

MAX_CLASS_LINES = 150
MAX_FUNCTION_LINES = 60

ROOMS = ("common", "ingest", "indexer", "api", "alerts", "cli", "bench", "stack")
# Which rooms each room may import (docs/architecture.md, "Rooms"): the three services see
# only the contract and themselves, so none of them can reach into another.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "common": frozenset({"common"}),
    "ingest": frozenset({"common", "ingest"}),
    "indexer": frozenset({"common", "indexer"}),
    "api": frozenset({"common", "api"}),
    # The matcher runs saved searches as /v1/search runs them: it builds them with the API's
    # own search modules (and only those, see ALERTS_MAY_USE), never a copy of them.
    "alerts": frozenset({"common", "alerts", "api"}),
    "stack": frozenset({"common", "stack"}),
    "bench": frozenset(ROOMS) - {"cli"},
    "cli": frozenset(ROOMS),
}
ALERTS_MAY_USE = frozenset({"services.api.search", "services.api.routes.search"})
# A path as the document writes it: `services/ingest/readers.py`.
_PATH = re.compile(r"services/[A-Za-z0-9_/]+\.py")


def _modules() -> list[Path]:
    return sorted(SERVICES.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _room(path: Path) -> str | None:
    parts = path.relative_to(SERVICES).parts
    return parts[0] if len(parts) > 1 else None


def _package(path: Path) -> list[str]:
    """The dotted package a module lives in, for resolving its relative imports."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return parts[:-1]


def _imported(path: Path) -> set[str]:
    """Every module under ``services`` that ``path`` imports, dotted, relative ones resolved."""
    return _imported_by(_tree(path), _package(path))


def _imported_by(tree: ast.Module, package: list[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            # `from services import api` names a room through its imported names.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "services" or name.startswith("services.")}


def _rooms_imported(path: Path) -> set[str]:
    return _rooms_of(_imported(path))


def _rooms_of(names: set[str]) -> set[str]:
    rooms: set[str] = set()
    for name in names:
        parts = name.split(".")
        if len(parts) > 1 and parts[1] in ROOMS:
            rooms.add(parts[1])
    return rooms


def test_alerts_use_only_the_search_modules_of_the_api() -> None:
    """The alerts room reaches into the API for its search request building alone."""
    broken = []
    for path in sorted((SERVICES / "alerts").rglob("*.py")):
        for name in _imported(path):
            parts = name.split(".")
            module = ".".join(parts[:3]) if parts[2:3] != ["routes"] else ".".join(parts[:4])
            if parts[1:2] == ["api"] and module not in ALERTS_MAY_USE:
                broken.append(f"{_rel(path)} imports {name}")
    assert broken == [], "the alerts room uses more of the API than its search:\n" + "\n".join(
        broken
    )


def test_rooms_are_the_known_ones() -> None:
    """Every package under services/ is a room the document and the import rules know."""
    packages = {p.name for p in SERVICES.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(ROOMS)


def test_document_names_every_module() -> None:
    """Every module of services/ (but __init__ and __main__) is named in docs/architecture.md."""
    named = set(_PATH.findall(DOC.read_text(encoding="utf-8")))
    missing = [
        _rel(p)
        for p in _modules()
        if p.name not in {"__init__.py", "__main__.py"} and _rel(p) not in named
    ]
    assert missing == [], f"modules not named in {_rel(DOC)}: {missing}"


def test_document_names_no_missing_module() -> None:
    """Every services/...py path named in docs/architecture.md exists."""
    named = set(_PATH.findall(DOC.read_text(encoding="utf-8")))
    absent = sorted(name for name in named if not (REPO / name).is_file())
    assert absent == [], f"{_rel(DOC)} names modules that do not exist: {absent}"


def test_imports_keep_to_the_rooms() -> None:
    """common imports no service; ingest, indexer and api import none of each other."""
    broken = []
    for path in _modules():
        room = _room(path)
        if room is None:
            continue
        for other in sorted(_rooms_imported(path) - MAY_IMPORT[room]):
            broken.append(f"{_rel(path)} ({room}) imports services.{other}")
    assert broken == [], "imports across rooms:\n" + "\n".join(broken)


def _too_long(tree: ast.Module, name: str) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            kind, limit = "class", MAX_CLASS_LINES
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            kind, limit = "function", MAX_FUNCTION_LINES
        else:
            continue
        lines = (node.end_lineno or node.lineno) - node.lineno + 1
        if lines > limit:
            found.append(f"{name}:{node.lineno} {kind} {node.name}: {lines} lines (max {limit})")
    return found


def test_no_class_or_function_too_long() -> None:
    """No class over 150 lines and no function over 60 anywhere in services/."""
    found = [line for path in _modules() for line in _too_long(_tree(path), _rel(path))]
    assert found == [], "too long:\n" + "\n".join(found)


def test_measures_find_what_they_look_for() -> None:
    """The checks themselves: 61 lines are too long, 60 are not; every import form is seen."""

    def body(indent: str, lines: int) -> str:
        return "\n".join(f"{indent}x{i} = {i}" for i in range(lines))

    long_one = ast.parse(
        f"class C:\n    def f(self) -> None:\n{body(' ' * 8, MAX_FUNCTION_LINES)}\n"
    )
    assert [line.split(" ", 1)[1] for line in _too_long(long_one, "m.py")] == [
        "function f: 61 lines (max 60)"
    ]
    fits = ast.parse(f"def f() -> None:\n{body(' ' * 4, MAX_FUNCTION_LINES - 1)}\n")
    assert _too_long(fits, "m.py") == []
    source = (
        "import services.api.app\n"
        "from services import indexer\n"
        "from ..ingest import readers\n"
        "from . import clock\n"
        "import os\n"
    )
    names = _imported_by(ast.parse(source), ["services", "common"])
    assert _rooms_of(names) == {"api", "indexer", "ingest", "common"}
    assert _package(SERVICES / "ingest" / "routes.py") == ["services", "ingest"]
