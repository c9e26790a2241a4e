"""Search requests: filters, disjunctive facets, sort, cursor paging, snippets. Pure logic."""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from typing import Any, Literal

import orjson

from services.api.index_fields import SUGGEST, IndexFeatures
from services.api.query import (
    FUZZINESS,
    FUZZY_MIN_CHARS,
    Ast,
    Level,
    compile_query,
    has_typo_candidates,
    levels,
    parse_query,
    positive_words,
)
from services.common.embedding import quantized
from services.common.errors import QueryError
from services.common.fields import EMBEDDING, LANGUAGE_FIELDS, STORY_ID
from services.common.visibility import hidden_clauses

Sort = Literal["relevance", "newest", "oldest"]
Facet = Literal["category", "published", "handle"]
Interval = Literal["day", "week", "month", "year"]
# ``collapse``: one hit per story (its best copy, with how many other versions matched);
# ``all``: every copy its own hit.
Versions = Literal["collapse", "all"]
Mode = Literal["lexical", "hybrid"]

BOOSTS = {"title": "title^3", "summary": "summary^2", "body": "body"}
# Searching all three fields searches title and body (the summary is the start of the lede, so
# in the body already), and each language's own field, which only articles in that language
# fill (an index without such a field is simply skipped by Elasticsearch).
# Every mapping has title and body, so this also searches an index made by an older one fully.
EVERYWHERE = [BOOSTS["title"], BOOSTS["body"], *LANGUAGE_FIELDS.values()]
# A reply's highlights: the whole title, one fragment of the body.
HIGHLIGHT = {
    "pre_tags": ["<mark>"],
    "post_tags": ["</mark>"],
    "encoder": "html",
    "fields": {
        "title": {"number_of_fragments": 0},
        "body": {"fragment_size": 180, "number_of_fragments": 1},
    },
}
WORDS = "words"  # a hybrid search's count of lexical matches (an aggregation)
MAX_WINDOW = 10_000  # from + size: Elasticsearch's max_result_window
SOURCE = [
    "id",
    "title",
    "category",
    "published_date",
    "updated_at",
    "has_tweets",
    "summary",
    STORY_ID,
]
FILTER_PATH = (
    "took,timed_out,hits.total,hits.hits._score,hits.hits._source,hits.hits.highlight,hits.hits.sort,"
    "hits.hits.inner_hits.versions.hits.total.value,aggregations,suggest"
)
# One hit per story: the best copy by the search's own order; the other copies that matched
# are only counted (no copy fetched: size 0).
COLLAPSE = {"field": STORY_ID, "inner_hits": {"name": "versions", "size": 0}}
_SORTS: dict[str, list[dict[str, Any]]] = {
    "relevance": [{"_score": "desc"}, {"id": "asc"}],
    "newest": [
        {"published_date": "desc"},
        {"updated_at": {"order": "desc", "missing": "_last"}},
        {"id": "asc"},
    ],
    "oldest": [
        {"published_date": "asc"},
        {"updated_at": {"order": "asc", "missing": "_first"}},
        {"id": "asc"},
    ],
}


@dataclass(frozen=True)
class SearchParams:
    """A validated search request."""

    q: str = ""
    search_in: tuple[str, ...] = ("title", "summary", "body")
    categories: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    handles: tuple[str, ...] = ()
    has_tweets: bool | None = None
    sort: Sort = "relevance"
    size: int = 10
    page: int = 1
    cursor: str | None = None
    facets: tuple[Facet, ...] = ()
    interval: Interval = "month"
    facet_size: int = 20
    story: str | None = None
    versions: Versions = "collapse"
    mode: Mode = "lexical"
    max_query_chars: int = 500
    extra: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """What a cursor is bound to: the query, filters and sort (not the page or size)."""
        key = orjson.dumps(
            [
                self.q,
                self.search_in,
                self.categories,
                str(self.date_from),
                str(self.date_to),
                self.handles,
                self.has_tweets,
                self.sort,
                self.story,
                self.versions,
                self.mode,
            ]
        )
        return hashlib.sha256(key).hexdigest()[:12]

    def collapsed(self, features: IndexFeatures) -> bool:
        """Whether hits are stories: asked for, on an index whose every document has a story
        id (a story's own copies, when filtered on one, are listed all)."""
        return self.versions == "collapse" and features.stories and self.story is None

    @property
    def start(self) -> int:
        """The offset of the page's first hit when paging by offset (page or offset cursor)."""
        return (self.page - 1) * self.size

    @cached_property
    def ast(self) -> Ast | None:
        """The query's syntax tree (None for an empty query), parsed once; raises QueryError."""
        return parse_query(self.q, max_chars=self.max_query_chars)


