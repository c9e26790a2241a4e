"""Every problem code used in services/ has its page, and problem ``type`` points at it."""

from __future__ import annotations

import ast
import asyncio
import importlib
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.common import problem_pages, problems
from services.common.errors import ArticleRejected, NotFound
from services.common.settings import Settings

REPO = Path(__file__).resolve().parents[2]
_CODE = re.compile(r"[a-z][a-z0-9_]*\Z")
# Calls whose first argument is a code: rejections, query errors.
_CODE_FIRST = {"_reject", "_error", "ArticleRejected", "reject"}
# Names a code is assigned to before it is raised (class attributes, a shared failure code).
_CODE_NAMES = {"code", "fail"}


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and _CODE.match(node.value):
        return node.value
    return None


def _codes_in(tree: ast.AST) -> set[str]:
    found: list[str | None] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in _CODE_FIRST and node.args:
                found.append(_literal(node.args[0]))
            found += [_literal(k.value) for k in node.keywords if k.arg == "code"]
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in _CODE_NAMES for t in node.targets
        ):
            found.append(_literal(node.value))
    return {code for code in found if code is not None}


def used_codes() -> set[str]:
    """Every code services/ raises, answers with or dead-letters, as written in the source."""
    codes: set[str] = set(problems.HTTP_CODES.values()) | {"http_error"}
    for path in (REPO / "services").rglob("*.py"):
        codes |= _codes_in(ast.parse(path.read_text()))
    readme = (REPO / "README.md").read_text()
    listed = readme.split("Error codes:", 1)[1].split("(indexer)", 1)[0]
    return codes | set(re.findall(r"`([a-z_]+)`", listed))


def test_the_scan_sees_codes_of_every_kind() -> None:
    assert {"unterminated_phrase", "malformed_updated", "ingest_busy", "not_json"} <= used_codes()


def test_every_used_code_has_a_page() -> None:
    missing = sorted(used_codes() - set(problem_pages.CODES))
    assert not missing, missing


def test_rejection_pages_give_the_status_the_ingest_answers() -> None:
    for code, status in problems.STATUS_BY_CODE.items():
        assert problem_pages.CODES[code].status == status, code
    for code in ("malformed_header", "empty_body", "future_date"):
        assert problem_pages.CODES[code].status == problems.status_for(ArticleRejected(code, ""))


def test_problem_type_is_the_page_of_its_code() -> None:
    response = problems.problem(404, "Not found", "gone", code="not_found")
    assert b'"type":"/problems/not_found"' in response.body


def _get(app: FastAPI, *paths: str) -> list[httpx.Response]:
    """GET each path of ``app`` in turn (no lifespan: no backend is needed)."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            return [await client.get(path) for path in paths]

    return asyncio.run(run())


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound("no such thing")

    return app


def test_the_type_of_an_answer_resolves_to_a_page() -> None:
    app = _app()
    [answer] = _get(app, "/missing")
    [page] = _get(app, answer.json()["type"])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text
    assert "<td>404</td>" in page.text


def test_an_unknown_code_is_a_404_problem() -> None:
    [reply] = _get(_app(), "/problems/no_such_code")
    assert reply.status_code == 404
    assert reply.json()["code"] == "not_found"


def test_the_index_links_every_code() -> None:
    text = _get(_app(), "/problems")[0].text
    assert all(f'href="/problems/{code}"' in text for code in problem_pages.CODES)


def test_pages_escape_their_text() -> None:
    page = problem_pages.CodePage(400, "<b>", "a < b", "x & y")
    text = problem_pages.render("c", page)
    for escaped in ("&lt;b&gt;", "a &lt; b", "x &amp; y"):
        assert escaped in text


@pytest.mark.parametrize("module", ["services.api.app", "services.ingest.app"])
def test_both_services_serve_the_pages(module: str) -> None:
    app = importlib.import_module(module).create_app(Settings())
    assert _get(app, "/problems/too_large")[0].status_code == 200
