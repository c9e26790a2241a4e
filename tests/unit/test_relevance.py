"""The relevance metrics on hand-computed rankings, and the judged suite kept in the repo."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from services.bench import relevance
from services.bench.relevance import Outcome, Query
from services.bench.relevance_run import ask, load_suite

LOG2_3 = math.log2(3)


def q(relevant: dict[str, int], tags: tuple[str, ...] = ("plural",), qid: str = "q1") -> Query:
    return Query(id=qid, q="hunan floods", tags=tags, relevant=relevant)


# ---- rank-based metrics: only the grade-2 story counts ---------------------------------


def test_first_rank_is_the_first_grade_two_hit_not_a_related_one() -> None:
    assert relevance.first_rank(["a", "b", "c"], {"a": 1, "c": 2}) == 3
    assert relevance.first_rank(["a", "b"], {"z": 2}) is None
    # Past the cut-off it does not count.
    assert relevance.first_rank([f"x{n}" for n in range(10)] + ["a"], {"a": 2}) is None


def test_success_at_1() -> None:
    assert relevance.success_at_1(["a", "b"], {"a": 2}) == 1.0
    assert relevance.success_at_1(["b", "a"], {"a": 2}) == 0.0
    assert relevance.success_at_1(["a"], {"a": 1, "b": 2}) == 0.0
    assert relevance.success_at_1([], {"a": 2}) == 0.0


def test_reciprocal_rank() -> None:
    assert relevance.reciprocal_rank(["x", "a"], {"a": 2}) == 0.5
    assert relevance.reciprocal_rank(["x", "y", "z", "a"], {"a": 2}) == 0.25
    assert relevance.reciprocal_rank(["x"], {"a": 2}) == 0.0


# ---- graded gains --------------------------------------------------------------------


def test_dcg_uses_exponential_gain_and_log2_discount() -> None:
    # (2^2-1)/log2(2) + 0 + (2^1-1)/log2(4) = 3 + 0 + 0.5
    assert relevance.dcg([2, 0, 1]) == pytest.approx(3.5)
    assert relevance.dcg([]) == 0.0


def test_ndcg_against_the_ideal_ordering() -> None:
    judged = {"a": 2, "b": 1}
    # DCG = 3/log2(3) + 1/log2(4) = 2.39279; ideal = 3 + 1/log2(3) = 3.63093
    assert relevance.ndcg(["x", "a", "b"], judged) == pytest.approx(0.659002, abs=1e-6)
    assert relevance.ndcg(["a", "b"], judged) == pytest.approx(1.0)
    # The related story first, the main one third: (1 + 3/2) / ideal
    assert relevance.ndcg(["b", "x", "a"], judged) == pytest.approx(2.5 / (3 + 1 / LOG2_3))
    assert relevance.ndcg([], judged) == 0.0


def test_ndcg_counts_a_repeated_hit_once_and_stops_at_k() -> None:
    assert relevance.ndcg(["a", "a"], {"a": 2, "b": 2}) == pytest.approx(3 / (3 + 3 / LOG2_3))
    late = [f"x{n}" for n in range(10)] + ["a"]
    assert relevance.ndcg(late, {"a": 2}) == 0.0


# ---- aggregation -----------------------------------------------------------------------


def test_aggregate_and_zero_result_rate() -> None:
    outcomes = [
        Outcome(q({"a": 2}, qid="q1"), ("a", "b"), 2, matched="all"),
        Outcome(q({"a": 2}, qid="q2"), ("b", "a"), 2, matched="most"),
        Outcome(q({"a": 2}, ("typo",), qid="q3"), (), 0),
    ]
    figures = relevance.aggregate(outcomes)
    assert figures["queries"] == 3
    assert figures["success_at_1"] == pytest.approx(1 / 3)
    assert figures["mrr_at_10"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert figures["ndcg_at_10"] == pytest.approx((1 + 1 / LOG2_3 + 0) / 3)
    assert figures["zero_results"] == 1
    assert figures["zero_result_rate"] == pytest.approx(1 / 3)
    tags = relevance.by_tag(outcomes)
    assert tags["plural"]["queries"] == 2
    assert tags["plural"]["zero_results"] == 0
    assert tags["typo"]["zero_result_rate"] == 1.0
    summary = relevance.summarise(outcomes)
    assert summary["matched"] == {"all": 1, "most": 1, "absent": 1}
    assert summary["per_query"][1]["first_grade2_rank"] == 2
    assert relevance.aggregate([])["success_at_1"] == 0.0


def test_check_judgements_reports_what_is_wrong() -> None:
    bad = [q({"a": 1}), q({"nope": 2, "a": 3}, qid="q1")]
    problems = relevance.check_judgements(bad, ["a"])
    assert any("no grade-2" in p for p in problems)
    assert any("duplicate id" in p for p in problems)
    assert any("unknown article 'nope'" in p for p in problems)
    assert any("grade 3" in p for p in problems)


# ---- the HTTP answer mapped back to file names ------------------------------------------


def _client(status: int, body: Mapping[str, object]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/search"
        assert request.url.params["q"] == "hunan floods"
        assert request.url.params["size"] == "10"
        return httpx.Response(status, json=body)

    return httpx.Client(base_url="http://api", transport=httpx.MockTransport(handler))


def test_ask_maps_ids_to_files_and_keeps_matched() -> None:
    body = {"items": [{"id": "i2"}, {"id": "zz"}], "total": {"value": 7}, "matched": "most"}
    outcome = ask(_client(200, body), q({"f2": 2}), {"i2": "f2"})
    assert outcome.ranked == ("f2", "unknown:zz")
    assert outcome.total == 7
    assert outcome.matched == "most"
    plain = ask(_client(200, {"items": [], "total": {"value": 0}}), q({"f2": 2}), {})
    assert plain.matched is None
    assert plain.ranked == ()


def test_ask_records_a_refused_query_as_no_results() -> None:
    outcome = ask(_client(400, {"code": "invalid_query"}), q({"f2": 2}), {})
    assert outcome.ranked == ()
    assert outcome.error is not None
    assert "400" in outcome.error


# ---- the suite and its judgements as kept in the repo ---------------------------------


def test_suite_parses_with_unique_ids_and_enough_spread() -> None:
    suite = load_suite()
    assert len(suite) == len(relevance.suite_files()) >= 130
    languages = Counter(article.language for _, article in suite.values())
    assert languages["es"] >= 25
    assert len({article.category for _, article in suite.values()}) >= 12
    for name, article in suite.values():
        assert 80 <= article.word_count <= 300, name


def test_judgements_refer_to_suite_files_and_cover_every_case() -> None:
    queries = relevance.load_judgements()
    names = [p.stem for p in relevance.suite_files()]
    assert relevance.check_judgements(queries, names) == []
    assert len(queries) >= 90
    tags = Counter(t for query in queries for t in query.tags)
    for tag in ("plural", "verb_form", "possessive", "accent", "spanish", "hard_negative"):
        assert tags[tag] >= 5, tag
    assert tags["typo"] >= 15
    assert any(query.q.startswith('"') for query in queries)
    assert any(" -" in query.q for query in queries)
    assert all(1 <= len(query.q.split()) <= 5 for query in queries)


def test_judgements_file_is_plain_json() -> None:
    data = json.loads(relevance.JUDGEMENTS.read_text(encoding="utf-8"))
    assert set(data) >= {"queries", "grades"}


def test_load_suite_refuses_two_files_with_one_id(tmp_path: Path) -> None:
    text = relevance.suite_files()[0].read_bytes()
    (tmp_path / "001_a.txt").write_bytes(text)
    # The same article under another name and with CRLF: ingest gives it the same id.
    (tmp_path / "002_b.txt").write_bytes(text.replace(b"\n", b"\r\n"))
    with pytest.raises(ValueError, match=r"002_b\.txt has the same id as 001_a"):
        load_suite(tmp_path)


def test_a_paired_difference_tells_a_real_gain_from_noise() -> None:
    queries = [q({"a": 2}, qid=f"q{n}") for n in range(40)]
    base = [Outcome(query, ("b", "a"), 2) for query in queries]  # the story second everywhere
    better = [Outcome(query, ("a", "b"), 2) for query in queries]  # first everywhere
    gain = relevance.paired(base, better)
    assert gain["mean_ndcg_difference"] > 0
    assert gain["interval_95"][0] > 0  # every query gained: the interval leaves out 0
    assert (gain["better"], gain["worse"], gain["same"]) == (40, 0, 0)
    # One query better, one worse, the rest the same: no difference the suite can tell.
    mixed = [better[0], Outcome(queries[1], ("c",), 1), *base[2:]]
    noise = relevance.paired(base, mixed)
    assert noise["interval_95"][0] <= 0 <= noise["interval_95"][1]
    assert (noise["better"], noise["worse"], noise["same"]) == (1, 1, 38)
