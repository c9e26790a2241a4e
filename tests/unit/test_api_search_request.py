"""The Elasticsearch request a search becomes: which fields it searches and highlights."""

from __future__ import annotations

from services.api import search
from services.api.query import parse_query, positive_words
from services.common.visibility import hidden_clauses
from services.indexer.mapping import addable_fields, load_mapping, mapping_version

ALIAS = "news-articles"


def test_searching_everywhere_searches_title_body_and_the_language_fields() -> None:
    request = search.build(search.SearchParams(q='iran "ballistic missiles" -trump'), ALIAS)
    query = request["query"]["bool"]
    leaves = [clause["multi_match"] for clause in query["must"][0]["bool"]["must"]]
    # Title and body, and the Spanish field (filled for Spanish articles only).
    everywhere = ["title^3", "body", "text_es"]
    assert [leaf["fields"] for leaf in leaves] == [everywhere, everywhere]
    excluded = query["must"][0]["bool"]["must_not"][0]["multi_match"]
    assert excluded["fields"] == everywhere
    # The title's weight is in its field; the query names title and body, so it highlights them.
    assert "should" not in query
    assert set(request["highlight"]["fields"]) == {"title", "body"}


def test_a_chosen_subset_of_fields_is_searched_as_chosen() -> None:
    params = search.SearchParams(q="iran", search_in=("title", "body"))
    request = search.build(params, ALIAS)
    assert request["query"]["bool"]["must"][0]["multi_match"]["fields"] == ["title^3", "body"]
    assert "highlight_query" not in request["highlight"]["fields"]["title"]


def test_browsing_without_words_matches_everything() -> None:
    request = search.build(search.SearchParams(q="  "), ALIAS)
    assert request["query"]["bool"] == {
        "must": [{"match_all": {}}],
        "filter": [],
        "must_not": hidden_clauses(),
    }


def test_positive_words_leave_out_negations_and_prefixes() -> None:
    def words(q: str) -> str:
        ast = parse_query(q)
        assert ast is not None
        return positive_words(ast)

    assert words('iran "ballistic missiles" -trump') == "iran ballistic missiles"
    assert words("(oil OR gas) AND NOT coal") == "oil gas"
    assert words("missile* strikes") == "strikes"
    assert words("-trump") == ""


def test_the_mapping_analyses_title_and_body_once_and_alike() -> None:
    mapping = load_mapping()["mappings"]
    fields = mapping["properties"]
    # No combined field: it analysed every body a second time (a fifth of indexing throughput).
    assert "text" not in fields
    assert not [name for name, spec in fields.items() if spec.get("copy_to")]
    # Same analyzer in both: a word found in one is highlighted in the other alike.
    assert fields["title"]["analyzer"] == fields["body"]["analyzer"] == "news_text"
    assert fields["tweets"]["properties"]["text"]["analyzer"] == "news_text"
    assert mapping_version(mapping) == 6
    assert mapping_version({}) == 1


def test_the_story_fields_of_mappings_v5_and_v6_are_added_in_place_to_an_older_index() -> None:
    current = load_mapping()["mappings"]
    story_fields = ("story_id", "embedding", "indexed_by")
    v4 = {"properties": {k: v for k, v in current["properties"].items() if k not in story_fields}}
    added = addable_fields(v4, current)
    assert set(added) == set(story_fields)
    assert added["embedding"]["dims"] == 256
    # Exact knn over bytes: no graph to build per document, no quantisation of its own.
    assert added["embedding"]["element_type"] == "byte"
    assert added["embedding"]["similarity"] == "cosine"
    assert added["embedding"]["index_options"] == {"type": "flat"}


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


def test_an_older_index_gains_the_fields_that_need_no_analysis() -> None:
    want = load_mapping()["mappings"]
    v3 = {
        "properties": {
            k: v for k, v in want["properties"].items() if k not in {"status", "embargoed"}
        }
    }
    v3["properties"].pop("text_es")
    added = addable_fields(v3, want)
    assert set(added) == {"status", "embargoed"}  # text_es needs its analyser: a reindex
