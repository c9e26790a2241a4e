"""Helpers the CLI, the bench and the tests share: readiness waits, isolated settings."""

from __future__ import annotations

import httpx

from services.common.settings import Settings
from services.stack.isolation import isolated
from services.stack.readiness import wait_ready


def test_ready_once_readyz_answers_200() -> None:
    answers = iter([503, 503, 200])
    seen: list[str] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(next(answers))

    transport = httpx.MockTransport(reply)
    state = wait_ready("http://svc", 5, alive=lambda: True, interval=0, transport=transport)
    assert (state, seen) == ("ready", ["/readyz"] * 3)


def test_a_dead_process_is_not_waited_for() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    transport = httpx.MockTransport(refuse)
    assert wait_ready("http://svc", 5, alive=lambda: False, transport=transport) == "exited"


def test_timed_out_when_never_ready() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(503))
    state = wait_ready("http://svc", 0.05, alive=lambda: True, interval=0.01, transport=transport)
    assert state == "timed_out"


def test_isolated_names_topics_group_and_alias() -> None:
    base = Settings()
    run = isolated(base, "test-abc")
    assert (run.topic_articles, run.topic_dlq) == ("test-abc.articles", "test-abc.dlq")
    assert (run.indexer_group, run.index_alias) == ("test-abc-indexer", "test-abc-articles")
    assert run.kafka_bootstrap == base.kafka_bootstrap
