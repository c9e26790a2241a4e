"""The Elasticsearch error table: real client exceptions, built by hand, to our error tree."""

from __future__ import annotations

from typing import Any

import pytest
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, SerializationError
from elasticsearch import ApiError, AuthenticationException, BadRequestError, NotFoundError

from services.api.backend import body, call
from services.common import problems
from services.common.errors import (
    IndexMissing,
    NewswireError,
    NotFound,
    QueryError,
    SearchBusy,
    SearchFailed,
    SearchForbidden,
    SearchTimeout,
    SearchUnavailable,
)
from services.common.es import boundary, convert, error_types
from tests.factories import es_api_error


def cause(kind: str, reason: str = "") -> dict[str, Any]:
    """One cause of an error body."""
    return {"type": kind, "reason": reason}


# What Elasticsearch 9 answered on the live stack when the request breaker tripped in a search.
BREAKER = {
    "root_cause": [cause("circuit_breaking_exception", "[request] Data too large")],
    "type": "search_phase_execution_exception",
    "reason": "all shards failed",
    "phase": "query",
    "grouped": True,
    "failed_shards": [
        {"shard": 0, "index": "news", "reason": cause("circuit_breaking_exception", "too large")}
    ],
}
# A search whose shards were rejected by a full search thread pool queue.
REJECTED = {
    "root_cause": [cause("es_rejected_execution_exception", "rejected execution")],
    "type": "search_phase_execution_exception",
    "reason": "all shards failed",
}


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (ConnectionTimeout("timed out after 5 s"), SearchTimeout, "search_timeout"),
        (TransportConnectionError("connection refused"), SearchUnavailable, "search_unavailable"),
        (es_api_error(429, BREAKER), SearchBusy, "search_busy"),
        (es_api_error(429, REJECTED), SearchBusy, "search_busy"),
        (es_api_error(429, cause("too_many_requests")), SearchBusy, "search_busy"),
        # A breaker wrapped into a 5xx search failure is still a busy node, not a dead one.
        (es_api_error(503, {**BREAKER, "failed_shards": []}), SearchBusy, "search_busy"),
        (es_api_error(504, cause("search_timeout_exception")), SearchTimeout, "search_timeout"),
        (es_api_error(408, cause("timeout")), SearchTimeout, "search_timeout"),
        (
            es_api_error(404, cause("index_not_found_exception"), NotFoundError),
            IndexMissing,
            None,
        ),
        (
            es_api_error(400, cause("parsing_exception"), BadRequestError),
            QueryError,
            "search_rejected",
        ),
        (es_api_error(503, cause("no_shard_available_action_exception")), SearchUnavailable, None),
        (es_api_error(500, cause("null_pointer_exception")), SearchFailed, "search_unavailable"),
        (
            es_api_error(401, cause("security_exception"), AuthenticationException),
            SearchForbidden,
            "search_unavailable",
        ),
        (es_api_error(403, cause("security_exception")), SearchForbidden, "search_unavailable"),
        (SerializationError("not JSON"), SearchUnavailable, None),
    ],
)
def test_each_failure_becomes_its_error(
    exc: Exception, kind: type[NewswireError], code: str | None
) -> None:
    error = convert(exc)
    assert type(error) is kind
    if code is not None:
        assert error.code == code


def test_only_a_connection_failure_says_it_cannot_be_reached() -> None:
    reached = [
        convert(e)
        for e in (
            ConnectionTimeout("slow"),
            es_api_error(429, BREAKER),
            es_api_error(503, cause("no_shard_available_action_exception")),
        )
    ]
    assert all("cannot be reached" not in str(e) for e in reached)
    assert "cannot be reached" in str(convert(TransportConnectionError("refused")))
    assert "circuit_breaking_exception" in str(convert(es_api_error(429, BREAKER)))


def test_statuses_and_headers_of_the_new_errors() -> None:
    assert problems.status_for(SearchTimeout("slow")) == 504
    assert problems.status_for(SearchBusy("busy")) == 503
    busy = problems.problem(503, "Service unavailable", "busy", code="search_busy")
    assert busy.headers["Retry-After"]
    denied = problems.problem(401, "Unauthorized", "no key", code="unauthorized")
    assert denied.headers["WWW-Authenticate"].startswith("Bearer")


def test_foreign_errors_without_meaning_are_left_alone() -> None:
    assert convert(ValueError("not ours")) is None
    assert convert(es_api_error(413, cause("content_too_long"))) is None


def test_error_types_are_found_in_nested_causes_and_bounded() -> None:
    nested: dict[str, Any] = cause("circuit_breaking_exception")
    for _ in range(3):
        nested = {"type": "wrapper", "caused_by": nested}
    assert error_types(nested) == {"wrapper", "circuit_breaking_exception"}
    deep: dict[str, Any] = cause("bottom")
    for _ in range(100):
        deep = {"caused_by": deep}
    assert error_types(deep) == set()  # a reply is not allowed to recurse us to death


async def test_call_converts_with_the_cause_kept() -> None:
    breaker = es_api_error(429, BREAKER)

    async def failing() -> None:
        raise breaker

    with pytest.raises(SearchBusy) as caught:
        await call(failing())
    assert caught.value.__cause__ is breaker


async def test_a_missing_document_is_not_found_when_asked() -> None:
    async def missing() -> None:
        raise es_api_error(404, {}, NotFoundError)

    with pytest.raises(NotFound):
        await call(missing(), missing="no article with id 'x'")


class _Reply:
    def __init__(self, data: dict[str, Any]) -> None:
        self.body = data


def test_a_search_cut_short_by_its_timeout_is_an_error() -> None:
    assert body(_Reply({"timed_out": False, "hits": {}})) == {"timed_out": False, "hits": {}}
    with pytest.raises(SearchTimeout):
        body(_Reply({"timed_out": True, "hits": {"hits": []}}))


def test_the_boundary_says_what_failed_and_keeps_the_cause() -> None:
    cause = TransportConnectionError("refused")
    with pytest.raises(SearchUnavailable) as caught, boundary("cannot prepare index 'news'"):
        raise cause
    assert caught.value.__cause__ is cause
    assert str(caught.value) == "cannot prepare index 'news': Elasticsearch cannot be reached"


def test_the_boundary_lets_what_has_no_meaning_through() -> None:
    refusal = es_api_error(413, cause("content_too_long"))
    with pytest.raises(ApiError) as caught, boundary("sending"):
        raise refusal
    assert caught.value is refusal
