"""Time as the contract writes it: UTC, ISO-8601, trailing Z."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now_iso() -> str:
    """Now in UTC, ISO-8601 with milliseconds and a trailing Z."""
    return to_iso(datetime.now(UTC))


def to_iso(moment: datetime) -> str:
    """An aware datetime as UTC ISO-8601 with milliseconds and a trailing Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Parse ISO-8601 (a trailing Z allowed) into an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