def _seal(key: str, value: Any, params: SearchParams) -> str:
    """An opaque cursor holding ``value`` under ``key``, bound to the request that made it."""
    raw = orjson.dumps({key: value, "f": params.fingerprint()})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unseal(cursor: str, key: str, params: SearchParams) -> Any:
    """What ``_seal`` put in a cursor of this request; else a 400 ``invalid_cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
        value, fingerprint = data[key], data["f"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise QueryError("the cursor is not valid", code="invalid_cursor") from exc
    if fingerprint != params.fingerprint():
        raise QueryError("the cursor belongs to another search", code="invalid_cursor")
    return value


def encode_cursor(sort_values: list[Any], params: SearchParams) -> str:
    """An opaque cursor: the last hit's sort values, bound to the request that made it."""
    return _seal("a", sort_values, params)


def decode_cursor(cursor: str, params: SearchParams) -> list[Any]:
    """The sort values in a cursor; a tampered or foreign cursor is a 400 ``invalid_cursor``."""
    values = _unseal(cursor, "a", params)
    if not _fits_sort(values, params.sort):
        # Caught here, not by Elasticsearch: its refusal would be a less helpful error.
        raise QueryError("the cursor is not valid", code="invalid_cursor")
    return list(values)


def encode_offset_cursor(offset: int, params: SearchParams) -> str:
    """An opaque cursor of a collapsed search: the offset of the next page (collapse cannot
    page with search_after on more than one sort field), bound to the request."""
    return _seal("o", offset, params)


def decode_offset_cursor(cursor: str, params: SearchParams) -> int:
    """The offset in a collapsed search's cursor; anything else is a 400 ``invalid_cursor``."""
    offset = _unseal(cursor, "o", params)
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < MAX_WINDOW:
        raise QueryError("the cursor is not valid", code="invalid_cursor")
    return offset


def _fits_sort(values: Any, sort: Sort) -> bool:
    """Whether ``values`` can be the sort values of a hit: numbers, then the id (a string)."""
    if not isinstance(values, list) or len(values) != len(_SORTS[sort]):
        return False
    *numbers, tiebreak = values
    return isinstance(tiebreak, str) and all(_sort_number(v, sort) for v in numbers)


