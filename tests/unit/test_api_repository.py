"""The pure parts of the API's Elasticsearch reads: filters, aggregation, shaping."""

from __future__ import annotations

from datetime import date

from services.api import related, repository
from services.common.visibility import hidden_clauses


def test_trends_filters_only_what_is_given() -> None:
    assert repository.trends_filters(None, None, None) == []
    assert repository.trends_filters(date(2020, 1, 1), None, ["World"]) == [
        {"range": {"published_date": {"gte": "2020-01-01"}}},
        {"terms": {"category": ["world"]}},
    ]


def test_trends_aggs_sample_and_size() -> None:
    aggs = repository.trends_aggs(7)["sample"]
    assert aggs["sampler"]["shard_size"] == repository.SAMPLE_DOCS
    assert aggs["aggs"]["terms"]["significant_text"]["size"] == 7


def test_shape_trends() -> None:
    reply = {
        "aggregations": {
            "sample": {
                "doc_count": 9,
                "terms": {
                    "buckets": [{"key": "missiles", "score": 3.5, "doc_count": 4, "bg_count": 6}]
                },
            }
        }
    }
    shaped = repository.shape_trends(reply).model_dump()
    assert shaped == {
        "documents": 9,
        "terms": [{"term": "missiles", "score": 3.5, "doc_count": 4, "bg_count": 6}],
    }
    assert repository.shape_trends({}).model_dump() == {"documents": 0, "terms": []}


def test_more_like_this_never_the_article_itself_nor_its_story() -> None:
    body = related.mlt_search("news", "14d38489e204ff07", "aaaa", ["id"])
    query = body["query"]["bool"]
    assert query["must_not"] == [
        {"ids": {"values": ["14d38489e204ff07"]}},
        *hidden_clauses(),
        {"term": {"story_id": "aaaa"}},
    ]
    assert query["must"]["more_like_this"]["like"] == [
        {"_index": "news", "_id": "14d38489e204ff07"}
    ]
