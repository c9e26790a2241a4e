"""GET /v1/articles/{id} and /v1/articles/{id}/related (more like this)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Path, Query

from services.api import repository
from services.api.deps import ESDep, SettingsDep
from services.api.models import ArticleOut, RelatedResponse
from services.api.responses import FastJSON
from services.api.routes.reads import index_router
from services.common.errors import NotFound

router = index_router("articles", 404, 422)
# No pattern on the parameter: a malformed id names no article, like an unknown one (404),
# rather than failing validation (422). It is checked before Elasticsearch sees it.
ArticleId = Annotated[
    str, Path(description="16 lowercase hex digits.", examples=["14d38489e204ff07"])
]
_ID = re.compile(r"[0-9a-f]{16}")


def _missing(article_id: str) -> str:
    """The NotFound message for ``article_id``; raises NotFound at once when it is malformed."""
    message = f"no article with id {article_id[:40]!r}"
    if _ID.fullmatch(article_id) is None:
        raise NotFound(message)
    return message


@router.get("/v1/articles/{article_id}", response_model=ArticleOut)
async def get_article(article_id: ArticleId, es: ESDep, settings: SettingsDep) -> FastJSON:
    """One article, in its newest indexed version."""
    missing = _missing(article_id)
    return FastJSON(await repository.article(es, settings, article_id, missing))


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