def _sort_number(value: Any, sort: Sort) -> bool:
    """A score (any number) or a date: epoch milliseconds in a long (missing: its extremes)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return sort == "relevance"
    return isinstance(value, int) and -(2**63) <= value < 2**63


def _terms(field_name: str, values: tuple[str, ...]) -> dict[str, Any]:
    return {"terms": {field_name: list(values)}}


@dataclass(frozen=True)
class Attempt:
    """One rung of the matching ladder: which words must match, and whether typos may."""

    level: Level = "all"
    fuzzy: bool = False


def ladder(params: SearchParams) -> list[Attempt]:
    """What to try, in turn, until something is found: every word as typed first.

    Then every word with typos allowed (words of 5+ letters), then all words but one, then
    any one (in the spirit of Meilisearch's matchingStrategy). Phrases, +word and -word are
    never relaxed.
    """
    typos = has_typo_candidates(params.ast)
    steps = [Attempt(), *([Attempt("all", True)] if typos else [])]
    return steps + [Attempt(level, typos) for level in levels(params.ast)[1:]]


def build(
    params: SearchParams,
    alias: str,
    *,
    attempt: Attempt | None = None,
    features: IndexFeatures | None = None,
    vector: Hybrid | None = None,
) -> dict[str, Any]:
    """The Elasticsearch search request (keyword arguments of ``AsyncElasticsearch.search``).

    ``features``: what the index has (an index older than mapping v3 lacks the spelling
    suggestions' field).
    """
    attempt = attempt or Attempt()
    features = features or IndexFeatures()
    # Facetable filters go to post_filter, so each facet can count as if its own were unset.
    facet_filters = {
        "category": _terms("category", params.categories) if params.categories else None,
        "handle": _terms("tweets.handle", tuple(h.lower() for h in params.handles))
        if params.handles
        else None,
    }
    request: dict[str, Any] = {
        "index": alias,
        "query": _query(
            params, attempt, _stored_form(vector, features) if features.stories else None
        ),
        "size": params.size,
        "sort": _SORTS[params.sort],
        "source_includes": SOURCE,
        "track_total_hits": MAX_WINDOW,
        "filter_path": FILTER_PATH,
        # The query names the fields shown, so it highlights them: inflected and folded forms
        # as they matched, a phrase as one <mark>.
        "highlight": HIGHLIGHT,
        **_paging(params, params.collapsed(features)),
    }
    if params.collapsed(features):
        request["collapse"] = COLLAPSE
    active = [f for f in facet_filters.values() if f is not None]
    if active:
        request["post_filter"] = {"bool": {"filter": active}}
    aggs = _facet_aggs(params, facet_filters)
    hybrid = request["query"]["bool"].get("should")
    if hybrid:
        # How many hits the words alone found: the matching ladder relaxes on that, as in a
        # lexical search (the knn clause always finds something).
        aggs[WORDS] = {"filter": hybrid[0]}
    if aggs:
        request["aggs"] = aggs
    if attempt.fuzzy and params.ast is not None and features.suggest:
        request["suggest"] = _suggest(params.ast)
    return request


FEED_SOURCE = ["id", "title", "category", "summary", "published_date", "updated_at"]
# The external version counts milliseconds of the version time (``updated_at``, else the
# day): sorting on it is newest version first; the id breaks ties as search's sorts do.
FEED_SORT = [{"version": {"order": "desc", "unmapped_type": "long"}}, {"id": "asc"}]


def feed_request(params: SearchParams, alias: str) -> dict[str, Any]:
    """A feed's search: the first rung of the ladder only, newest version first.

    A feed is a standing query: typo tolerance or relaxed matching would turn "nothing yet"
    into noise, so every word must match as typed. Hidden articles stay out as in search.
    """
    request = build(params, alias, attempt=Attempt())
    del request["highlight"]  # a feed shows the summary, never a snippet
    return {
        **request,
        "sort": FEED_SORT,
        "source_includes": FEED_SOURCE,
        "track_total_hits": False,
        "filter_path": "timed_out,hits.hits._source",
    }


@dataclass(frozen=True)
class Hybrid:
    """A hybrid search's query vector, and the weight of its knn score beside BM25's."""

    vector: list[float] | list[int]  # floats, or bytes for an index of mapping v6 on
    boost: float
    k: int = 100


def _stored_form(hybrid: Hybrid | None, features: IndexFeatures) -> Hybrid | None:
    """The hybrid search with its vector in the index's form: bytes from mapping v6 on."""
    if hybrid is None or not features.byte_vectors:
        return hybrid
    return replace(hybrid, vector=quantized(hybrid.vector).tolist())


def _query(params: SearchParams, attempt: Attempt, hybrid: Hybrid | None = None) -> dict[str, Any]:
    """The words (at the attempt's matching level) and the filters that are not facets.

    Hybrid: the words or the meaning may match, and scores add (a linear blend in one bool:
    the server has no rrf retriever); the bool's filters pre-filter the knn clause.
    """
    ast = params.ast
    if ast is None:
        text: dict[str, Any] = {"match_all": {}}
    elif set(params.search_in) == set(BOOSTS):
        text = _compiled(ast, EVERYWHERE, attempt)
    else:
        text = _compiled(ast, [BOOSTS[f] for f in params.search_in], attempt)
    filters: list[dict[str, Any]] = []
    if params.date_from or params.date_to:
        bounds = {
            k: v.isoformat() for k, v in (("gte", params.date_from), ("lte", params.date_to)) if v
        }
        filters.append({"range": {"published_date": bounds}})
    if params.has_tweets is not None:
        filters.append({"term": {"has_tweets": params.has_tweets}})
    if params.story is not None:
        filters.append({"term": {STORY_ID: params.story}})
    if hybrid is not None and params.ast is not None:
        knn = {
            "knn": {
                "field": EMBEDDING,
                "query_vector": hybrid.vector,
                "k": hybrid.k,
                "num_candidates": 2 * hybrid.k,
                "boost": hybrid.boost,
            }
        }
        return {
            "bool": {
                "should": [text, knn],
                "minimum_should_match": 1,
                "filter": filters,
                "must_not": hidden_clauses(),
            }
        }
    return {"bool": {"must": [text], "filter": filters, "must_not": hidden_clauses()}}


def _paging(params: SearchParams, collapsed: bool = False) -> dict[str, Any]:
    """Where the page starts: after the cursor's sort values, or at an offset."""
    if params.cursor and not collapsed:
        return {"search_after": decode_cursor(params.cursor, params)}
    if params.cursor or params.page > 1:
        start = decode_offset_cursor(params.cursor, params) if params.cursor else params.start
        if start + params.size > MAX_WINDOW:
            raise QueryError(
                f"offset paging stops at {MAX_WINDOW} results: use the cursor", code="page_too_deep"
            )
        return {"from_": start}
    return {}


def _compiled(ast: Ast, fields: list[str], attempt: Attempt) -> dict[str, Any]:
    return compile_query(ast, fields, level=attempt.level, fuzzy=attempt.fuzzy)


def _suggest(ast: Ast) -> dict[str, Any]:
    """Corrections of the words that may hold typos, from the index's own words."""
    return {
        "text": positive_words(ast),
        "did_you_mean": {
            "term": {
                # Ledes as written (lowercased and folded, not stemmed); the words that may
                # hold typos are those the matching ladder lets match with edits.
                "field": SUGGEST,
                "suggest_mode": "missing",
                "min_word_length": FUZZY_MIN_CHARS,
                "prefix_length": FUZZINESS["prefix_length"],
                "size": 1,
            }
        },
    }


def did_you_mean(reply: dict[str, Any], q: str) -> str | None:
    """The query with each word the index does not know replaced by its best correction."""
    fixes = {
        entry["text"]: entry["options"][0]["text"]
        for entry in reply.get("suggest", {}).get("did_you_mean", [])
        if entry.get("options")
    }
    if not fixes:
        return None

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        return str(fixes.get(_plain(word), word))

    corrected = _WORD_RE.sub(fix, q)
    return corrected if corrected != q else None


_WORD_RE = re.compile(r"[^\W_]+")


def _plain(word: str) -> str:
    """A word as the suggestion field analyses it: lowercased and folded to ASCII."""
    folded = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in folded if not unicodedata.combining(c))


def _facet_aggs(
    params: SearchParams, facet_filters: dict[str, dict[str, Any] | None]
) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for facet in params.facets:
        # Disjunctive: apply every facet filter except this facet's own.
        others = [f for name, f in facet_filters.items() if name != facet and f is not None]
        if facet == "category":
            inner = {"terms": {"field": "category", "size": params.facet_size}}
        elif facet == "handle":
            inner = {"terms": {"field": "tweets.handle", "size": params.facet_size}}
        else:
            inner = {
                "date_histogram": {
                    "field": "published_date",
                    "calendar_interval": params.interval,
                    "format": "yyyy-MM-dd",
                    "min_doc_count": 1,
                }
            }
        # A filter wrapper only where another facet's selection applies: unwrapped is cheaper.
        aggs[facet] = (
            {"filter": {"bool": {"filter": others}}, "aggs": {"values": inner}} if others else inner
        )
    return aggs


def _snippet(hit: dict[str, Any]) -> str:
    highlight = hit.get("highlight", {})
    if highlight.get("body"):
        return str(highlight["body"][0])
    summary = str(hit["_source"].get("summary", ""))
    if len(summary) > 240:
        summary = summary[:240].rsplit(" ", 1)[0] + "…"  # cut at a word, and say so
    return html.escape(summary)


def lexical_total(reply: dict[str, Any]) -> int:
    """How many documents the words matched: a hybrid search counts them apart."""
    words = reply.get("aggregations", {}).get(WORDS)
    if words is not None:
        return int(words.get("doc_count", 0))
    return int(reply.get("hits", {}).get("total", {}).get("value", 0))


def _other_versions(hit: dict[str, Any]) -> int:
    """How many other copies of the hit's story matched (0 when the search is not collapsed)."""
    versions = hit.get("inner_hits", {}).get("versions", {}).get("hits", {})
    return max(int(versions.get("total", {}).get("value", 1)) - 1, 0)


def _next_cursor(hits: list[dict[str, Any]], params: SearchParams, collapsed: bool) -> str | None:
    """The cursor of the next page, when this one is full."""
    if not hits or len(hits) != params.size:
        return None
    if collapsed:
        start = decode_offset_cursor(params.cursor, params) if params.cursor else params.start
        following = start + params.size
        return encode_offset_cursor(following, params) if following < MAX_WINDOW else None
    return encode_cursor(hits[-1]["sort"], params) if "sort" in hits[-1] else None


def shape(
    reply: dict[str, Any],
    params: SearchParams,
    attempt: Attempt | None = None,
    *,
    collapsed: bool = False,
) -> dict[str, Any]:
    """The API's response from Elasticsearch's reply (to the ``attempt`` that found it)."""
    attempt = attempt or Attempt()
    hits = reply.get("hits", {}).get("hits", [])
    items = []
    for hit in hits:
        src = hit["_source"]
        title_hl = hit.get("highlight", {}).get("title")
        items.append(
            {
                "id": src["id"],
                "title": src["title"],
                "title_html": title_hl[0] if title_hl else html.escape(src["title"]),
                "category": src["category"],
                "published_date": src["published_date"],
                "updated_at": src.get("updated_at"),
                "snippet": _snippet(hit),
                "score": hit.get("_score"),
                "has_tweets": bool(src.get("has_tweets")),
                "story_id": src.get(STORY_ID) or src["id"],
                "other_versions": _other_versions(hit),
            }
        )
    total = reply.get("hits", {}).get("total", {"value": 0, "relation": "eq"})
    next_cursor = _next_cursor(hits, params, collapsed)
    aggs = reply.get("aggregations", {})
    facets: dict[str, list[dict[str, Any]]] = {}
    for facet in params.facets:
        agg = aggs.get(facet, {})
        buckets = agg.get("values", agg).get("buckets", [])
        if facet == "published":
            facets[facet] = [{"date": b["key_as_string"], "count": b["doc_count"]} for b in buckets]
        else:
            facets[facet] = [{"value": b["key"], "count": b["doc_count"]} for b in buckets]
    return {
        "total": {"value": total["value"], "exact": total["relation"] == "eq"},
        "items": items,
        "facets": facets,
        "next_cursor": next_cursor,
        "took_ms": reply.get("took", 0),
        "matched": attempt.level if params.q.strip() else None,
        "typo_tolerant": attempt.fuzzy,
        "did_you_mean": did_you_mean(reply, params.q) if attempt.fuzzy else None,
    }


# What a match reports of each article: enough for a notification.
MATCH_SOURCE = ["id", "version", "title", "category", "published_date", "updated_at", "summary"]


def saved_search_clause(params: SearchParams, alias: str, name: str) -> dict[str, Any]:
    """A saved search as one named clause: it matches exactly the documents its search finds.

    The query and filters of the first rung of ``/v1/search`` (every word as typed: a standing
    query does not relax, or "nothing yet" would turn into noise), its facet filters (search's
    ``post_filter``) among them. Named, so a search of many reports which ones each hit matched.
    """
    request = build(params, alias)
    clause = dict(request["query"]["bool"])
    if "post_filter" in request:
        clause["filter"] = [*clause["filter"], request["post_filter"]]
    return {"bool": {**clause, "_name": name}}


def matching_body(clauses: list[dict[str, Any]], ids: list[str]) -> dict[str, Any]:
    """One search telling, for each of ``ids``, which named saved searches find it.

    Everything is in filter context (nothing is scored); each hit's ``matched_queries`` lists
    the clauses that match it. One request for many saved searches: the per-search cost of a
    request (parsing, rewriting, a shard round) is paid once, not once per saved search.
    """
    return {
        "query": {
            "bool": {
                "filter": [
                    {"ids": {"values": ids}},
                    {"bool": {"should": clauses, "minimum_should_match": 1}},
                ]
            }
        },
        "size": len(ids),
        "_source": False,
        "track_total_hits": False,
    }
