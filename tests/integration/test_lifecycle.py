"""The newsroom lifecycle on the live stack: ninjs in and out, kills, holds, embargoes, versions.

Each test runs the real ingest app (HTTP, in process), the real indexer and the real API on
the test's own topic and index; nothing is faked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from elasticsearch import AsyncElasticsearch
from pydantic import SecretStr

from services.api.app import create_app as create_api
from services.common.dlq import H_CODE, decode_headers
from services.common.es import es_client
from services.common.ninjs_schema import NINJS_MEDIA_TYPE, problems
from services.common.settings import Settings
from services.indexer.rebuild import rebuild
from services.ingest.app import create_app as create_ingest
from services.stack.local_stack import LocalStack
from tests.integration.pipeline_helpers import asgi_client, read_topic, running_indexer, wait_until

pytestmark = pytest.mark.integration

KEY = "test-lifecycle-key"
NINJS = {"content-type": NINJS_MEDIA_TYPE}


@dataclass
class Newsroom:
    """The ingest (with its key) and the API of one test, the indexer running behind them."""

    ingest: httpx.AsyncClient
    api: httpx.AsyncClient
    settings: Settings

    async def post(self, **fields: Any) -> str:
        """Post a ninjs item; returns the article id the ingest answers."""
        reply = await self.ingest.post(
            "/v1/articles", content=orjson.dumps(item(**fields)), headers=NINJS
        )
        assert reply.status_code == 202, reply.text
        return str(reply.json()["id"])

    async def found(self, query: str) -> list[str]:
        """Ids of the search hits for ``query``."""
        reply = await self.api.get("/v1/search", params={"q": query})
        assert reply.status_code == 200, reply.text
        return [hit["id"] for hit in reply.json()["items"]]

    async def status_of(self, article_id: str) -> int:
        """The status GET /v1/articles/{id} answers."""
        return (await self.api.get(f"/v1/articles/{article_id}")).status_code


def item(uri: str = "urn:newswire:test:quake", **fields: Any) -> dict[str, Any]:
    """A ninjs 2.x text item."""
    return {
        "uri": uri,
        "type": "text",
        "versioncreated": "2026-12-01T10:00:00Z",
        "language": "en",
        "headlines": [{"role": "main", "value": fields.pop("headline", "Quake hits the coast")}],
        "bodies": [
            {
                "role": "main",
                "contenttype": "text/plain",
                "value": fields.pop(
                    "body", "A strong quake hit the coast.\n\nNo casualties so far."
                ),
            }
        ],
        **fields,
    }


@pytest.fixture
async def newsroom(settings: Settings) -> AsyncIterator[Newsroom]:
    keyed = settings.model_copy(update={"api_key": SecretStr(KEY)})
    async with (
        running_indexer(keyed),
        asgi_client(create_ingest(keyed), "http://ingest") as ingest,
        asgi_client(create_api(keyed), "http://api") as api,
    ):
        ingest.headers["authorization"] = f"Bearer {KEY}"
        yield Newsroom(ingest, api, keyed)


async def test_a_ninjs_article_is_found_and_served_back_as_valid_ninjs(newsroom: Newsroom) -> None:
    article_id = await newsroom.post(subjects=[{"name": "Chile"}], urgency=2)
    await wait_until(lambda: _has(newsroom, "quake", article_id), 20, "the article searchable")
    reply = await newsroom.api.get(
        f"/v1/articles/{article_id}", headers={"accept": NINJS_MEDIA_TYPE}
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith(NINJS_MEDIA_TYPE)
    document = reply.json()
    assert problems(document) == []
    assert document["uri"] == "urn:newswire:test:quake"
    assert document["urgency"] == 2
    assert {"name": "Chile"} in document["subjects"]


async def test_a_kill_answers_410_and_leaves_search(newsroom: Newsroom) -> None:
    article_id = await newsroom.post()
    await wait_until(lambda: _has(newsroom, "quake", article_id), 20, "the article searchable")
    killed = await newsroom.post(pubstatus="canceled", versioncreated="2026-12-01T11:00:00Z")
    assert killed == article_id
    await wait_until(lambda: _gone(newsroom, article_id), 20, "the kill applied")
    reply = await newsroom.api.get(f"/v1/articles/{article_id}")
    assert reply.json()["code"] == "article_killed"
    assert reply.json()["killed_at"].startswith("2026-12-01T11:00:00")
    await wait_until(lambda: _lacks(newsroom, "quake", article_id), 5, "the kill searchable")
    assert (await newsroom.api.get(f"/v1/articles/{article_id}/versions")).status_code == 410


async def test_delete_with_the_ingest_key_kills(newsroom: Newsroom) -> None:
    article_id = await newsroom.post(uri="urn:newswire:test:delete")
    await wait_until(lambda: _has(newsroom, "quake", article_id), 20, "the article searchable")
    unkeyed = await newsroom.ingest.delete(
        f"/v1/articles/{article_id}", headers={"authorization": ""}
    )
    assert unkeyed.status_code == 401
    reply = await newsroom.ingest.delete(f"/v1/articles/{article_id}", params={"reason": "legal"})
    assert reply.status_code == 202
    await wait_until(lambda: _gone(newsroom, article_id), 20, "the kill applied")


async def test_a_kill_that_arrives_before_its_article_still_wins(newsroom: Newsroom) -> None:
    article_id = await newsroom.post(uri="urn:newswire:test:early", pubstatus="canceled")
    await wait_until(lambda: _gone(newsroom, article_id), 20, "the kill stored")
    assert await newsroom.post(uri="urn:newswire:test:early") == article_id
    marker = await newsroom.post(uri="urn:newswire:test:marker", headline="Marker story")
    await wait_until(lambda: _has(newsroom, "marker", marker), 20, "a later article indexed")
    assert await newsroom.status_of(article_id) == 410


async def test_a_hold_hides_and_a_later_version_releases(newsroom: Newsroom) -> None:
    article_id = await newsroom.post(uri="urn:newswire:test:hold")
    await wait_until(lambda: _has(newsroom, "quake", article_id), 20, "the article searchable")
    await newsroom.post(
        uri="urn:newswire:test:hold", pubstatus="withheld", versioncreated="2026-12-01T11:00:00Z"
    )
    await wait_until(lambda: _status_is(newsroom, article_id, 404), 20, "the hold applied")
    # A lookup reads in real time; search sees the hold at the next refresh.
    await wait_until(lambda: _lacks(newsroom, "quake", article_id), 5, "the hold searchable")
    await newsroom.post(uri="urn:newswire:test:hold", versioncreated="2026-12-01T12:00:00Z")
    await wait_until(lambda: _has(newsroom, "quake", article_id), 20, "the release")


async def test_an_embargo_hides_until_its_time_then_shows_without_a_new_ingest(
    newsroom: Newsroom,
) -> None:
    until = datetime.now(UTC) + timedelta(seconds=6)
    article_id = await newsroom.post(uri="urn:newswire:test:embargo", embargoed=until.isoformat())
    marker = await newsroom.post(uri="urn:newswire:test:marker2", headline="Marker story")
    await wait_until(lambda: _has(newsroom, "marker", marker), 20, "a later article indexed")
    if datetime.now(UTC) < until - timedelta(seconds=1):
        assert article_id not in await newsroom.found("quake")
        assert await newsroom.status_of(article_id) == 404
    await asyncio.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()))
    await wait_until(lambda: _has(newsroom, "quake", article_id), 10, "the embargo lifted")
    assert await newsroom.status_of(article_id) == 200


async def test_corrections_keep_every_version(newsroom: Newsroom) -> None:
    uri = "urn:newswire:test:versions"
    article_id = await newsroom.post(uri=uri)
    for hour, body in [
        (11, "A strong quake hit the coast.\n\nTwo people were hurt."),
        (12, "A strong quake hit the coast.\n\nThree people were hurt."),
        (13, "A strong quake hit the north coast.\n\nThree people were hurt."),
    ]:
        await newsroom.post(uri=uri, versioncreated=f"2026-12-01T{hour}:00:00Z", body=body)

    async def four() -> bool:
        reply = await newsroom.api.get(f"/v1/articles/{article_id}/versions")
        return reply.status_code == 200 and reply.json()["count"] == 4

    await wait_until(four, 20, "four versions listed")
    listing = (await newsroom.api.get(f"/v1/articles/{article_id}/versions")).json()
    changes = [v["body_change"] for v in listing["versions"]]
    assert changes[0] is None
    assert changes[2]["words_added"] == 1
    assert changes[2]["words_removed"] == 1
    first = listing["versions"][0]["version"]
    old = await newsroom.api.get(f"/v1/articles/{article_id}/versions/{first}")
    assert old.json()["body"] == "A strong quake hit the coast.\n\nNo casualties so far."
    last = listing["versions"][-1]["version"]
    shown = await newsroom.api.get(f"/v1/articles/{article_id}/versions/{last}")
    assert shown.json()["body"] == "A strong quake hit the north coast.\n\nThree people were hurt."
    # The version shown lives in the article index only: the versions index keeps the three
    # before it, each once.
    async with es_client(newsroom.settings) as es:
        await es.indices.refresh(index=newsroom.settings.versions_index)
        kept = await es.search(
            index=newsroom.settings.versions_index,
            query={"term": {"id": article_id}},
            source_includes=["version"],
        )
    held = sorted(hit["_source"]["version"] for hit in kept["hits"]["hits"])
    assert held == [v["version"] for v in listing["versions"][:-1]]


async def test_a_kill_sent_while_elasticsearch_is_down_is_applied_after(
    newsroom: Newsroom, local_stack: LocalStack
) -> None:
    article_id = await newsroom.post(uri="urn:newswire:test:outage")
    await wait_until(lambda: _has(newsroom, "quake", article_id), 20, "the article searchable")
    es_server = next(s for s in local_stack.servers() if s.name == "elasticsearch")
    es_server.process.stop()
    try:
        reply = await newsroom.ingest.delete(f"/v1/articles/{article_id}")
        assert reply.status_code == 202  # Kafka holds it while Elasticsearch is away
    finally:
        await asyncio.to_thread(local_stack.up)
    await wait_until(lambda: _gone(newsroom, article_id), 90, "the kill applied after the outage")


async def _has(newsroom: Newsroom, query: str, article_id: str) -> bool:
    return article_id in await newsroom.found(query)


async def _lacks(newsroom: Newsroom, query: str, article_id: str) -> bool:
    return article_id not in await newsroom.found(query)


async def _gone(newsroom: Newsroom, article_id: str) -> bool:
    return await newsroom.status_of(article_id) == 410


async def _status_is(newsroom: Newsroom, article_id: str, status: int) -> bool:
    return await newsroom.status_of(article_id) == status


async def test_rebuild_from_the_topic_reproduces_the_searchable_state(newsroom: Newsroom) -> None:
    settings = newsroom.settings
    ids = [
        await newsroom.post(uri=f"urn:newswire:test:r{n}", headline=f"Story {n}") for n in range(4)
    ]
    await newsroom.post(uri="urn:newswire:test:r1", versioncreated="2026-12-01T12:00:00Z")
    await newsroom.post(uri="urn:newswire:test:r2", pubstatus="canceled")
    await newsroom.post(
        uri="urn:newswire:test:r3", pubstatus="withheld", versioncreated="2026-12-01T12:00:00Z"
    )
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    embargoed = await newsroom.post(uri="urn:newswire:test:r4", headline="Story 4", embargoed=until)
    await wait_until(lambda: _gone(newsroom, ids[2]), 20, "the kill applied")
    await wait_until(lambda: _status_is(newsroom, ids[3], 404), 20, "the hold applied")
    await wait_until(lambda: _indexed(settings, 5), 20, "every event indexed")
    async with es_client(settings) as es:
        before = await _documents(es, settings.index_alias)
        rebuilt = await rebuild(es, settings)
        assert rebuilt.new != rebuilt.old
        assert rebuilt.refused == 0
        after = await _documents(es, settings.index_alias)
    differing = {
        (doc_id, key)
        for doc_id in before.keys() | after.keys()
        for key in before.get(doc_id, {}).keys() | after.get(doc_id, {}).keys()
        if before.get(doc_id, {}).get(key) != after.get(doc_id, {}).get(key)
    }
    assert not differing, sorted(differing)
    assert await newsroom.status_of(ids[2]) == 410
    assert await newsroom.status_of(ids[3]) == 404
    assert set(await newsroom.found("story")) == {ids[0]}  # r1's newest version is the quake
    assert ids[1] in await newsroom.found("quake")
    assert embargoed not in await newsroom.found("story")


async def _indexed(settings: Settings, count: int) -> bool:
    async with es_client(settings) as es:
        await es.indices.refresh(index=settings.index_alias)
        return int((await es.count(index=settings.index_alias))["count"]) >= count


async def _documents(es: AsyncElasticsearch, alias: str) -> dict[str, dict[str, Any]]:
    """Every document behind ``alias`` by id, without when and by which process it was indexed."""
    await es.indices.refresh(index=alias)
    reply = await es.search(index=alias, size=1000, query={"match_all": {}}, version=True)
    return {
        hit["_id"]: {
            **{k: v for k, v in hit["_source"].items() if k not in ("indexed_at", "indexed_by")},
            "_version": hit["_version"],
        }
        for hit in reply["hits"]["hits"]
    }


async def test_an_invalid_ninjs_item_is_a_422_problem_and_a_dead_letter(newsroom: Newsroom) -> None:
    raw = b'{"uri": "urn:newswire:test:bad", "pubstatus": "deleted", "headlines": []}'
    reply = await newsroom.ingest.post("/v1/articles", content=raw, headers=NINJS)
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == "invalid_ninjs"
    [letter] = await read_topic(newsroom.settings, newsroom.settings.topic_dlq, 1)
    assert letter.value == raw, "the original bytes, untouched"
    assert decode_headers(letter.headers)[H_CODE] == "invalid_ninjs"
