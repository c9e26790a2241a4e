"""What the matcher decides, and the small pure parts of alerts: no Kafka, no Elasticsearch."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from elasticsearch import AsyncElasticsearch

from services.alerts.book import Watch
from services.alerts.embargoes import Embargoes
from services.alerts.matching import Candidate, MatchState, Told, decide, latest, new_to
from services.alerts.outbox import Delivery
from services.alerts.poster import Poster, backoff
from services.alerts.records import candidates
from services.alerts.runner import run_watches
from services.api.alert_stream import frame, parse_event_id
from services.api.search import SearchParams, matching_body, saved_search_clause
from services.common.alerts import Alert, event_id, sign, signature_valid
from services.common.errors import KafkaRefused, QueryError, SearchUnavailable
from services.common.retry import backoff_s, patiently
from services.common.settings import Settings
from services.common.status_event import StatusEvent
from services.common.visibility import hidden_clauses
from tests.factories import make_article

A = "a" * 20


def candidate(version: int = 10, offset: int = 5, status: str | None = None) -> Candidate:
    return Candidate("0123456789abcdef", version, 0, offset, status)


def state(told: Told, offset: int, prior: Told | None = None) -> MatchState:
    return MatchState(A, "0123456789abcdef", told, 0, offset, prior)


def test_a_first_match_is_a_match_and_is_kept() -> None:
    verdict = decide(A, candidate(), matched=True, stored=None, committed={0: 5})
    assert verdict.kind == "match"
    assert verdict.state is not None
    assert verdict.state.told == Told(True, 10)
    assert verdict.state.prior is None


def test_nothing_is_said_or_kept_of_an_article_that_never_matched() -> None:
    verdict = decide(A, candidate(), matched=False, stored=None, committed={0: 5})
    assert (verdict.kind, verdict.state) == (None, None)


def test_a_new_version_that_still_matches_is_an_update_the_same_version_nothing() -> None:
    told = state(Told(True, 10), offset=1)
    update = decide(A, candidate(version=11), matched=True, stored=told, committed={0: 5})
    assert update.kind == "update"
    again = decide(A, candidate(version=10), matched=True, stored=told, committed={0: 5})
    assert (again.kind, again.state) == (None, None)


@pytest.mark.parametrize(
    ("status", "reason"),
    [("canceled", "killed"), ("withheld", "withheld"), (None, "no_longer_matches")],
)
def test_a_matched_article_that_stops_matching_is_removed_with_its_reason(
    status: str | None, reason: str
) -> None:
    told = state(Told(True, 10), offset=1)
    verdict = decide(A, candidate(11, status=status), matched=False, stored=told, committed={0: 5})
    assert (verdict.kind, verdict.reason) == ("removal", reason)
    assert verdict.state is not None
    assert verdict.state.told == Told(False, 11)
    # Removed once: the next record of it says nothing more.
    after = decide(A, candidate(12), matched=False, stored=verdict.state, committed={0: 99})
    assert after.kind is None


def test_a_batch_read_again_decides_again_against_what_was_committed() -> None:
    # The first read of offset 5 matched and kept its state, then crashed before the commit:
    # the state's offset is not below the committed one, so its prior counts.
    uncommitted = state(Told(True, 10), offset=5, prior=None)
    again = decide(A, candidate(offset=5), matched=True, stored=uncommitted, committed={0: 5})
    assert again.kind == "match"  # told again: the first telling was never committed
    # Once committed, the same state is the truth: nothing more to say.
    done = decide(A, candidate(offset=5), matched=True, stored=uncommitted, committed={0: 6})
    assert done.kind is None


def test_an_uncommitted_state_with_nothing_to_say_is_put_back() -> None:
    uncommitted = state(Told(True, 10), offset=5, prior=Told(False, 9))
    verdict = decide(A, candidate(offset=5), matched=False, stored=uncommitted, committed={0: 5})
    assert verdict.kind is None
    assert verdict.state is not None
    assert verdict.state.told == Told(False, 9)


def test_a_state_set_by_no_record_is_always_committed() -> None:
    lifted = state(Told(True, 10), offset=-1, prior=None)
    assert lifted.effective({0: 0}) == Told(True, 10)


def test_a_state_survives_its_document_round_trip() -> None:
    original = state(Told(True, 10), offset=7, prior=Told(False, 3))
    assert MatchState.from_document(original.document()) == original


def test_latest_keeps_one_candidate_per_article_the_last() -> None:
    first = Candidate("1" * 16, 1, 0, 1)
    other = Candidate("2" * 16, 1, 0, 2)
    last = Candidate("1" * 16, 2, 0, 3)
    assert latest([first, other, last]) == [other, last]


@dataclass(frozen=True)
class FakeRecord:
    partition: int
    offset: int
    value: bytes | None


def test_records_become_candidates_articles_and_status_events_poison_passed_over() -> None:
    article = make_article()
    kill = StatusEvent(event="canceled", id=article.id, at=datetime.now(UTC), source="tests")
    records = [
        FakeRecord(1, 4, article.model_dump_json().encode()),
        FakeRecord(1, 5, b"not json"),
        FakeRecord(1, 6, None),  # a tombstone
        FakeRecord(1, 7, kill.model_dump_json().encode()),
    ]
    found = candidates(records)
    assert [(c.id, c.offset, c.status) for c in found] == [
        (article.id, 4, None),
        (article.id, 7, "canceled"),
    ]
    assert found[0].version == article.version
    assert found[1].version == kill.version


def test_embargoes_come_due_once_at_their_time() -> None:
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    embargoes = Embargoes()
    soon, later = candidate(offset=1), Candidate("f" * 16, 3, 1, 2)
    embargoes.watch(soon, {"embargoed": "2026-12-05T12:00:05Z"}, now)
    embargoes.watch(later, {"embargoed": "2026-12-05T13:00:00Z"}, now)
    embargoes.watch(candidate(), {"embargoed": "2026-12-05T11:00:00Z"}, now)  # lifted already
    embargoes.watch(candidate(), {}, now)
    assert len(embargoes) == 2
    assert embargoes.due(now + timedelta(seconds=5)) == []  # the margin is not over yet
    assert embargoes.due(now + timedelta(seconds=6)) == [soon]
    assert embargoes.due(now + timedelta(seconds=6)) == []
    embargoes.keep({0})
    assert len(embargoes) == 0  # the later one was of partition 1
    # Found in the index on taking partitions over: lifted while no matcher ran, due at once.
    embargoes.watch(soon, {"embargoed": "2026-12-05T11:00:00Z"}, now, lifted=True)
    assert embargoes.due(now) == [soon]


def test_signatures_are_hmac_sha256_of_the_body() -> None:
    body = b'{"kind":"match"}'
    # The value any receiver computes with the standard library's hmac and the secret.
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert sign("s3cret", body) == expected
    assert signature_valid("s3cret", body, expected)
    assert not signature_valid("other", body, expected)
    assert not signature_valid("s3cret", body + b" ", expected)


def test_event_ids_are_stable_and_tell_events_apart() -> None:
    assert event_id(A, "x", 1, "match") == event_id(A, "x", 1, "match")
    assert len({event_id(A, "x", 1, k) for k in ("match", "update", "removal")}) == 3
    assert event_id(A, "x", 1, "match") != event_id(A, "x", 2, "match")


def test_event_ids_of_the_stream_parse_and_anything_else_is_a_400() -> None:
    assert parse_event_id("2-41") == (2, 41)
    for bad in ("", "41", "a-1", "1-", "-1-2", "1-2-3", "9" * 7 + "-1"):
        with pytest.raises(QueryError) as raised:
            parse_event_id(bad)
        assert raised.value.code == "invalid_event_id"
    assert frame("0-7", "match", b'{"a":1}') == b'id: 0-7\nevent: match\ndata: {"a":1}\n\n'


def test_webhook_backoff_doubles_up_to_its_cap() -> None:
    settings = Settings(webhook_backoff_s=1.0, webhook_backoff_max_s=5.0)
    assert [backoff(settings, n).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    assert [backoff_s(n, first=0.5, cap=3) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]


def test_patiently_waits_out_retriable_errors_and_raises_the_others() -> None:
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise SearchUnavailable("away")
        return "done"

    async def refused() -> str:
        raise KafkaRefused("no")

    async def run() -> None:
        stop = asyncio.Event()
        assert await patiently(flaky, stop, "test") == "done"
        assert len(calls) == 3
        with pytest.raises(KafkaRefused):
            await patiently(refused, stop, "test")
        stop.set()
        assert await patiently(flaky, stop, "test") is None

    asyncio.run(run())


def _delivery() -> Delivery:
    return Delivery(
        delivery_id="d" * 32,
        alert_id=A,
        url="http://receiver.test/hook",
        body='{"kind":"match"}',
        kind="match",
        created_at="2026-12-05T12:00:00.000Z",
        emitted_at="2026-12-05T12:00:00.000Z",
        next_at="2026-12-05T12:00:00.000Z",
    )


def test_the_poster_signs_retries_with_backoff_and_gives_up_after_the_last_try() -> None:
    settings = Settings(webhook_backoff_s=1.0, webhook_max_attempts=3, webhook_private_targets=True)
    seen: list[httpx.Request] = []
    answers = iter([500, 503, 502])

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(answers))

    async def run() -> Delivery:
        delivery = _delivery()
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http:
            poster = Poster(settings, http)
            for expected in ("pending", "pending", "failed"):
                await poster.attempt(delivery, "s3cret")
                assert delivery.status == expected
            assert poster.failing == {A: 3}
        return delivery

    delivery = asyncio.run(run())
    assert delivery.attempts == 3
    assert [entry["status_code"] for entry in delivery.log] == [500, 503, 502]
    assert [r.headers["X-Newswire-Attempt"] for r in seen] == ["1", "2", "3"]
    for request in seen:
        assert request.headers["X-Newswire-Delivery"] == "d" * 32
        assert signature_valid(
            "s3cret", request.content, request.headers["X-Newswire-Signature-256"]
        )


def test_the_poster_sends_nothing_to_a_private_address() -> None:
    def receiver(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"a request was sent to {request.url}")

    async def run() -> Delivery:
        delivery = _delivery()
        delivery.url = "http://169.254.169.254/latest/meta-data/"
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http:
            await Poster(Settings(), http).attempt(delivery, "s3cret")
        return delivery

    delivery = asyncio.run(run())
    assert delivery.status == "pending"  # tried again later: the name may resolve elsewhere
    assert delivery.log[0]["error"].startswith("webhook_not_allowed")


def test_the_poster_delivers_on_a_2xx_and_counts_no_answer_as_a_failure() -> None:
    settings = Settings(webhook_backoff_s=2.0, webhook_private_targets=True)
    replies = iter([0, 204])  # 0: no answer at all

    def receiver(request: httpx.Request) -> httpx.Response:
        status = next(replies)
        if not status:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status)

    async def run() -> tuple[Delivery, dict[str, int]]:
        delivery = _delivery()
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http:
            poster = Poster(settings, http)
            before = datetime.now(UTC)
            await poster.attempt(delivery, "k")
            assert delivery.status == "pending"
            assert "ConnectError" in delivery.log[-1]["error"]
            wait = datetime.fromisoformat(delivery.next_at.replace("Z", "+00:00")) - before
            assert 1.9 <= wait.total_seconds() <= 3.0
            await poster.attempt(delivery, "k")
            return delivery, poster.failing

    delivery, failing = asyncio.run(run())
    assert delivery.status == "delivered"
    assert failing == {}  # a delivery clears the alert's failing streak


def test_an_alert_is_told_only_what_became_searchable_after_it_was_made() -> None:
    made = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert new_to(made, {"indexed_at": "2026-12-05T12:00:03.000Z"})
    assert new_to(made, {"indexed_at": "2026-12-05T11:59:59.500Z"})  # within a refresh
    assert not new_to(made, {"indexed_at": "2026-12-05T11:00:00.000Z"})  # search showed it
    # Written long before, but under embargo until after: it is news when the embargo lifts.
    lifted = {"indexed_at": "2026-12-05T11:00:00.000Z", "embargoed": "2026-12-05T12:30:00Z"}
    assert new_to(made, lifted)
    assert new_to(made, {})  # a document of an older mapping, without the field: told


def _watch(alert_id: str, q: str) -> Watch:
    alert = Alert(id=alert_id, q=q, created_at=datetime(2026, 12, 5, tzinfo=UTC))
    params = SearchParams(q=q)
    return Watch(alert, params, saved_search_clause(params, "news", alert_id))


class FakeMsearch:
    """msearch as Elasticsearch answers it: a chunk holding a poison clause is refused whole."""

    def __init__(self, matches: dict[str, set[str]], poison: set[str]) -> None:
        self.matches, self.poison = matches, poison
        self.requests = 0

    async def msearch(self, *, index: str, searches: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests += 1
        responses: list[dict[str, Any]] = []
        for body in searches[1::2]:
            names = [
                c["bool"]["_name"] for c in body["query"]["bool"]["filter"][1]["bool"]["should"]
            ]
            ids = body["query"]["bool"]["filter"][0]["ids"]["values"]
            if self.poison & set(names):
                responses.append({"error": {"type": "search_phase_execution_exception"}})
                continue
            hits = [
                {"_id": i, "matched_queries": [n for n in names if i in self.matches.get(n, ())]}
                for i in ids
            ]
            responses.append({"hits": {"hits": [h for h in hits if h["matched_queries"]]}})
        return {"responses": responses}


def test_saved_searches_run_as_named_clauses_a_poison_one_halved_out() -> None:
    watches = [_watch(f"{n:020x}", "word") for n in range(10)]
    names = [w.alert.id for w in watches]
    fake = FakeMsearch({names[0]: {"x"}, names[7]: {"x", "y"}}, poison={names[3]})
    settings = Settings(alerts_chunk=4)
    es = cast(AsyncElasticsearch, fake)
    found = asyncio.run(run_watches(es, settings, watches, ["x", "y", "z"]))
    assert found[names[0]] == {"x"}
    assert found[names[7]] == {"x", "y"}
    assert names[3] not in found  # passed over alone; every other one was run
    assert set(found) == set(names) - {names[3]}
    assert fake.requests == 3  # 3 chunks; the refused one halved to 2, then to 1 + 1


def test_a_saved_search_clause_holds_the_words_the_filters_and_what_readers_may_not_see() -> None:
    params = SearchParams(q="floods", categories=("world",), date_from=date(2024, 1, 1))
    clause = saved_search_clause(params, "news", "a1")["bool"]
    assert clause["_name"] == "a1"
    assert clause["must_not"] == hidden_clauses()
    assert any("category" in str(f) for f in clause["filter"])  # search's post_filter
    assert any("published_date" in str(f) for f in clause["filter"])
    body = matching_body([saved_search_clause(params, "news", "a1")], ["x"])
    assert body["size"] == 1
    assert body["_source"] is False
