"""The bulk writer's logic on a scripted target: replies, refusals, splits, limits, conflicts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, SerializationError, TransportError

from services.common.errors import BatchAbandoned, BulkRefused
from services.common.es import make_client
from services.common.settings import Settings
from services.indexer.bulk import (
    BulkDoc,
    BulkLimits,
    BulkResult,
    BulkWriter,
    backoff,
    operations,
    requests,
    sort_items,
)
from services.indexer.bulk_target import Current, refusal
from services.indexer.mapping import document_source, to_document
from tests.factories import es_api_error, make_article

Verdict = Callable[[str, int, bytes], int]  # (id, version, source) -> item status


class ScriptedTarget:
    """Answers bulk bodies like Elasticsearch would, by rules the test sets; records requests.

    A body with a negative version is refused whole (400), as Elasticsearch refuses an illegal
    external version; a body over ``max_content`` is refused whole (413); any id in
    ``refuse_whole`` makes the request containing it a whole-request refusal with that status.
    """

    index = "news"

    def __init__(
        self,
        *,
        verdict: Verdict | None = None,
        max_content: int = 10**9,
        refuse_whole: dict[str, int] | None = None,
        stored: dict[str, Current] | None = None,
        outages: int = 0,
        check_outages: int = 0,
    ) -> None:
        self.verdict = verdict or (lambda _id, _v, _s: 201)
        self.max_content = max_content
        self.refuse_whole = refuse_whole or {}
        self.stored = stored or {}
        self.outages = outages
        self.check_outages = check_outages
        self.requests: list[list[str]] = []

    async def bulk(self, body: bytes) -> list[dict[str, Any]]:
        lines = body.split(b"\n")[:-1]
        actions = [json.loads(line)["index"] for line in lines[::2]]
        ids = [a["_id"] for a in actions]
        self.requests.append(ids)
        if self.outages:
            self.outages -= 1
            raise refusal(TransportConnectionError("connection refused"))
        if len(body) > self.max_content:
            raise _refused(413, "content_too_long")
        for doc_id in ids:
            if doc_id in self.refuse_whole:
                raise _refused(self.refuse_whole[doc_id], f"refused_because_of_{doc_id}")
        if any(a["version"] < 0 for a in actions):
            raise _refused(400, "illegal_argument_exception")
        return [
            _item(self.verdict(a["_id"], a["version"], src))
            for a, src in zip(actions, lines[1::2], strict=True)
        ]

    async def current(self, ids: list[str]) -> dict[str, Current]:
        if self.check_outages:
            self.check_outages -= 1
            raise refusal(TransportConnectionError("connection refused"))
        return {i: self.stored[i] for i in ids if i in self.stored}


def _refused(status: int, error_type: str) -> BulkRefused:
    """The refusal the real target raises for a reply of ``status``."""
    return refusal(es_api_error(status, {"type": error_type, "reason": error_type}))


def _item(status: int, error_type: str | None = None) -> dict[str, Any]:
    outcome: dict[str, Any] = {"status": status}
    if status == 409:
        error_type = error_type or "version_conflict_engine_exception"
    elif status >= 300:
        error_type = error_type or "document_parsing_exception"
    if error_type:
        outcome["error"] = {"type": error_type, "reason": f"{error_type} happened"}
    return {"index": outcome}


def _docs(count: int, *, size: int = 10, bad: dict[int, int] | None = None) -> list[BulkDoc]:
    versions = bad or {}
    return [
        BulkDoc(f"d{n}", versions.get(n, 100 + n), b'{"x":"' + b"a" * size + b'"}', f"h{n}")
        for n in range(count)
    ]


def _limits(**changes: Any) -> BulkLimits:
    """The limits of the default settings, with a backoff too short to wait on."""
    return replace(BulkLimits.of(Settings()), backoff_cap=0.001, **changes)


async def _write(target: ScriptedTarget, docs: list[BulkDoc], **limits: Any) -> BulkResult:
    writer = BulkWriter(target, _limits(**limits))
    return await writer.write(docs, should_abort=lambda: False)


def _failed(result: BulkResult) -> dict[int, str]:
    return {f.position: f.code for f in result.failures}


async def test_an_impossible_version_is_dead_lettered_before_it_is_sent() -> None:
    docs = _docs(10, bad={3: -86_400_000, 4: 2**63})
    target = ScriptedTarget()
    result = await _write(target, docs)
    assert _failed(result) == {3: "invalid_version", 4: "invalid_version"}
    assert result.indexed == 8
    assert all("d3" not in ids and "d4" not in ids for ids in target.requests)


async def test_one_record_refused_whole_costs_only_itself() -> None:
    target = ScriptedTarget(refuse_whole={"d37": 400})
    result = await _write(target, _docs(100))
    assert _failed(result) == {37: "index_rejected"}
    assert result.indexed == 99
    # Halving isolates it: about 2 * log2(100) requests, not one per document.
    assert len(target.requests) <= 16


async def test_several_poison_records_anywhere_are_all_found() -> None:
    bad = {0: 400, 50: 422, 51: 400, 99: 400}
    target = ScriptedTarget(refuse_whole={f"d{n}": status for n, status in bad.items()})
    result = await _write(target, _docs(100))
    assert _failed(result) == dict.fromkeys(bad, "index_rejected")
    assert result.indexed == 96


async def test_the_server_refusing_a_negative_version_is_split_too() -> None:
    # Should a bad version get past the preflight (an older writer), the split still finds it.
    writer = BulkWriter(ScriptedTarget(), _limits())
    docs = _docs(8)
    docs[2] = BulkDoc("d2", -5, docs[2].source, "h2")
    result = BulkResult()
    halves = await writer._write_group(docs, list(range(8)), result, lambda: False)
    assert halves == [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)]


async def test_requests_are_bounded_by_bytes_and_documents_sent() -> None:
    docs = _docs(50, size=1000)
    target = ScriptedTarget()
    result = await _write(target, docs, max_bytes=5_000, max_docs=3)
    assert result.indexed == 50
    assert all(len(ids) <= 3 for ids in target.requests)
    sizes = [len(operations(docs, [int(i[1:]) for i in ids], "news")) for ids in target.requests]
    assert max(sizes) <= 5_000


async def test_a_document_larger_than_a_request_is_never_sent() -> None:
    docs = [*_docs(3), BulkDoc("huge", 7, b'{"x":"' + b"a" * 20_000 + b'"}', "h")]
    target = ScriptedTarget()
    result = await _write(target, docs, max_bytes=10_000)
    assert _failed(result) == {3: "too_large"}
    assert all("huge" not in ids for ids in target.requests)
    assert result.indexed == 3


async def test_a_413_splits_until_the_requests_fit() -> None:
    docs = _docs(64, size=1000)
    target = ScriptedTarget(max_content=9_000)
    result = await _write(target, docs)
    assert result.failures == []
    assert result.indexed == 64


async def test_a_refusal_that_repeats_for_one_record_becomes_permanent() -> None:
    target = ScriptedTarget(refuse_whole={"d5": 500})
    result = await _write(target, _docs(10), max_retries=2)
    assert _failed(result) == {5: "index_rejected"}
    assert result.indexed == 9
    # Two retries of the whole request, then its halves split at once: a bounded search.
    assert sum(ids == ["d5"] for ids in target.requests) == 1
    assert len(target.requests) <= 3 + 2 * 4


async def test_busy_items_after_a_split_still_get_their_retries() -> None:
    busy = {"d1": 2}  # d1 answers 429 twice, then is written

    def verdict(doc_id: str, _v: int, _s: bytes) -> int:
        if busy.get(doc_id, 0) > 0:
            busy[doc_id] -= 1
            return 429
        return 201

    target = ScriptedTarget(verdict=verdict, refuse_whole={"d6": 400})
    result = await _write(target, _docs(8), max_retries=3)
    assert _failed(result) == {6: "index_rejected"}
    assert result.indexed == 7


async def test_an_outage_is_waited_out_not_dead_lettered() -> None:
    target = ScriptedTarget(outages=20)
    result = await _write(target, _docs(5), max_retries=1)
    assert result.failures == []
    assert result.indexed == 5


async def test_an_outage_ends_with_the_batch_abandoned_on_shutdown() -> None:
    target = ScriptedTarget(outages=10**6)
    calls = iter(range(10**6))
    writer = BulkWriter(target, _limits())
    with pytest.raises(BatchAbandoned):
        await writer.write(_docs(5), should_abort=lambda: next(calls) > 5)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, "split"), (413, "split"), (422, "split"), (500, "retry"), (501, "retry")]
    + [(s, "wait") for s in (401, 403, 404, 408, 429, 502, 503, 504)],
)
def test_whole_request_refusals_are_classified_by_one_table(status: int, expected: str) -> None:
    assert _refused(status, "some_exception").disposition == expected


@pytest.mark.parametrize(
    "exc", [TransportConnectionError("refused"), ConnectionTimeout("slow"), SerializationError("?")]
)
def test_a_server_that_does_not_answer_is_waited_for(exc: TransportError) -> None:
    refused = refusal(exc)
    assert (refused.status, refused.disposition) == (None, "wait")


async def test_same_version_with_other_content_is_a_version_conflict() -> None:
    docs = _docs(3)
    stored = {
        "d0": Current(docs[0].version, docs[0].content_hash),  # a redelivery
        "d1": Current(docs[1].version, "another hash"),  # a rival of the same version
        "d2": Current(docs[2].version + 5, "newer"),  # a newer version is there
    }
    target = ScriptedTarget(verdict=lambda _i, _v, _s: 409, stored=stored)
    result = await _write(target, docs)
    assert _failed(result) == {1: "version_conflict"}
    assert result.stale == 2


async def test_a_version_check_elasticsearch_cannot_answer_is_asked_again() -> None:
    docs = _docs(2)
    stored = {"d1": Current(docs[1].version, "another hash")}
    target = ScriptedTarget(verdict=lambda _i, _v, _s: 409, stored=stored, check_outages=3)
    result = await _write(target, docs)
    # Unknown is never taken for "a redelivery": the rival edit still becomes its dead letter.
    assert _failed(result) == {1: "version_conflict"}
    assert (result.stale, target.check_outages) == (1, 0)


async def test_a_batch_written_whole_as_shutdown_begins_is_not_abandoned() -> None:
    stopping = False

    def written(_id: str, _version: int, _source: bytes) -> int:
        nonlocal stopping
        stopping = True  # the shutdown arrives while the request is in flight
        return 201

    writer = BulkWriter(ScriptedTarget(verdict=written), _limits())
    result = await writer.write(_docs(3), should_abort=lambda: stopping)
    assert (result.indexed, result.failures) == (3, [])


async def test_a_version_check_still_unanswered_at_shutdown_abandons_the_batch() -> None:
    target = ScriptedTarget(verdict=lambda _i, _v, _s: 409, check_outages=10**6)
    writer = BulkWriter(target, _limits())
    asked = 0

    def abort() -> bool:
        nonlocal asked
        asked += 1
        return asked > 5

    with pytest.raises(BatchAbandoned):
        await writer.write(_docs(2), should_abort=abort)


async def test_item_level_429_is_retried_then_dead_lettered() -> None:
    target = ScriptedTarget(verdict=lambda i, _v, _s: 429 if i == "d1" else 201)
    result = await _write(target, _docs(3), max_retries=2)
    assert _failed(result) == {1: "index_retries_exhausted"}
    assert result.indexed == 2


def test_every_item_is_classified_by_its_own_status() -> None:
    items = [
        _item(201),
        _item(200),
        _item(409),
        _item(429, "es_rejected_execution_exception"),
        _item(503, "unavailable_shards_exception"),
        _item(400, "document_parsing_exception"),
    ]
    result = BulkResult()
    retry, conflicts = sort_items(items, [10, 11, 12, 13, 14, 15], result)
    assert result.indexed == 2
    assert conflicts == [12]
    assert retry == [13, 14]
    assert [(f.position, f.code) for f in result.failures] == [(15, "index_rejected")]
    assert "document_parsing_exception" in result.failures[0].reason


def test_a_409_that_is_not_our_version_conflict_is_a_failure() -> None:
    result = BulkResult()
    retry, conflicts = sort_items([_item(409, "some_other_conflict")], [0], result)
    assert retry == conflicts == []
    assert [f.position for f in result.failures] == [0]


def test_requests_keep_every_position_once_in_order() -> None:
    docs = _docs(20, size=100)
    groups = list(requests(docs, list(range(20)), _limits(max_bytes=700, max_docs=4), "news"))
    assert [p for g in groups for p in g] == list(range(20))
    assert all(1 <= len(g) <= 4 for g in groups)


def test_operations_use_the_article_id_and_external_version() -> None:
    docs = [BulkDoc("a", 5, b'{"id":"a"}'), BulkDoc("b", 7, b'{"id":"b","title":"y"}')]
    lines = operations(docs, [1], "news").split(b"\n")
    assert [json.loads(line) for line in lines[:2]] == [
        {"index": {"_index": "news", "_id": "b", "version": 7, "version_type": "external"}},
        {"id": "b", "title": "y"},
    ]
    assert lines[2] == b"", "an NDJSON body ends with a newline"


def test_document_source_splices_the_derived_fields_into_the_record() -> None:
    article = make_article(
        tweets=[{"text": "Hi", "author": "A B", "handle": "ab", "posted_date": "2020-01-08"}]
    )
    value = article.model_dump_json().encode()
    doc = json.loads(document_source(article, value, indexed_at="2024-05-01T12:00:00.000Z"))
    assert doc == {
        **to_document(article, indexed_at="2024-05-01T12:00:00.000Z"),
    }
    assert doc["has_tweets"] is True
    assert doc["version"] == article.version


@pytest.mark.parametrize("attempt", range(12))
def test_backoff_grows_and_is_capped(attempt: int) -> None:
    delay = backoff(attempt, cap=10.0)
    ceiling = min(10.0, 0.1 * 2**attempt)
    assert ceiling * 0.5 <= delay <= ceiling


async def test_the_client_sends_a_built_bulk_body_as_it_is() -> None:
    client = make_client(Settings())
    try:
        serializers = client.transport.serializers
        for mimetype in ("application/x-ndjson", "application/vnd.elasticsearch+x-ndjson"):
            ndjson = serializers.get_serializer(mimetype)
            body = b'{"index":{"_id":"a"}}\n{"title":"t"}\n'
            assert ndjson.dumps(body) is body
            # Anything else is encoded as the stock serializer would: lines, each ended.
            assert ndjson.dumps([{"index": {}}, {"a": 1}]) == b'{"index":{}}\n{"a":1}\n'
        assert serializers.get_serializer("application/json").dumps({"a": 1}) == b'{"a":1}'
    finally:
        await client.close()
