"""A fake asyncio transport for the API's connection logic: it records, it sends nothing."""

from __future__ import annotations

import asyncio


class FakeTransport(asyncio.Transport):
    """Records what is written; closing is remembered."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True
