"""GET /v1/feed: any search as a standing query, in Atom 1.0 or JSON Feed 1.1."""

from __future__ import annotations

from typing import Annotated, Final, Literal
from urllib.parse import urlencode

from fastapi import Depends, Header, Query, Request, Response

from services.api import feeds, repository
from services.api.deps import ESDep, SettingsDep
from services.api.routes.reads import index_router
from services.api.routes.search import (
    Categories,
    DateFrom,
    DateTo,
    Handles,
    SearchIn,
    Words,
    search_params,
)
from services.api.search import BOOSTS, SearchParams

Format = Literal["atom", "json"]
DEFAULT_SIZE: Final = 20
ALL_FIELDS: Final = ",".join(BOOSTS)
# Readers poll; a minute in a cache keeps a kill or a hold out of sight soon enough. The
# representation depends on the URL alone (``format`` is a parameter, not negotiated from
# Accept), so nothing is listed in Vary.
CACHE_CONTROL: Final = "public, max-age=60"
_MEDIA = {"atom": feeds.ATOM_MEDIA_TYPE, "json": feeds.JSON_FEED_MEDIA_TYPE}
_RENDER = {"atom": feeds.atom, "json": feeds.json_feed}
DESCRIPTION = """
A search as a feed: the same words and filters as `/v1/search`, newest version first
(entries' `updated` is the article's version time), Atom 1.0 or, with `format=json`,
JSON Feed 1.1. A feed is a standing query: only the first rung of search's matching
ladder applies (every word as typed; no typo tolerance, no relaxed matching), so a query
that matches nothing yet gives an empty feed, not near misses. Killed, withheld and
embargoed articles are left out as in search. Conditional GET: `ETag` and `Last-Modified`,
answered 304 to `If-None-Match` (or, without it, `If-Modified-Since`).
"""

router = index_router("feeds", 400, 422)
# JSON Feed 1.1's required members (https://jsonfeed.org/version/1.1), for the OpenAPI document.
_JSON_FEED_SCHEMA = {
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}},
            },
        },
    },
}


async def feed_params(
    settings: SettingsDep,
    q: Words = "",
    search_in: SearchIn = ALL_FIELDS,
    category: Categories = None,
    from_: DateFrom = None,
    to: DateTo = None,
    handle: Handles = None,
    has_tweets: bool | None = None,
    size: Annotated[int, Query(ge=1, le=100, description="Entries, newest first.")] = (
        DEFAULT_SIZE
    ),
) -> SearchParams:
    """The feed's search, read and checked by search's own rules (same problems)."""
    return search_params(
        settings,
        q=q,
        search_in=search_in,
        category=category,
        from_=from_,
        to=to,
        handle=handle,
        has_tweets=has_tweets,
        size=size,
    )


def selection(params: SearchParams) -> list[tuple[str, str]]:
    """The words and filters of ``params`` as URL parameters, defaults left out."""
    pairs = [("q", params.q)] if params.q else []
    if ",".join(params.search_in) != ALL_FIELDS:
        pairs.append(("search_in", ",".join(params.search_in)))
    pairs += [("category", c) for c in params.categories]
    pairs += [("handle", h) for h in params.handles]
    if params.date_from:
        pairs.append(("from", params.date_from.isoformat()))
    if params.date_to:
        pairs.append(("to", params.date_to.isoformat()))
    if params.has_tweets is not None:
        pairs.append(("has_tweets", "true" if params.has_tweets else "false"))
    return pairs


def feed_meta(params: SearchParams, fmt: Format, base: str) -> feeds.FeedMeta:
    """Title and links of a feed: its canonical URL (so its Atom id is stable) and its page."""
    chosen = selection(params)
    own = chosen + ([("format", fmt)] if fmt != "atom" else [])
    own += [("size", str(params.size))] if params.size != DEFAULT_SIZE else []
    title = f"Newswire: {params.q}" if params.q else "Newswire: latest articles"
    if params.categories:
        title += f" ({', '.join(params.categories)})"
    page = f"{base}?{urlencode(chosen)}" if chosen else base
    return feeds.FeedMeta(title, f"{base}v1/feed{'?' + urlencode(own) if own else ''}", page)


@router.get(
    "/v1/feed",
    response_class=Response,
    description=DESCRIPTION,
    responses={
        200: {
            "description": "The feed.",
            "content": {
                feeds.ATOM_MEDIA_TYPE.split(";")[0]: {"schema": {"type": "string"}},
                feeds.JSON_FEED_MEDIA_TYPE.split(";")[0]: {"schema": _JSON_FEED_SCHEMA},
            },
        },
        304: {"description": "Not modified: the validators sent still hold."},
    },
)
async def feed(
    request: Request,
    es: ESDep,
    settings: SettingsDep,
    params: Annotated[SearchParams, Depends(feed_params)],
    format_: Annotated[Format, Query(alias="format", description="atom or json.")] = "atom",
    if_none_match: Annotated[str | None, Header()] = None,
    if_modified_since: Annotated[str | None, Header()] = None,
) -> Response:
    """The newest articles a search finds, as a feed, answered 304 when unchanged."""
    base = str(request.base_url)  # ends in "/": behind a proxy, its root path included
    meta = feed_meta(params, format_, base)
    sources = await repository.feed_sources(es, settings, params)
    entries = [feeds.entry(s, f"{base}?{urlencode({'article': s['id']})}") for s in sources]
    # The body names the feed's own URL: the validator covers it as well as the format.
    tag = feeds.etag(entries, f"{format_}\x1f{meta.feed_url}")
    modified = feeds.last_modified(entries)
    headers = {
        "ETag": tag,
        "Last-Modified": feeds.http_date(modified),
        "Cache-Control": CACHE_CONTROL,
    }
    if feeds.not_modified(tag, modified, if_none_match, if_modified_since):
        return Response(status_code=304, headers=headers)
    document = _RENDER[format_](entries, meta)
    return Response(document, media_type=_MEDIA[format_], headers=headers)
