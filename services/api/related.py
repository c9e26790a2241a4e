"""Related stories, pure: more_like_this and vector similarity fused, with a similarity floor.

Candidates come from two searches of the same request (``_msearch``): ``more_like_this`` on
title and body, and knn on the articles' embeddings; both leave out the article's own story
(its copies are the story, not related to it) and what readers may not see. Each candidate
is scored by its cosine to the article plus ``weight`` times its ``more_like_this`` score
relative to the best one; a candidate below the cosine ``floor`` is never shown, so an
article with nothing like it in the archive lists nothing rather than noise. One copy per
story: the best.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.common.embedding import unit
from services.common.fields import EMBEDDING, STORY_ID
from services.common.visibility import hidden_clauses

CANDIDATES = 20  # per search: enough to fill a list of 5-10 after fusion and de-duplication
# Measured on seeds/stories/ (README "Stories"): of 0, 0.1, 0.2, 0.3, 0.5 and 1, the weight
# of more_like_this whose fusion agreed best with the judgements (mean Spearman per article).
WEIGHT = 0.1


@dataclass(frozen=True)
class Scored:
    """A candidate with what fusion knows of it."""

    hit: dict[str, Any]
    cosine: float
    mlt: float
    fused: float


def cosine(a: Any, b: Any) -> float:
    """The cosine of two stored vectors (floats, or bytes as ints); 0 when either is zero."""
    ua, ub = unit(a), unit(b)
    if ua is None or ub is None or ua.shape != ub.shape:
        return 0.0
    return float(ua @ ub)


def excluded(article_id: str, story_id: str | None) -> list[dict[str, Any]]:
    """What no related list holds: the article, its story's copies, what readers may not see."""
    clauses: list[dict[str, Any]] = [{"ids": {"values": [article_id]}}, *hidden_clauses()]
    if story_id:
        clauses.append({"term": {STORY_ID: story_id}})
    return clauses


def mlt_search(
    alias: str, article_id: str, story_id: str | None, source: list[str]
) -> dict[str, Any]:
    """The more_like_this search (an ``_msearch`` body) on title and body."""
    return {
        "size": CANDIDATES,
        "_source": source,
        "query": {
            "bool": {
                "must": {
                    "more_like_this": {
                        "fields": ["title", "body"],
                        "like": [{"_index": alias, "_id": article_id}],
                        "min_term_freq": 1,
                        "min_doc_freq": 1,
                        "max_query_terms": 40,
                        # The default (30% of the terms) finds nothing in a small archive;
                        # the similarity floor, not this, keeps noise out.
                        "minimum_should_match": "5%",
                    }
                },
                "must_not": excluded(article_id, story_id),
            }
        },
    }


def knn_search(
    vector: Sequence[float], article_id: str, story_id: str | None, source: list[str]
) -> dict[str, Any]:
    """The knn search (an ``_msearch`` body) for the articles nearest in meaning."""
    return {
        "size": CANDIDATES,
        "_source": source,
        "knn": {
            "field": EMBEDDING,
            "query_vector": vector,
            "k": CANDIDATES,
            "num_candidates": 5 * CANDIDATES,
            "filter": {"bool": {"must_not": excluded(article_id, story_id)}},
        },
    }


def fuse(
    vector: Sequence[float] | None,
    mlt_hits: list[dict[str, Any]],
    knn_hits: list[dict[str, Any]],
    *,
    size: int,
    floor: float,
    weight: float = WEIGHT,
) -> list[Scored]:
    """The related list: candidates of both searches, fused, above the floor, one per story.

    Without the article's vector (a document indexed before embeddings) the list is
    ``more_like_this`` alone, as before.
    """
    best_mlt = max((float(h.get("_score") or 0.0) for h in mlt_hits), default=0.0) or 1.0
    mlt = {h["_source"]["id"]: float(h.get("_score") or 0.0) / best_mlt for h in mlt_hits}
    hits = {h["_source"]["id"]: h for h in [*knn_hits, *mlt_hits]}
    scored: list[Scored] = []
    for doc_id, hit in hits.items():
        other = hit["_source"].get(EMBEDDING)
        if vector is None or not other:
            if vector is None and doc_id in mlt:
                scored.append(Scored(hit, 0.0, mlt[doc_id], mlt[doc_id]))
            continue
        similarity = cosine(vector, other)
        if similarity < floor:
            continue
        scored.append(
            Scored(
                hit, similarity, mlt.get(doc_id, 0.0), similarity + weight * mlt.get(doc_id, 0.0)
            )
        )
    scored.sort(key=lambda s: (-s.fused, s.hit["_source"]["id"]))
    shown: list[Scored] = []
    stories: set[str] = set()
    for s in scored:
        story = s.hit["_source"].get(STORY_ID) or s.hit["_source"]["id"]
        if story in stories:
            continue
        stories.add(story)
        shown.append(s)
        if len(shown) == size:
            break
    return shown
