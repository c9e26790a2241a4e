"""The search syntax: what users type, what Elasticsearch gets, clear errors; cursors."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest

from services.api import search
from services.api.query import MAX_EXPANSIONS, Leaf, Node, parse_query, to_es
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
            Leaf("word", "iran", required=True),
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


def match(text: str, *, negated: bool = False, **extra: object) -> dict[str, object]:
    """The multi_match a leaf compiles to."""
    query: dict[str, object] = {
        "query": text,
        "fields": FIELDS,
        "zero_terms_query": "none" if negated else "all",
        **extra,
    }
    return {"multi_match": query}


def test_not_binds_tighter_than_and_and_or() -> None:
    assert parse_query("NOT a b OR c") == Node(
        "or",
        (Node("and", (Node("not", (Leaf("word", "a"),)), Leaf("word", "b"))), Leaf("word", "c")),
    )


def test_explicit_and_equals_juxtaposition() -> None:
    assert parse_query("a AND b") == parse_query("a b")
    assert parse_query("+a +b") == Node(
        "and", (Leaf("word", "a", required=True), Leaf("word", "b", required=True))
    )


def test_lower_case_operators_are_words() -> None:
    assert parse_query("war and peace") == Node(
        "and", (Leaf("word", "war"), Leaf("word", "and"), Leaf("word", "peace"))
    )


def test_compiled_and_with_exclusion() -> None:
    tree = parse_query('"a b" -c')
    assert tree is not None
    es = to_es(tree, FIELDS)
    assert es == {
        "bool": {
            "must": [match("a b", type="phrase")],
            "must_not": [match("c", negated=True, operator="and")],
        }
    }


def test_compiled_or_and_prefix() -> None:
    es = to_es(parse_query("iran* OR iraq"), FIELDS)  # type: ignore[arg-type]
    assert es == {
        "bool": {
            "should": [
                match("iran", type="phrase_prefix", max_expansions=MAX_EXPANSIONS),
                match("iraq", operator="and"),
            ],
            "minimum_should_match": 1,
        }
    }


def test_a_lone_negation_matches_everything_else() -> None:
    es = to_es(parse_query("-c"), FIELDS)  # type: ignore[arg-type]
    assert es == {
        "bool": {
            "must": [{"match_all": {}}],
            "must_not": [match("c", negated=True, operator="and")],
        }
    }


def test_double_negation_requires_again() -> None:
    # NOT (NOT c): the inner leaf is required again, so a stop word there matches everything.
    es = to_es(parse_query("NOT (NOT c)"), FIELDS)  # type: ignore[arg-type]
    inner = es["bool"]["must_not"][0]
    assert inner["bool"]["must_not"] == [match("c", operator="and")]


def test_dsl_looking_input_is_just_text() -> None:
    es = to_es(parse_query('title:x {"script": 1}'), FIELDS)  # type: ignore[arg-type]
    texts = [clause["multi_match"]["query"] for clause in es["bool"]["must"]]
    assert texts == ["title:x", "{", "script", ":", "1}"]
    assert all(set(clause) == {"multi_match"} for clause in es["bool"]["must"])


def test_compiled_nesting_is_bounded() -> None:
    # The parser's own bound keeps real queries below Elasticsearch's limit of 30 bool levels.
    deepest = parse_query("a OR b (" * 12 + "c" + ")" * 12)
    assert _bool_depth(to_es(deepest, FIELDS)) <= 24  # type: ignore[arg-type]
    ast: Node | Leaf = Leaf("word", "a")
    for _ in range(30):
        ast = Node("not", (ast,))
    with pytest.raises(QueryError) as caught:
        to_es(ast, FIELDS)
    assert caught.value.code == "too_deep"


def _bool_depth(query: object) -> int:
    if isinstance(query, dict):
        inner = max((_bool_depth(v) for v in query.values()), default=0)
        return inner + (1 if "bool" in query else 0)
    if isinstance(query, list):
        return max((_bool_depth(v) for v in query), default=0)
    return 0


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
        (" ".join(f"a{c}*" for c in "bcdefghij"), "too_many_prefixes", 33),
        ("(" * 20 + "a" + ")" * 20, "too_deep", 13),
        ("NOT " * 13 + "a", "too_deep", 49),
        ("-" * 13 + "a", "too_deep", 13),
        ("a ) b", "unbalanced_parentheses", 3),
        ("a AND OR b", "dangling_operator", 7),
        ("a NOT", "dangling_operator", None),
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


# The search request around the query: cursors and disjunctive facets (pure logic).

LONG_MIN = -(2**63)


@pytest.mark.parametrize(
    ("sort", "values"),
    [
        ("relevance", [3.25, "14d38489e204ff07"]),
        ("newest", [1578441600000, LONG_MIN, "14d38489e204ff07"]),
        ("oldest", [1578441600000, 2**63 - 1, "14d38489e204ff07"]),
    ],
)
def test_cursors_round_trip(sort: search.Sort, values: list[object]) -> None:
    params = search.SearchParams(q="iran", sort=sort, versions="all")
    cursor = search.encode_cursor(values, params)
    assert "=" not in cursor
    assert search.decode_cursor(cursor, params) == values
    assert search.build(replace(params, cursor=cursor), "a")["search_after"] == values


def test_a_collapsed_search_pages_by_an_offset_cursor() -> None:
    params = search.SearchParams(q="iran", size=10)
    cursor = search.encode_offset_cursor(20, params)
    request = search.build(replace(params, cursor=cursor), "a")
    assert request["from_"] == 20
    assert "search_after" not in request
    assert request["collapse"]["field"] == "story_id"
    # A cursor of the uncollapsed search does not page the collapsed one.
    other = search.encode_offset_cursor(20, replace(params, versions="all"))
    with pytest.raises(QueryError):
        search.build(replace(params, cursor=other), "a")


def test_a_story_filter_lists_every_copy_and_all_versions_does_not_collapse() -> None:
    story = search.build(search.SearchParams(q="iran", story="abc"), "a")
    assert "collapse" not in story
    assert {"term": {"story_id": "abc"}} in story["query"]["bool"]["filter"]
    assert "collapse" not in search.build(search.SearchParams(q="iran", versions="all"), "a")


def test_other_versions_come_from_the_collapsed_hits_inner_total() -> None:
    hit = {
        "_score": 1.0,
        "_source": {"id": "a", "title": "t", "category": "c", "published_date": "2020-01-01"},
        "inner_hits": {"versions": {"hits": {"total": {"value": 3}}}},
    }
    reply = {"hits": {"hits": [hit], "total": {"value": 3, "relation": "eq"}}}
    [item] = search.shape(reply, search.SearchParams(), collapsed=True)["items"]
    assert (item["other_versions"], item["story_id"]) == (2, "a")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "%%%",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b'{"a": [1, "x"]}').decode(),
    ],
)
def test_malformed_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(QueryError) as caught:
        search.decode_cursor(cursor, search.SearchParams())
    assert caught.value.code == "invalid_cursor"


@pytest.mark.parametrize(
    ("sort", "values"),
    [
        ("relevance", ["x", "id"]),
        ("relevance", [1.0]),
        ("newest", [1.5, 2, "id"]),
        ("newest", [True, 2, "id"]),
        ("newest", [2**63, 2, "id"]),
        ("oldest", [1, 2, 3]),
    ],
)
def test_cursors_with_impossible_sort_values_are_refused(
    sort: search.Sort, values: list[object]
) -> None:
    params = search.SearchParams(sort=sort)
    with pytest.raises(QueryError) as caught:
        search.decode_cursor(search.encode_cursor(values, params), params)
    assert caught.value.code == "invalid_cursor"


def test_a_cursor_is_bound_to_its_search() -> None:
    cursor = search.encode_cursor([1.0, "id"], search.SearchParams(q="a"))
    with pytest.raises(QueryError, match="another search"):
        search.decode_cursor(cursor, search.SearchParams(q="b"))


def test_facetable_filters_are_post_filters_and_each_facet_skips_its_own() -> None:
    params = search.SearchParams(
        categories=("world",),
        handles=("Isro",),
        has_tweets=True,
        facets=("category", "handle", "published"),
    )
    request = search.build(params, "news")
    category = {"terms": {"category": ["world"]}}
    handle = {"terms": {"tweets.handle": ["isro"]}}
    assert request["post_filter"] == {"bool": {"filter": [category, handle]}}
    assert request["query"]["bool"]["filter"] == [{"term": {"has_tweets": True}}]
    aggs = request["aggs"]
    assert aggs["category"]["filter"] == {"bool": {"filter": [handle]}}
    assert aggs["handle"]["filter"] == {"bool": {"filter": [category]}}
    assert aggs["published"]["filter"] == {"bool": {"filter": [category, handle]}}


def test_offset_paging_stops_at_the_result_window() -> None:
    assert search.build(search.SearchParams(size=100, page=100), "a")["from_"] == 9900
    with pytest.raises(QueryError) as caught:
        search.build(search.SearchParams(size=100, page=101), "a")
    assert caught.value.code == "page_too_deep"


def test_a_hybrid_search_adds_a_knn_clause_and_counts_the_words_apart() -> None:
    hybrid = search.Hybrid([0.6, 0.8], boost=5.0)
    request = search.build(search.SearchParams(q="iran", mode="hybrid"), "a", vector=hybrid)
    should = request["query"]["bool"]["should"]
    assert should[1]["knn"]["boost"] == 5.0
    assert request["query"]["bool"]["minimum_should_match"] == 1
    assert request["aggs"]["words"] == {"filter": should[0]}
    assert search.lexical_total({"aggregations": {"words": {"doc_count": 0}}}) == 0
    # Without a query vector (no words, or an index before embeddings): lexical as ever.
    plain = search.build(search.SearchParams(q="iran", mode="hybrid"), "a")
    assert "should" not in plain["query"]["bool"]
