"""The one Bearer-key check: the right key passes; a wrong or missing one is the same 401."""

from __future__ import annotations

from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials

from services.common import problems
from services.common.auth import bearer_scheme, check_bearer
from services.common.errors import Unauthorized

_bearer = bearer_scheme()


def guarded_app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    async def authorize(
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        check_bearer(creds, "s3cret", key="test key")

    @app.get("/guarded", dependencies=[Depends(authorize)])
    def guarded() -> dict[str, str]:
        return {"status": "open"}

    return app


async def get(headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=guarded_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return await client.get("/guarded", headers=headers)


def test_the_right_key_passes() -> None:
    creds = HTTPAuthorizationCredentials(scheme="Bearer", credentials="s3cret")
    check_bearer(creds, "s3cret")


@pytest.mark.parametrize("given", [None, "", "s3cre", "s3cret!"])
def test_a_wrong_or_missing_key_is_unauthorized(given: str | None) -> None:
    creds = (
        None if given is None else HTTPAuthorizationCredentials(scheme="Bearer", credentials=given)
    )
    with pytest.raises(Unauthorized, match="Bearer <operator key>"):
        check_bearer(creds, "s3cret", key="operator key")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
async def test_the_401_is_problem_json_naming_the_scheme(headers: dict[str, str]) -> None:
    reply = await get(headers)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == 'Bearer realm="newswire"'
    assert reply.json()["code"] == "unauthorized"
    assert "Bearer <test key>" in reply.json()["detail"]


async def test_the_right_key_opens_the_route() -> None:
    reply = await get({"Authorization": "Bearer s3cret"})
    assert reply.status_code == 200
