"""The API's HTTP protocol: uvicorn's httptools one, a response's head and body in one write.

uvicorn writes a response's status line and headers as soon as the app starts it, and the
body as a second write: two system calls, two TCP segments, per answer. Writes made in one
turn of the event loop are joined here and leave together at its end, or at once when the
connection closes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class JoinedWrites(asyncio.Transport):
    """A transport whose writes in one turn of the loop go out as one write."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data``; the first write of a turn schedules the flush."""
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def flush(self) -> None:
        """Write what is queued, as one buffer."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        """Flush, then close: an answer queued before the close still leaves."""
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        """Whether the connection is closing."""
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The socket's details, from the real transport."""
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        """Flow control, passed through."""
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        """Flow control, passed through."""
        self._transport.resume_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Passed through (an upgrade hands the connection over)."""
        self.flush()
        self._transport.set_protocol(protocol)

    def abort(self) -> None:
        """Drop the connection now, queued data with it."""
        self._pending.clear()
        self._transport.abort()


class JoinedWritesProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a transport that joins a turn's writes."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Wrap the connection's transport."""
        super().connection_made(JoinedWrites(transport, self.loop))
