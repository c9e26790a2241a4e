"""A saved search's webhook may not point inside the deployment (metadata, loopback, LAN)."""

from __future__ import annotations

from pydantic import SecretStr

from services.api.app import create_app
from services.common.settings import Settings
from tests.integration.pipeline_helpers import asgi_client

AUTH = {"authorization": "Bearer egress-key"}


async def test_a_webhook_to_a_private_address_is_a_400_problem(settings: Settings) -> None:
    settings = settings.model_copy(update={"api_key": SecretStr("egress-key")})
    async with asgi_client(create_app(settings), "http://api") as api:
        for url in (
            "http://169.254.169.254/latest/meta-data/iam/",
            "http://127.0.0.1:9200/_cluster/settings",
            "http://[::ffff:10.0.0.1]/",
        ):
            reply = await api.post("/v1/alerts", json={"q": "x", "webhook_url": url}, headers=AUTH)
            assert reply.status_code == 400, reply.text
            assert reply.headers["content-type"] == "application/problem+json"
            assert reply.json()["code"] == "webhook_not_allowed"
        listed = await api.get("/v1/alerts", headers=AUTH)
        assert listed.status_code == 200
        assert listed.json()["items"] == []  # nothing was saved
