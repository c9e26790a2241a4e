"""The web UI: two static pages and their assets, served by the query API itself."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Pages are small and change with each deploy: always revalidate (ETag makes that cheap).
_NO_CACHE = {"Cache-Control": "no-cache"}
# What the pages may do: load their own scripts, styles and data, nothing from elsewhere.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
_PAGE_HEADERS = {
    **_NO_CACHE,
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class _Static(StaticFiles):
    """StaticFiles whose responses are revalidated on each use."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """The file response, with the no-cache header."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(_NO_CACHE)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/html", headers=_PAGE_HEADERS)


def mount_ui(app: FastAPI) -> None:
    """Serve the search page at /, the pipeline page at /pipeline and assets at /static."""

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def search_page() -> FileResponse:
        """The search page."""
        return _page("index.html")

    @app.api_route("/pipeline", methods=["GET", "HEAD"], include_in_schema=False)
    async def pipeline_page() -> FileResponse:
        """The pipeline page."""
        return _page("pipeline.html")

    app.mount("/static", _Static(directory=STATIC_DIR), name="static")
