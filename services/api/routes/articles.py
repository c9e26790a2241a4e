"""GET /v1/articles/{id}, its versions, /related (meaning and words), and /v1/stories/{id}."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header, Path, Query

from services.api import history, repository
from services.api.deps import ESDep, SettingsDep
from services.api.models import (
    ArticleOut,
    RelatedResponse,
    StoryResponse,
    VersionsResponse,
    problem_responses,
)
from services.api.negotiation import prefers_ninjs
from services.api.ninjs_out import to_ninjs
from services.api.responses import FastJSON
from services.api.routes.reads import index_router
from services.common.errors import NotFound
from services.common.ninjs_schema import NINJS_MEDIA_TYPE

router = index_router("articles", 404, 422)
# No pattern on the parameter: a malformed id names no article, like an unknown one (404),
# rather than failing validation (422). It is checked before Elasticsearch sees it.
ArticleId = Annotated[
    str, Path(description="16 lowercase hex digits.", examples=["14d38489e204ff07"])
]
_ID = re.compile(r"[0-9a-f]{16}")
_VARY = {"Vary": "Accept"}


def _missing(article_id: str) -> str:
    """The NotFound message for ``article_id``; raises NotFound at once when it is malformed."""
    message = f"no article with id {article_id[:40]!r}"
    if _ID.fullmatch(article_id) is None:
        raise NotFound(message)
    return message


@router.get(
    "/v1/articles/{article_id}",
    response_model=ArticleOut,
    responses={
        200: {"content": {NINJS_MEDIA_TYPE: {"schema": {"type": "object"}}}},
        **problem_responses(410),
    },
)
async def get_article(
    article_id: ArticleId,
    es: ESDep,
    settings: SettingsDep,
    accept: Annotated[str | None, Header()] = None,
) -> FastJSON:
    """One article, newest version; ninjs 2.2 with ``Accept: application/ninjs+json``.

    A killed article answers 410 (with ``killed_at``); one withheld or under embargo, 404.
    """
    missing = _missing(article_id)
    found = await repository.article(es, settings, article_id, missing)
    if prefers_ninjs(accept):
        return FastJSON(to_ninjs(found), media_type=NINJS_MEDIA_TYPE, headers=_VARY)
    return FastJSON(found, headers=_VARY)


@router.get(
    "/v1/articles/{article_id}/versions",
    response_model=VersionsResponse,
    responses=problem_responses(410),
)
async def list_versions(article_id: ArticleId, es: ESDep, settings: SettingsDep) -> FastJSON:
    """Every version of the article, oldest first, each with what it changed."""
    missing = _missing(article_id)
    return FastJSON(await history.versions(es, settings, article_id, missing))


@router.get(
    "/v1/articles/{article_id}/versions/{version}",
    response_model=ArticleOut,
    responses=problem_responses(410),
)
async def get_version(
    article_id: ArticleId,
    version: Annotated[int, Path(ge=0, description="A version number from /versions.")],
    es: ESDep,
    settings: SettingsDep,
) -> FastJSON:
    """One version of the article as it was stored."""
    missing = _missing(article_id)
    return FastJSON(await history.one_version(es, settings, article_id, version, missing))


@router.get("/v1/articles/{article_id}/related", response_model=RelatedResponse)
async def related_articles(
    article_id: ArticleId,
    es: ESDep,
    settings: SettingsDep,
    size: Annotated[int, Query(ge=1, le=50)] = 5,
) -> FastJSON:
    """Stories like this one (more_like_this on title and body), never the article itself."""
    missing = _missing(article_id)
    return FastJSON({"items": await repository.related(es, settings, article_id, size, missing)})


@router.get("/v1/stories/{story_id}", response_model=StoryResponse)
async def get_story(
    story_id: Annotated[
        str, Path(description="A story_id from a search hit.", examples=["14d38489e204ff07"])
    ],
    es: ESDep,
    settings: SettingsDep,
) -> FastJSON:
    """Every copy of one story readers may see (rewrites, wire copies, editions), oldest first."""
    missing = f"no story with id {story_id[:40]!r}"
    if _ID.fullmatch(story_id) is None:
        raise NotFound(missing)
    return FastJSON(await repository.story(es, settings, story_id, missing))
