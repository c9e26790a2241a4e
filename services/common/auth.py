"""Bearer keys: the one check of ``Authorization: Bearer <key>``, for the ingest and the API."""

from __future__ import annotations

import secrets

from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common.errors import Unauthorized


def bearer_scheme(description: str | None = None) -> HTTPBearer:
    """The scheme that reads the header for a route's dependency (and the OpenAPI page)."""
    # auto_error off: a missing header is our problem+json 401, not FastAPI's plain 403.
    return HTTPBearer(auto_error=False, description=description)


def check_bearer(
    creds: HTTPAuthorizationCredentials | None, expected: str, *, key: str = "key"
) -> None:
    """Unauthorized (401, ``WWW-Authenticate: Bearer``) unless ``creds`` carry ``expected``.

    Compared in constant time, so the time taken tells nothing of the key.
    """
    given = creds.credentials if creds is not None else ""
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized(f"a valid 'Authorization: Bearer <{key}>' header is required")
