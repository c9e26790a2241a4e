"""Content negotiation for an article: JSON by default, ninjs when the client prefers it."""

from __future__ import annotations

from typing import Final

from services.common.ninjs_schema import NINJS_MEDIA_TYPE

_JSON_RANGES: Final = ("application/json", "application/*", "*/*")


def _weights(accept: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            weights[media.lower()] = max(quality, weights.get(media.lower(), 0.0))
    return weights


def prefers_ninjs(accept: str | None) -> bool:
    """Whether ``Accept`` asks for ninjs at least as much as for plain JSON."""
    if not accept:
        return False
    weights = _weights(accept)
    ninjs = weights.get(NINJS_MEDIA_TYPE, 0.0)
    return ninjs > 0 and ninjs >= max((weights.get(r, 0.0) for r in _JSON_RANGES), default=0.0)
