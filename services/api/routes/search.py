"""GET /v1/search: full-text search with filters, disjunctive facets and cursor paging."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import date
from typing import Annotated, Any

from elasticsearch import AsyncElasticsearch
from fastapi import Query, Request, Response
from fastapi.routing import APIRoute

from services.api import backend, search
from services.api.backend import body, bounds, call
from services.api.deps import ESDep, FeaturesDep, SettingsDep
from services.api.index_fields import IndexFeatures
from services.api.models import SearchResponse
from services.api.responses import FastJSON
from services.api.routes.reads import index_router
from services.api.search import SearchParams
from services.api.search_args import plain_args
from services.common.alerts import AlertSpec
from services.common.article import normalise_category
from services.common.errors import QueryError
from services.common.settings import Settings

FIELDS = tuple(search.BOOSTS)


class PlainArgsRoute(APIRoute):
    """The search route: plain arguments are read directly, the rest validated by FastAPI.

    FastAPI's per-parameter validation was the largest part of the API's CPU per search;
    the route's declaration still documents the parameters and judges every unusual value.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, passed over when the query string holds only plain values."""
        validated = super().get_route_handler()
        if self.dependencies:
            return validated  # a dependency of the router (a key check) must run: FastAPI's way

        async def handler(request: Request) -> Response:
            args = plain_args(request.query_params)
            if args is None:
                return await validated(request)
            state = request.app.state
            features = await state.index_fields.features()
            params = search_params(state.settings, **args)
            hybrid = await _hybrid(state, params)
            return FastJSON(await _climb(state.es, state.settings, features, params, hybrid))

        return handler


router = index_router("search", 400, 422, route_class=PlainArgsRoute)
StoryArg = Annotated[str | None, Query(max_length=64, description="Only this story's copies.")]
VersionsArg = Annotated[
    search.Versions,
    Query(description="collapse: one hit per story, with other_versions; all: every copy."),
]
ModeArg = Annotated[
    search.Mode, Query(description="lexical (words); hybrid: words and meaning fused.")
]

# The words and filters of a search, declared once: the feed takes the same (routes/feed.py).
Words = Annotated[
    str,
    Query(
        max_length=2000,
        description='Words, "phrases", +must, -not, AND/OR/NOT, (groups), prefix*.',
        examples=['iran "ballistic missiles" -trump'],
    ),
]
SearchIn = Annotated[
    str, Query(description="Comma list of title, summary, body.", examples=["title,body"])
]
Categories = Annotated[list[str] | None, Query(max_length=50, examples=[["world"]])]
DateFrom = Annotated[date | None, Query(alias="from", description="Published on or after.")]
DateTo = Annotated[date | None, Query(description="Published on or before.")]
Handles = Annotated[
    list[str] | None, Query(max_length=50, description="Tweet author handle, without @.")
]


@router.get("/v1/search", response_model=SearchResponse)
async def search_articles(
    request: Request,
    es: ESDep,
    settings: SettingsDep,
    features: FeaturesDep,
    q: Words = "",
    search_in: SearchIn = "title,summary,body",
    category: Categories = None,
    from_: DateFrom = None,
    to: DateTo = None,
    handle: Handles = None,
    has_tweets: bool | None = None,
    sort: search.Sort = "relevance",
    size: Annotated[int, Query(ge=1, le=100)] = 10,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    facet: Annotated[list[search.Facet] | None, Query(max_length=3)] = None,
    interval: search.Interval = "month",
    facet_size: Annotated[int, Query(ge=1, le=100)] = 20,
    story: StoryArg = None,
    versions: VersionsArg = "collapse",
    mode: ModeArg = "lexical",
) -> FastJSON:
    """Search articles; facets count as if their own selection were unset (disjunctive)."""
    params = search_params(
        settings,
        q=q,
        search_in=search_in,
        category=category,
        from_=from_,
        to=to,
        handle=handle,
        has_tweets=has_tweets,
        sort=sort,
        size=size,
        page=page,
        cursor=cursor,
        facet=facet,
        interval=interval,
        facet_size=facet_size,
        story=story,
        versions=versions,
        mode=mode,
    )
    hybrid = await _hybrid(request.app.state, params)
    return FastJSON(await _climb(es, settings, features, params, hybrid))


def search_params(
    settings: Settings,
    *,
    q: str = "",
    search_in: str = "title,summary,body",
    category: list[str] | None = None,
    from_: date | None = None,
    to: date | None = None,
    handle: list[str] | None = None,
    has_tweets: bool | None = None,
    sort: search.Sort = "relevance",
    size: int = 10,
    page: int = 1,
    cursor: str | None = None,
    facet: list[search.Facet] | None = None,
    interval: search.Interval = "month",
    facet_size: int = 20,
    story: str | None = None,
    versions: search.Versions = "collapse",
    mode: search.Mode = "lexical",
) -> SearchParams:
    """The search the route's arguments ask for; ``search_in`` is checked here."""
    chosen = tuple(f.strip() for f in search_in.split(",") if f.strip())
    unknown = sorted(set(chosen) - set(FIELDS))
    if not chosen or unknown:
        raise QueryError(
            f"search_in takes {', '.join(FIELDS)}; got {search_in!r}", code="invalid_search_in"
        )
    return search.SearchParams(
        q=q,
        search_in=chosen,
        categories=tuple(normalise_category(c) for c in category or ()),
        date_from=from_,
        date_to=to,
        handles=tuple(h.strip().lstrip("@") for h in handle or ()),
        has_tweets=has_tweets,
        sort=sort,
        size=size,
        page=page,
        cursor=cursor,
        facets=tuple(dict.fromkeys(facet or ())),
        interval=interval,
        facet_size=facet_size,
        story=story,
        versions=versions,
        mode=mode,
        max_query_chars=settings.max_query_chars,
    )


async def _hybrid(state: Any, params: SearchParams) -> search.Hybrid | None:
    """The query's vector for a hybrid search with words (computed on the embedder's thread)."""
    if params.mode != "hybrid" or not params.q.strip():
        return None
    vectors = await state.embedder.embed([params.q])
    return search.Hybrid(vectors[0].tolist(), state.settings.hybrid_vector_boost)


async def _climb(
    es: AsyncElasticsearch,
    settings: Settings,
    features: IndexFeatures,
    params: SearchParams,
    hybrid: search.Hybrid | None = None,
) -> dict[str, Any]:
    """Search rung by rung of the matching ladder until something is found.

    The later rungs cost a search each, and only run when the one before found nothing: a
    query that matches as typed costs one request, as before.
    """
    for attempt in (steps := search.ladder(params)):
        request = search.build(
            params, settings.index_alias, features=features, attempt=attempt, vector=hybrid
        )
        sent = backend.search(
            es, {**request, **bounds(settings)}, timeout=settings.search_timeout_s
        )
        found = body(await call(sent))
        if search.lexical_total(found) or attempt is steps[-1]:
            break
    return search.shape(found, params, attempt, collapsed=params.collapsed(features))


def saved_search_params(settings: Settings, spec: AlertSpec) -> SearchParams:
    """The search a saved search (an alert, a feed) stands for; QueryError as /v1/search."""
    params = search_params(
        settings,
        q=spec.q,
        search_in=spec.search_in,
        category=spec.category or None,
        from_=spec.from_,
        to=spec.to,
        handle=spec.handle or None,
        has_tweets=spec.has_tweets,
    )
    search.build(params, settings.index_alias)  # the query is parsed and judged here, once
    return params
