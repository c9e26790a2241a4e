"""What readers may see: the verdict on one document, content negotiation, the 410 problem."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import orjson
import pytest
from fastapi import FastAPI

from services.api.negotiation import prefers_ninjs
from services.common import problems
from services.common.errors import Gone
from services.common.visibility import visibility

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("source", "verdict"),
    [
        ({"title": "t"}, "visible"),
        ({"status": "canceled", "status_at": "2026-12-02T11:00:00.000Z"}, "killed"),
        ({"status": "withheld"}, "withheld"),
        ({"title": "t", "embargoed": "2026-12-02T12:00:01.000Z"}, "embargoed"),
        ({"title": "t", "embargoed": "2026-12-02T12:00:00.000Z"}, "visible"),
        ({"title": "t", "embargoed": None}, "visible"),
    ],
)
def test_the_verdict_on_a_document(source: dict[str, object], verdict: str) -> None:
    assert visibility(source, NOW) == verdict


@pytest.mark.parametrize(
    ("accept", "ninjs"),
    [
        (None, False),
        ("application/json", False),
        ("application/ninjs+json", True),
        ("application/ninjs+json;q=0.5, application/json", False),
        ("application/json;q=0.5, application/ninjs+json", True),
        ("application/ninjs+json;q=0", False),
        ("*/*, application/ninjs+json", True),
        ("application/ninjs+json;q=bad", False),
    ],
)
def test_ninjs_is_served_when_preferred(accept: str | None, ninjs: bool) -> None:
    assert prefers_ninjs(accept) is ninjs


async def test_a_killed_article_is_a_410_problem_saying_when() -> None:
    app = FastAPI()
    problems.install(app)

    @app.get("/x")
    async def killed() -> None:
        raise Gone("article abc was killed", killed_at="2026-12-02T11:00:00.000Z")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        reply = await client.get("/x")
    assert reply.status_code == 410
    assert reply.headers["content-type"] == "application/problem+json"
    document = orjson.loads(reply.content)
    assert document["code"] == "article_killed"
    assert document["killed_at"] == "2026-12-02T11:00:00.000Z"
    assert document["type"].endswith("/problems/article_killed")
