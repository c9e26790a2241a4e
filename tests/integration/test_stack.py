"""The local stack's promises: status tells the truth, up recovers, a taken port is named."""

from __future__ import annotations

import os
import signal
import socket

import httpx
import pytest

from services.common.errors import StackError
from services.common.settings import Settings
from services.stack.local_stack import LocalStack

pytestmark = pytest.mark.integration


def test_kill_9_of_elasticsearch_shows_down_and_up_recovers_the_data(
    live_stack: Settings, local_stack: LocalStack
) -> None:
    es_url = live_stack.es_url
    httpx.put(f"{es_url}/survivor", timeout=30).raise_for_status()
    httpx.put(
        f"{es_url}/survivor/_doc/1?refresh=true", json={"title": "still here"}, timeout=30
    ).raise_for_status()
    server = next(s for s in local_stack.servers() if s.name == "elasticsearch")
    pid = server.process.pid()
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    server.process.wait_exit(pid, timeout=10)

    status = {row.name: row for row in local_stack.status()}
    assert status["elasticsearch"].up is False
    assert status["kafka"].up is True

    local_stack.up()
    status = {row.name: row for row in local_stack.status()}
    assert status["elasticsearch"].up is True
    doc = httpx.get(f"{es_url}/survivor/_doc/1", timeout=30).json()
    assert doc["_source"] == {"title": "still here"}
    httpx.delete(f"{es_url}/survivor", timeout=30)


def test_a_port_in_use_is_a_clear_error_naming_it(live_stack: Settings, tmp_path: object) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        settings = live_stack.model_copy(
            update={"kafka_bootstrap": f"127.0.0.1:{port}", "state_dir": tmp_path}
        )
        with pytest.raises(StackError, match=f"port {port} is already in use"):
            LocalStack(settings).up()
