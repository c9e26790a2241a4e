"""What an input may be: its size, its record's size, how far ahead its time may lie."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.errors import ArticleRejected
from services.common.kafka import max_record_bytes
from services.common.settings import Settings

# The setting's default, for callers that parse without settings (tests, the bench).
DEFAULT_MAX_BYTES: int = Settings.model_fields["max_article_bytes"].default


@dataclass(frozen=True)
class InputLimits:
    """What an input may be: its size, its record's size, how far ahead its time may lie."""

    max_bytes: int
    record_limit: int
    max_future_s: float

    @classmethod
    def of(cls, settings: Settings) -> InputLimits:
        """The limits the settings give."""
        return cls(
            settings.max_article_bytes, max_record_bytes(settings), settings.max_future_skew_s
        )


def too_large(source: str, detail: str) -> ArticleRejected:
    """The one rejection of an input or record over a size limit (its bytes, its record)."""
    return ArticleRejected("too_large", detail, source=source)


def check_size(size: int, max_bytes: int, source: str) -> None:
    """Refuse an input of ``size`` bytes over ``max_bytes``, before any time is spent on it."""
    if size > max_bytes:
        raise too_large(source, f"{size} bytes is over the {max_bytes}-byte limit")
