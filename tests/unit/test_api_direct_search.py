"""A search sent straight to the node is the request the client itself would send."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elastic_transport import ConnectionError as TransportConnectionError
from elasticsearch import ApiError, AsyncElasticsearch
from elasticsearch._sync.client.utils import _quote_query

from services.api import backend, search
from services.api.search import Attempt, SearchParams, encode_cursor
from services.common.errors import IndexMissing, QueryError, SearchBusy, SearchUnavailable
from services.common.settings import Settings

ALIAS = "news-articles"
CURSOR_PARAMS = SearchParams(q="iran", sort="newest", versions="all")
REQUESTS = [
    SearchParams(),
    SearchParams(q="iran", facets=("category", "published")),
    SearchParams(q='"ballistic missiles" -trump', categories=("world",), handles=("bbc",)),
    SearchParams(q="iran", date_from=date(2024, 1, 1), has_tweets=True, page=3, size=20),
    SearchParams(
        q="iran", sort="newest", versions="all", cursor=encode_cursor([1, 2, "a"], CURSOR_PARAMS)
    ),
]


class Sent(Exception):
    """What the client was about to send."""

    def __init__(self, path: str, params: dict[str, Any], body: Any) -> None:
        super().__init__(path)
        self.target = f"{path}?{_quote_query(params)}" if params else path
        self.body = body


async def sent_by_client(request: dict[str, Any]) -> Sent:
    es = AsyncElasticsearch("http://127.0.0.1:9")

    async def record(method: str, path: str, **kwargs: Any) -> Any:
        assert method == "POST"
        raise Sent(path, kwargs.get("params") or {}, kwargs.get("body"))

    es.perform_request = record  # type: ignore[method-assign]
    try:
        await es.search(**request)
    except Sent as sent:
        return sent
    finally:
        await es.close()
    raise AssertionError("the client sent nothing")


@pytest.mark.parametrize("params", REQUESTS)
async def test_the_target_and_body_are_the_clients(params: SearchParams) -> None:
    if params.cursor:
        params = SearchParams(q="iran", sort="newest", versions="all", cursor=params.cursor)
    for attempt in (Attempt(), Attempt("any", fuzzy=True)):
        request = {**search.build(params, ALIAS, attempt=attempt), **backend.bounds(Settings())}
        prepared = backend.search_request(request)
        assert prepared is not None
        client = await sent_by_client(request)
        assert prepared[0] == client.target
        assert orjson.loads(prepared[1]) == client.body


def test_arguments_it_does_not_know_are_left_to_the_client() -> None:
    request = search.build(SearchParams(q="iran"), ALIAS)
    assert backend.search_request({**request, "explain": True}) is None
    assert backend.search_request({**request, "sort": ["published_date:desc"]}) is None


class FakeNode:
    """A node that answers one status and body."""

    def __init__(self, status: int, raw: bytes) -> None:
        self.status, self.raw = status, raw

    async def perform_request(self, method: str, target: str, **kwargs: Any) -> Any:
        self.timeout = kwargs["request_timeout"]
        node = NodeConfig("http", "h", 1)
        return ApiResponseMeta(self.status, "1.1", HttpHeaders(), 0.0, node), self.raw


class FakePool:
    """A round-robin pool over nodes that remembers which were marked dead."""

    def __init__(self, *nodes: Any) -> None:
        self.nodes, self.turn = list(nodes), 0
        self.dead: list[Any] = []

    def all(self) -> list[Any]:
        return self.nodes

    def get(self) -> Any:
        alive = [n for n in self.nodes if n not in self.dead] or self.nodes
        self.turn += 1
        return alive[(self.turn - 1) % len(alive)]

    def mark_dead(self, node: Any) -> None:
        self.dead.append(node)

    def mark_live(self, node: Any) -> None:
        if node in self.dead:
            self.dead.remove(node)


def client_on(*nodes: Any) -> Any:
    return SimpleNamespace(transport=SimpleNamespace(node_pool=FakePool(*nodes)))


class GoneNode:
    """A node whose process is gone: every connection is refused."""

    async def perform_request(self, method: str, target: str, **kwargs: Any) -> Any:
        raise TransportConnectionError("connection refused")


async def test_a_search_goes_on_to_the_next_node_when_one_is_gone() -> None:
    good = FakeNode(200, b'{"hits":{"hits":[]}}')
    es = client_on(GoneNode(), good)
    request = search.build(SearchParams(q="iran"), ALIAS)
    reply = await backend.search(es, request, timeout=1.0)
    assert reply.body == {"hits": {"hits": []}}
    assert es.transport.node_pool.dead
    assert good not in es.transport.node_pool.dead


async def test_one_node_gone_is_the_clients_connection_error() -> None:
    request = search.build(SearchParams(q="iran"), ALIAS)
    with pytest.raises(TransportConnectionError):
        await backend.search(client_on(GoneNode()), request, timeout=1.0)


@pytest.mark.parametrize(
    ("status", "raw", "expected", "message"),
    [
        (404, b'{"error":{"type":"index_not_found_exception"},"status":404}', IndexMissing, None),
        (429, b'{"error":{"type":"es_rejected_execution_exception"}}', SearchBusy, None),
        (400, b'{"error":{"type":"parsing_exception"}}', QueryError, "parsing_exception"),
        (502, b"<html>bad gateway</html>", SearchUnavailable, None),
    ],
)
async def test_refusals_raise_what_the_client_raises_and_the_table_converts_them(
    status: int, raw: bytes, expected: type[Exception], message: str | None
) -> None:
    request = search.build(SearchParams(q="iran"), ALIAS)
    with pytest.raises(expected) as caught:
        await backend.call(backend.search(client_on(FakeNode(status, raw)), request, timeout=1))
    assert isinstance(caught.value.__cause__, ApiError)
    assert caught.value.__cause__.meta.status == status
    if message:
        assert message in str(caught.value)


async def test_an_answer_is_the_parsed_body() -> None:
    request = search.build(SearchParams(q="iran"), ALIAS)
    node = FakeNode(200, b'{"took":3}')
    reply = await backend.search(client_on(node), request, timeout=0.25)
    assert reply.body == {"took": 3}
    assert node.timeout == 0.25  # the client's timeout, which the node is not configured with
