"""A lean HTTP/1.1 node for the API's Elasticsearch client: keep-alive sockets, httptools.

aiohttp's client builds a session request per call (URL objects, cookie jar, tracing,
timers), a fifth of the API's CPU per search. This node writes each request as one buffer
on a kept-alive connection and parses the reply with httptools (uvicorn's own parser). It
raises elastic-transport's errors as its other nodes do, so the one conversion table
(services.common.es.RULES) judges its failures as before.
"""

from __future__ import annotations

import asyncio
from typing import cast

import httptools
from elastic_transport import (
    ApiResponseMeta,
    BaseAsyncNode,
    ConnectionTimeout,
    HttpHeaders,
    NodeConfig,
)
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport._node._base import NodeApiResponse
from elastic_transport.client_utils import DEFAULT, DefaultType

Reply = tuple[int, dict[str, str], bytes]  # status, headers (lowercase names), body


class Closed(OSError):
    """The server closed the connection before the reply was whole."""


class Connection(asyncio.Protocol):
    """One connection: one request at a time, its reply parsed as it arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reusable = False
        self.received = False
        self._waiter: asyncio.Future[None] | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._head = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport (uvloop's is not an asyncio.Transport subclass, but is one)."""
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        """A reply cut short fails its request; an idle connection is simply not reused."""
        self.transport = None
        self._fail(exc or Closed("Elasticsearch closed the connection"))

    def data_received(self, data: bytes) -> None:
        """Feed the parser; a reply that is not HTTP fails the request."""
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def on_header(self, name: bytes, value: bytes) -> None:
        """One header; a repeated one (warnings) is joined as HTTP allows."""
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        self._headers[key] = f"{self._headers[key]}, {text}" if key in self._headers else text

    def on_headers_complete(self) -> None:
        """A reply to HEAD has no body: it is whole now (its connection is not reused)."""
        if self._head:
            self._done(reusable=False)

    def on_body(self, body: bytes) -> None:
        """Collect the body (httptools has undone any chunked encoding)."""
        self._body.append(body)

    def on_message_complete(self) -> None:
        """The reply is whole."""
        self._done(reusable=self._parser.should_keep_alive())

    def _done(self, *, reusable: bool) -> None:
        self.reusable = reusable
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        self.reusable = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    async def exchange(self, request: bytes, *, head: bool) -> Reply:
        """Send ``request`` and wait for the whole reply: status, headers, body."""
        if self.transport is None or self.transport.is_closing():
            raise Closed("the connection is closed")
        self.reusable = self.received = False
        self._head, self._headers, self._body = head, {}, []
        self._parser = httptools.HttpResponseParser(self)
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        await self._waiter
        return self._parser.get_status_code(), self._headers, b"".join(self._body)

    def close(self) -> None:
        """Close the socket."""
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


class LeanNode(BaseAsyncNode):
    """A plain-HTTP node: at most ``connections_per_node`` kept-alive connections."""

    _CLIENT_META_HTTP_CLIENT = ("ht", httptools.__version__)

    def __init__(self, config: NodeConfig) -> None:
        if config.scheme != "http" or config.http_compress:
            raise ValueError("LeanNode speaks plain, uncompressed HTTP only")
        super().__init__(config)
        self._idle: list[Connection] = []
        self._slots = asyncio.Semaphore(config.connections_per_node)
        self._host_header = f"host: {self.host}:{self.port}\r\n"

    async def perform_request(  # type: ignore[override]
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        """Send one request; connection failures and timeouts raise elastic-transport's errors."""
        timeout = self.config.request_timeout if request_timeout is DEFAULT else request_timeout
        request = self._encode(method, target, body, headers)
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            # The timeout bounds the wait for a free connection too, as aiohttp's pool does.
            async with asyncio.timeout(timeout), self._slots:
                status, reply_headers, data = await self._exchange(request, head=method == "HEAD")
        except TimeoutError as exc:
            raise ConnectionTimeout("Connection timed out during request", errors=(exc,)) from None
        except (OSError, httptools.HttpParserError) as exc:
            raise TransportConnectionError(str(exc) or repr(exc), errors=(exc,)) from None
        meta = ApiResponseMeta(
            node=self.config,
            duration=loop.time() - start,
            http_version="1.1",
            status=status,
            headers=HttpHeaders(reply_headers),
        )
        return NodeApiResponse(meta, data)

    async def _exchange(self, request: bytes, *, head: bool) -> Reply:
        """Send on an idle connection if there is one, else on a new one.

        An idle connection the server closed meanwhile (nothing received) is dropped and the
        request sent again: it never reached Elasticsearch.
        """
        while self._idle:
            conn = self._idle.pop()
            try:
                return self._reply(conn, await conn.exchange(request, head=head))
            except OSError:
                conn.close()
                if conn.received:
                    raise
            except BaseException:
                conn.close()
                raise
        conn = await self._connect()
        try:
            return self._reply(conn, await conn.exchange(request, head=head))
        except BaseException:
            conn.close()
            raise

    def _reply(self, conn: Connection, reply: Reply) -> Reply:
        """Return the connection to the idle ones when its reply allows it."""
        if conn.reusable:
            self._idle.append(conn)
        else:
            conn.close()
        return reply

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(Connection, self.host, self.port)
        return conn

    def _encode(
        self, method: str, target: str, body: bytes | None, headers: HttpHeaders | None
    ) -> bytes:
        """The request as one buffer: request line, headers, body."""
        fields = self.headers.copy()
        if headers:
            fields.update(headers)
        lines = [f"{method} {self.path_prefix}{target} HTTP/1.1\r\n", self._host_header]
        lines += [f"{name}: {value}\r\n" for name, value in fields.items()]
        if body is not None or method in ("POST", "PUT"):
            lines.append(f"content-length: {len(body or b'')}\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        return head + body if body else head

    async def close(self) -> None:  # type: ignore[override]
        """Close the idle connections (a request in flight closes its own when it ends)."""
        while self._idle:
            self._idle.pop().close()
