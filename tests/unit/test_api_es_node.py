"""The API's lean Elasticsearch node: requests as one buffer, replies parsed whole."""

from __future__ import annotations

import asyncio

import pytest
from elastic_transport import NodeConfig

from services.api.es_node import Closed, Connection, LeanNode
from tests.unit.transport_fakes import FakeTransport


async def reply_to(
    conn: Connection, *chunks: bytes, head: bool = False
) -> tuple[int, dict[str, str], bytes]:
    task = asyncio.ensure_future(conn.exchange(b"GET / HTTP/1.1\r\n\r\n", head=head))
    await asyncio.sleep(0)
    for chunk in chunks:
        conn.data_received(chunk)
    return await task


def connected() -> tuple[Connection, FakeTransport]:
    conn, transport = Connection(), FakeTransport()
    conn.connection_made(transport)
    return conn, transport


async def test_a_reply_with_a_length_is_read_whole_in_pieces_and_the_connection_kept() -> None:
    conn, transport = connected()
    status, headers, body = await reply_to(
        conn,
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n",
        b'content-length: 11\r\n\r\n{"took":',
        b"12}",
    )
    assert (status, headers["content-type"], body) == (200, "application/json", b'{"took":12}')
    assert conn.reusable
    assert transport.written == [b"GET / HTTP/1.1\r\n\r\n"]


async def test_a_chunked_reply_is_undone_and_repeated_headers_joined() -> None:
    conn, _ = connected()
    status, headers, body = await reply_to(
        conn,
        b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\nWarning: a\r\nwarning: b\r\n\r\n",
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    )
    assert (status, headers["warning"], body) == (404, "a, b", b"abcde")


async def test_a_reply_that_closes_its_connection_is_not_reused() -> None:
    conn, _ = connected()
    await reply_to(conn, b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
    assert not conn.reusable


async def test_a_reply_to_head_is_whole_at_its_headers() -> None:
    conn, _ = connected()
    status, _, body = await reply_to(
        conn, b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n", head=True
    )
    assert (status, body, conn.reusable) == (200, b"", False)


async def test_a_reply_cut_short_fails_the_request() -> None:
    conn, _ = connected()
    task = asyncio.ensure_future(conn.exchange(b"GET / HTTP/1.1\r\n\r\n", head=False))
    await asyncio.sleep(0)
    conn.data_received(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
    conn.connection_lost(None)
    with pytest.raises(Closed):
        await task
    assert conn.received
    assert not conn.reusable


async def test_a_closed_connection_refuses_a_request_before_sending() -> None:
    conn, transport = connected()
    conn.connection_lost(None)
    with pytest.raises(Closed):
        await conn.exchange(b"GET / HTTP/1.1\r\n\r\n", head=False)
    assert transport.written == []
    assert not conn.received


def test_a_request_is_one_buffer_with_host_headers_length_and_body() -> None:
    node = LeanNode(NodeConfig("http", "127.0.0.1", 9200))
    raw = node._encode("POST", "/news/_search?size=1", b'{"a":1}', None)
    head, body = raw.split(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /news/_search?size=1 HTTP/1.1"
    assert "host: 127.0.0.1:9200" in lines
    assert "content-length: 7" in lines
    assert body == b'{"a":1}'


def test_only_plain_uncompressed_http_is_spoken() -> None:
    with pytest.raises(ValueError, match="plain"):
        LeanNode(NodeConfig("https", "127.0.0.1", 9200))
    with pytest.raises(ValueError, match="plain"):
        LeanNode(NodeConfig("http", "127.0.0.1", 9200, http_compress=True))


async def test_an_idle_connection_the_server_closed_is_dropped_and_the_request_sent_anew() -> None:
    node = LeanNode(NodeConfig("http", "127.0.0.1", 9200))
    stale, _ = connected()
    stale.connection_lost(None)  # Elasticsearch closed it while it sat idle
    fresh, transport = connected()

    async def connect() -> Connection:
        asyncio.get_running_loop().call_soon(
            fresh.data_received, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
        )
        return fresh

    node._idle.append(stale)
    node._connect = connect  # type: ignore[method-assign]
    reply = await node.perform_request("GET", "/")
    assert (reply.meta.status, reply.body) == (200, b"{}")
    assert len(transport.written) == 1
    assert node._idle == [fresh]
