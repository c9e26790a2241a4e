"""The Elasticsearch request a search becomes: which fields it searches and highlights."""

from __future__ import annotations

from services.api import search
from services.api.index_fields import COMBINED, IndexFeatures
from services.api.query import parse_query, positive_words, to_es
from services.indexer.mapping import load_mapping, mapping_version

ALIAS = "news-articles"


def test_searching_everywhere_uses_the_combined_field_and_boosts_the_title() -> None:
    request = search.build(search.SearchParams(q='iran "ballistic missiles" -trump'), ALIAS)
    query = request["query"]["bool"]
    leaves = [clause["multi_match"] for clause in query["must"][0]["bool"]["must"]]
    # The combined field, and the Spanish one (filled for Spanish articles only).
    everywhere = ["text", "text_es"]
    assert [leaf["fields"] for leaf in leaves] == [everywhere, everywhere]
    excluded = query["must"][0]["bool"]["must_not"][0]["multi_match"]
    assert excluded["fields"] == everywhere
    assert query["should"] == [
        {"match": {"title": {"query": "iran ballistic missiles", "boost": search.TITLE_BOOST}}}
    ]
    # The query names `text`: title and body are highlighted by the same query over themselves.
    shown = request["highlight"]["fields"]
    tree = parse_query('iran "ballistic missiles" -trump')
    assert tree is not None
    assert shown["body"]["highlight_query"] == to_es(tree, ["body"])
    assert shown["title"]["highlight_query"]["bool"]["must"][0]["multi_match"]["fields"] == [
        "title"
    ]


def test_an_index_without_the_combined_field_is_searched_field_by_field() -> None:
    request = search.build(
        search.SearchParams(q="iran"), ALIAS, features=IndexFeatures(combined=False)
    )
    query = request["query"]["bool"]
    assert query["must"][0]["multi_match"]["fields"] == ["title^3", "summary^2", "body"]
    assert query["should"] == []
    assert "highlight_query" not in request["highlight"]["fields"]["body"]


def test_a_chosen_subset_of_fields_is_searched_as_chosen() -> None:
    params = search.SearchParams(q="iran", search_in=("title", "body"))
    request = search.build(params, ALIAS)
    assert request["query"]["bool"]["must"][0]["multi_match"]["fields"] == ["title^3", "body"]
    assert "highlight_query" not in request["highlight"]["fields"]["title"]


def test_browsing_without_words_matches_everything_and_boosts_nothing() -> None:
    request = search.build(search.SearchParams(q="  "), ALIAS)
    assert request["query"]["bool"]["must"] == [{"match_all": {}}]
    assert request["query"]["bool"]["should"] == []


def test_positive_words_leave_out_negations_and_prefixes() -> None:
    def words(q: str) -> str:
        ast = parse_query(q)
        assert ast is not None
        return positive_words(ast)

    assert words('iran "ballistic missiles" -trump') == "iran ballistic missiles"
    assert words("(oil OR gas) AND NOT coal") == "oil gas"
    assert words("missile* strikes") == "strikes"
    assert words("-trump") == ""


def test_the_mapping_fills_the_combined_field_from_title_and_body() -> None:
    mapping = load_mapping()["mappings"]
    fields = mapping["properties"]
    assert fields[COMBINED]["type"] == "text"
    copied = {name for name, spec in fields.items() if COMBINED in spec.get("copy_to", [])}
    assert copied == {"title", "body"}
    # Same analyzer everywhere: a word found in `text` is highlighted in title and body alike.
    assert fields[COMBINED]["analyzer"] == fields["title"]["analyzer"] == fields["body"]["analyzer"]
    assert mapping_version(mapping) == 3
    assert mapping_version({}) == 1


def test_facets_are_wrapped_in_a_filter_only_where_another_selection_applies() -> None:
    facets: tuple[search.Facet, ...] = ("category", "handle")
    plain = search.build(search.SearchParams(facets=facets), ALIAS)["aggs"]
    assert plain["category"] == {"terms": {"field": "category", "size": 20}}
    narrowed = search.SearchParams(facets=facets, categories=("world",))
    aggs = search.build(narrowed, ALIAS)["aggs"]
    # The category facet ignores its own selection (disjunctive); the handle facet applies it.
    assert aggs["category"] == {"terms": {"field": "category", "size": 20}}
    assert aggs["handle"]["filter"] == {"bool": {"filter": [{"terms": {"category": ["world"]}}]}}
    reply = {
        "aggregations": {
            "category": {"buckets": [{"key": "world", "doc_count": 3}]},
            "handle": {"doc_count": 3, "values": {"buckets": [{"key": "isro", "doc_count": 1}]}},
        }
    }
    assert search.shape(reply, narrowed)["facets"] == {
        "category": [{"value": "world", "count": 3}],
        "handle": [{"value": "isro", "count": 1}],
    }
