"""Forgiving matching: which words may be relaxed or matched with typos, and the ladder."""

from __future__ import annotations

from typing import Any

import pytest

from services.api import search
from services.api.query import Ast, compile_query, levels, parse_query, relaxable

FIELDS = ["text"]


def _words(clauses: list[dict[str, Any]]) -> list[str]:
    return [c["multi_match"]["query"] for c in clauses if "multi_match" in c]


def test_only_plain_top_level_words_may_be_relaxed() -> None:
    ast = parse_query('kidman golden +globe "best actress" -oscar (film OR movie) nomin*')
    assert ast is not None
    assert [leaf.text for leaf in relaxable(ast)] == ["kidman", "golden"]


def test_levels_follow_the_number_of_relaxable_words() -> None:
    assert levels(parse_query("floods")) == ["all"]
    assert levels(parse_query("hunan floods")) == ["all", "any"]
    assert levels(parse_query("commonwealth bank job cuts")) == ["all", "most", "any"]
    assert levels(parse_query('"hunan floods" +china')) == ["all"]
    assert levels(None) == ["all"]


def test_most_needs_all_relaxable_words_but_one_and_keeps_the_rest_required() -> None:
    ast = parse_query('commonwealth bank job cuts "sydney office" -westpac')
    assert ast is not None
    query = compile_query(ast, FIELDS, level="most")["bool"]
    assert _words(query["should"]) == ["commonwealth", "bank", "job", "cuts"]
    assert query["minimum_should_match"] == 3
    required = query["must"][0]["bool"]
    assert required["must"][0]["multi_match"]["type"] == "phrase"
    assert _words(required["must_not"]) == ["westpac"]


def test_any_needs_one_word() -> None:
    ast = parse_query("argentina president resigns")
    assert ast is not None
    query = compile_query(ast, FIELDS, level="any")["bool"]
    assert query["minimum_should_match"] == 1
    assert "must" not in query


def test_typos_are_allowed_only_on_relaxable_words_of_five_letters_or_more() -> None:
    ast = parse_query('eartquake peru +lima -tsunami "strong shaking"')
    assert ast is not None
    clauses = compile_query(ast, FIELDS, fuzzy=True)["bool"]
    fuzzy = {
        c["multi_match"]["query"]: c["multi_match"].get("fuzziness")
        for c in clauses["must"] + clauses["must_not"]
    }
    assert fuzzy == {
        "eartquake": "AUTO:5,8",
        "peru": None,  # four letters: as typed
        "lima": None,  # +word: as typed
        "strong shaking": None,  # a phrase: as typed
        "tsunami": None,  # a negation excludes exactly what it says
    }


def test_the_ladder_tries_the_query_as_typed_first() -> None:
    steps = search.ladder(search.SearchParams(q="kidmann golden globe"))
    assert steps == [
        search.Attempt("all", False),
        search.Attempt("all", True),
        search.Attempt("most", True),
        search.Attempt("any", True),
    ]
    assert search.ladder(search.SearchParams(q="iran")) == [search.Attempt()]
    assert search.ladder(search.SearchParams(q="")) == [search.Attempt()]


def test_a_typo_tolerant_request_asks_for_suggestions_and_says_how_it_matched() -> None:
    params = search.SearchParams(q="Kidmann nominaton")
    request = search.build(params, "news", attempt=search.Attempt("all", True))
    assert request["suggest"]["text"] == "Kidmann nominaton"
    reply = {
        "hits": {"total": {"value": 1, "relation": "eq"}, "hits": []},
        "suggest": {
            "did_you_mean": [
                {"text": "kidmann", "options": [{"text": "kidman", "score": 0.8, "freq": 3}]},
                {"text": "nominaton", "options": [{"text": "nomination", "score": 0.9}]},
            ]
        },
    }
    shaped = search.shape(reply, params, search.Attempt("all", True))
    assert shaped["matched"] == "all"
    assert shaped["typo_tolerant"] is True
    assert shaped["did_you_mean"] == "kidman nomination"


def test_no_suggestion_when_the_index_knows_every_word() -> None:
    params = search.SearchParams(q="São Paulo floods")
    reply = {"suggest": {"did_you_mean": [{"text": "sao", "options": []}]}}
    assert search.did_you_mean(reply, params.q) is None
    assert search.shape({}, search.SearchParams(q=""))["matched"] is None


def test_a_search_parses_its_query_once_for_every_rung(monkeypatch: pytest.MonkeyPatch) -> None:
    texts: list[str] = []
    real = parse_query

    def counting(text: str, *, max_chars: int = 500) -> Ast | None:
        texts.append(text)
        return real(text, max_chars=max_chars)

    monkeypatch.setattr("services.api.search.parse_query", counting)
    params = search.SearchParams(q="kidmann golden globe nomination")
    steps = search.ladder(params)
    requests = [search.build(params, "news", attempt=step) for step in steps]
    assert len(requests) == len(steps) > 2
    assert texts == ["kidmann golden globe nomination"]
