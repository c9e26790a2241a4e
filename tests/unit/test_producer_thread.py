"""The producer's thread: its acks reach the caller's loop as they settle; it ends when closed."""

from __future__ import annotations

import asyncio
import threading

import pytest

from services.common.settings import Settings
from services.ingest.producer_thread import ProducerThread, _bridged


def test_an_ack_settled_on_the_producers_loop_reaches_any_thread_with_its_outcome() -> None:
    loop = asyncio.new_event_loop()
    try:
        acks = [loop.create_future() for _ in range(3)]
        bridged = [_bridged(f) for f in acks]
        assert not any(b.done() for b in bridged)
        acks[0].set_result("metadata")
        acks[1].set_exception(TimeoutError("no ack"))
        acks[2].cancel()
        loop.run_until_complete(asyncio.sleep(0))  # done callbacks run on the ack's loop
        assert bridged[0].result() == "metadata"
        with pytest.raises(TimeoutError, match="no ack"):
            bridged[1].result()
        assert bridged[2].cancelled()
    finally:
        loop.close()


async def test_work_runs_on_the_thread_and_close_ends_it_twice_over() -> None:
    thread = ProducerThread(Settings(), client_id="test")
    thread._thread.start()
    names = await thread._run(_thread_name())
    assert names == "test-producer"
    await thread.close(timeout=1.0)  # never connected: nothing to flush
    assert not thread._thread.is_alive()
    await thread.close(timeout=1.0)


async def test_a_thread_never_started_closes_cleanly() -> None:
    thread = ProducerThread(Settings(), client_id="test")
    await thread.close(timeout=1.0)
    assert thread._loop.is_closed()


async def test_sending_before_connecting_is_refused() -> None:
    thread = ProducerThread(Settings(), client_id="test")
    thread._thread.start()
    try:
        with pytest.raises(RuntimeError, match="not started"):
            await thread.send_many([])
    finally:
        await thread.close(timeout=1.0)


async def _thread_name() -> str:
    return threading.current_thread().name
