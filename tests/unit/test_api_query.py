"""The search syntax: what users type, what Elasticsearch gets, and clear errors."""

from __future__ import annotations

import pytest

from services.api.query import Leaf, Node, parse_query, to_es
from services.common.errors import QueryError

FIELDS = ["title^3", "body"]


def test_words_are_all_required() -> None:
    assert parse_query("iran missiles") == Node(
        "and", (Leaf("word", "iran"), Leaf("word", "missiles"))
    )


def test_or_binds_looser_than_and() -> None:
    ast = parse_query("a b OR c")
    assert ast == Node(
        "or", (Node("and", (Leaf("word", "a"), Leaf("word", "b"))), Leaf("word", "c"))
    )


def test_parentheses_group() -> None:
    ast = parse_query("a (b OR c)")
    assert ast == Node(
        "and", (Leaf("word", "a"), Node("or", (Leaf("word", "b"), Leaf("word", "c"))))
    )


def test_phrase_prefix_plus_minus_and_not() -> None:
    ast = parse_query('"ballistic missiles" +iran -trump NOT visa missil*')
    assert ast == Node(
        "and",
        (
            Leaf("phrase", "ballistic missiles"),
            Leaf("word", "iran"),
            Node("not", (Leaf("word", "trump"),)),
            Node("not", (Leaf("word", "visa"),)),
            Leaf("prefix", "missil"),
        ),
    )


def test_hyphenated_words_stay_words() -> None:
    assert parse_query("covid-19 de-escalation") == Node(
        "and", (Leaf("word", "covid-19"), Leaf("word", "de-escalation"))
    )


def test_empty_query_is_none() -> None:
    assert parse_query("   ") is None


def test_compiled_and_with_exclusion() -> None:
    es = to_es(parse_query('"a b" -c'), FIELDS)  # type: ignore[arg-type]
    assert es == {
        "bool": {
            "must": [{"multi_match": {"query": "a b", "fields": FIELDS, "type": "phrase"}}],
            "must_not": [{"multi_match": {"query": "c", "fields": FIELDS, "operator": "and"}}],
        }
    }


def test_a_lone_negation_matches_everything_else() -> None:
    es = to_es(parse_query("-c"), FIELDS)  # type: ignore[arg-type]
    assert es == {
        "bool": {
            "must": [{"match_all": {}}],
            "must_not": [{"multi_match": {"query": "c", "fields": FIELDS, "operator": "and"}}],
        }
    }


def test_dsl_looking_input_is_just_text() -> None:
    es = to_es(parse_query('title:x {"script": 1}'), FIELDS)  # type: ignore[arg-type]
    texts = [clause["multi_match"]["query"] for clause in es["bool"]["must"]]
    assert texts == ["title:x", "{", "script", ":", "1}"]
    assert all(set(clause) == {"multi_match"} for clause in es["bool"]["must"])


@pytest.mark.parametrize(
    ("text", "code", "where"),
    [
        ('"open phrase', "unterminated_phrase", 1),
        ("(a b", "unbalanced_parentheses", 1),
        ("a b)", "unbalanced_parentheses", 4),
        ("a AND", "dangling_operator", None),
        ("OR a", "dangling_operator", 1),
        ("a ()", "empty_group", 3),
        ('a ""', "empty_phrase", 3),
        ("m*", "short_prefix", 1),
        ("(" * 20 + "a" + ")" * 20, "too_deep", 17),
    ],
)
def test_malformed_queries_say_what_and_where(text: str, code: str, where: int | None) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert caught.value.code == code
    if where is not None:
        assert f"character {where})" in caught.value.message


def test_limits() -> None:
    with pytest.raises(QueryError, match="longer than 10"):
        parse_query("x" * 11, max_chars=10)
    with pytest.raises(QueryError) as caught:
        parse_query(" ".join(f"w{i}" for i in range(65)))
    assert caught.value.code == "too_many_terms"
