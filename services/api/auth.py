"""The operator key: what opens the views that show raw payloads (dead letters)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from services.common.auth import bearer_scheme, check_bearer
from services.common.errors import Unauthorized
from services.common.settings import Settings

_bearer = bearer_scheme("The operator key (NEWSWIRE_OPERATOR_KEY).")


def operator_key(settings: Settings) -> str | None:
    """The key that opens operator views: the operator key, else the ingest key, else none."""
    key = settings.operator_key or settings.api_key
    return key.get_secret_value() if key is not None and key.get_secret_value() else None


async def require_operator(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless the request carries ``Authorization: Bearer <operator key>``."""
    settings: Settings = request.app.state.settings
    expected = operator_key(settings)
    if expected is None:
        # Closed by default: raw payloads are never served without a key to guard them.
        raise Unauthorized(
            "no operator key is configured: set NEWSWIRE_OPERATOR_KEY (or NEWSWIRE_API_KEY)",
            code="operator_key_unset",
        )
    check_bearer(creds, expected, key="operator key")


OperatorDep = Depends(require_operator)
