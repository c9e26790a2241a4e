"""Related stories' fusion, pure: cosine plus more_like_this, a floor, one copy per story."""

from __future__ import annotations

from typing import Any

from services.api.related import fuse, knn_search


def hit(
    doc_id: str, vector: list[float] | None, score: float = 1.0, story: str = ""
) -> dict[str, Any]:
    """A search hit with the fields fusion reads."""
    source: dict[str, Any] = {"id": doc_id, "story_id": story or doc_id}
    if vector is not None:
        source["embedding"] = vector
    return {"_score": score, "_source": source}


ME = [1.0, 0.0]


def ids(scored: list[Any]) -> list[str]:
    """The ids of a fused list, in order."""
    return [s.hit["_source"]["id"] for s in scored]


def test_below_the_floor_nothing_is_shown_however_many_words_match() -> None:
    mlt = [hit("shares", [0.1, 0.99], 9.0), hit("fishing", [0.0, 1.0], 5.0)]
    assert fuse(ME, mlt, [], size=5, floor=0.45) == []


def test_cosine_ranks_and_more_like_this_breaks_near_ties() -> None:
    knn = [hit("a", [0.8, 0.6]), hit("b", [0.79, 0.61])]
    mlt = [hit("b", [0.79, 0.61], 4.0)]
    assert ids(fuse(ME, mlt, knn, size=5, floor=0.45)) == ["b", "a"]


def test_one_copy_per_story_the_best() -> None:
    knn = [
        hit("a1", [0.9, 0.43], story="s"),
        hit("a2", [0.8, 0.6], story="s"),
        hit("c", [0.7, 0.71]),
    ]
    assert ids(fuse(ME, [], knn, size=5, floor=0.45)) == ["a1", "c"]


def test_the_list_is_cut_at_size() -> None:
    knn = [hit(str(n), [0.9, 0.43]) for n in range(9)]
    assert len(fuse(ME, [], knn, size=3, floor=0.45)) == 3


def test_without_the_articles_vector_more_like_this_alone_as_before() -> None:
    mlt = [hit("x", None, 2.0), hit("y", None, 4.0)]
    assert ids(fuse(None, mlt, [], size=5, floor=0.45)) == ["y", "x"]


def test_the_knn_search_leaves_out_the_story_and_the_article() -> None:
    body = knn_search([1.0, 0.0], "abc", "s1", ["id"])
    must_not = body["knn"]["filter"]["bool"]["must_not"]
    assert {"ids": {"values": ["abc"]}} in must_not
    assert {"term": {"story_id": "s1"}} in must_not
