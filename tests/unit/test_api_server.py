"""The API's transport wrapper: a turn's writes leave as one, nothing is lost on close."""

from __future__ import annotations

import asyncio

from services.api.server import JoinedWrites
from tests.unit.transport_fakes import FakeTransport


async def test_writes_of_one_turn_leave_as_one_write_at_its_end() -> None:
    real = FakeTransport()
    joined = JoinedWrites(real, asyncio.get_running_loop())
    joined.write(b"HTTP/1.1 200 OK\r\n\r\n")
    joined.write(b"{}")
    assert real.written == []
    await asyncio.sleep(0)
    assert real.written == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
    joined.write(b"next")
    await asyncio.sleep(0)
    assert real.written[-1] == b"next"


async def test_closing_flushes_first_and_a_closed_connection_is_not_written() -> None:
    real = FakeTransport()
    joined = JoinedWrites(real, asyncio.get_running_loop())
    joined.write(b"answer")
    joined.close()
    assert (real.written, real.closed, joined.is_closing()) == ([b"answer"], True, True)
    joined.write(b"late")
    await asyncio.sleep(0)
    assert real.written == [b"answer"]
