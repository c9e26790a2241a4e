"""RFC 9457 problem details, registered once per app: every error is application/problem+json."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common import problem_pages
from services.common.errors import (
    ArticleRejected,
    BackendUnavailable,
    Gone,
    NewswireError,
    NotFound,
    QueryError,
    SearchTimeout,
    Unauthorized,
)

log = structlog.get_logger(__name__)
MEDIA_TYPE = "application/problem+json"

# Rejections whose cause is the request's form rather than its meaning.
# An input that hit a bug of ours is a 500: the client did nothing wrong (it is dead-lettered).
STATUS_BY_CODE = {"too_large": 413, "undecodable": 400, "invalid_json": 400, "internal_error": 500}
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    408: "Request timeout",
    410: "Gone",
    413: "Payload too large",
    422: "Unprocessable content",
    503: "Service unavailable",
    504: "Gateway timeout",
}
# The codes of the framework's own HTTP errors (unknown path, wrong method).
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    code: str,
    instance: str = "",
    retry_after: int = 5,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response; a 503 says when to retry, a 401 which scheme to use."""
    body = {
        "type": problem_pages.type_uri(code),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
        **extra,
    }
    headers = {"Retry-After": str(retry_after)} if status == 503 else {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="newswire"'
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_for(exc: NewswireError) -> int:
    """The HTTP status of one of our errors."""
    if isinstance(exc, ArticleRejected):
        return STATUS_BY_CODE.get(exc.code, 422)
    if isinstance(exc, QueryError):
        return 400
    if isinstance(exc, Gone):
        return 410
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Unauthorized):
        return 401
    if isinstance(exc, BackendUnavailable):
        return 503
    if isinstance(exc, SearchTimeout):
        return 504
    return 500


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json, and the code pages."""
    app.include_router(problem_pages.router)

    async def on_newswire(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, NewswireError)
        status = status_for(exc)
        title = TITLES.get(status, "Error")
        return problem(
            status, title, exc.message, code=exc.code, instance=request.url.path, **exc.extensions()
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem(
            422,
            "Invalid request",
            detail,
            code="invalid_request",
            instance=request.url.path,
            errors=errors,
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = HTTP_CODES.get(exc.status_code, "http_error")
        response = problem(
            exc.status_code, str(exc.detail), str(exc.detail), code=code, instance=request.url.path
        )
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem(
            500,
            "Internal error",
            "an unexpected error occurred; it was logged",
            code="internal_error",
            instance=request.url.path,
        )

    app.add_exception_handler(NewswireError, on_newswire)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
