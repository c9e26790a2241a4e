"""Dates and times of the seed format: month names, time zones, the ``Updated:`` line."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.common.clock import to_iso
from services.common.errors import ArticleRejected

# How far ahead of this machine's clock an article's time may be (clock skew, time zones).
MONTHS: dict[str, int] = {}
for _number, _name in enumerate(
    "january february march april may june july august september october november december".split(),
    start=1,
):
    MONTHS[_name] = _number
    MONTHS[_name[:3]] = _number
MONTHS["sept"] = 9

# Abbreviations with one fixed meaning, as UTC offsets in minutes. IST is India (the seeds'
# newsroom), CST is US Central: the readings a news wire means by them.
_FIXED_ZONES: dict[str, int] = {
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0,
    "WEST": 60, "BST": 60, "CET": 60, "WAT": 60,
    "CEST": 120, "EET": 120, "SAST": 120, "CAT": 120,
    "EEST": 180, "MSK": 180, "EAT": 180, "AST": -240,
    "GST": 240, "PKT": 300, "IST": 330, "NPT": 345, "BDT": 360, "ICT": 420, "WIB": 420,
    "SGT": 480, "HKT": 480, "AWST": 480, "PHT": 480,
    "JST": 540, "KST": 540, "ACST": 570, "ACDT": 630, "AEST": 600, "AEDT": 660,
    "NZST": 720, "NZDT": 780,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300,
    "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
    "AKST": -540, "AKDT": -480, "HST": -600, "NST": -210, "NDT": -150,
    "BRT": -180, "ART": -180,
}  # fmt: skip
# Generic zones that switch with daylight saving: the date decides which offset applies.
_REGION_ZONES: dict[str, str] = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
    "AKT": "America/Anchorage",
    "UK": "Europe/London",
}

_UPDATED_PREFIX_RE = re.compile(r"(?i:updated)\s*:")
_UPDATED_RE = re.compile(
    r"(?i:updated)\s*:\s*"
    r"(?P<month>[A-Za-z]+)\.?\s+(?P<day>[0-9]{1,2})(?i:st|nd|rd|th)?,?\s+(?P<year>[0-9]{4}),?\s+"
    r"(?:(?i:at)\s+)?(?P<hour>[0-9]{1,2})[:.](?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2}))?\s*"
    r"(?P<ampm>[AaPp]\.?\s?[Mm]\.?(?![A-Za-z]))?\s*"
    r"(?P<zone>\S.*)?"
)
_OFFSET_RE = re.compile(
    r"(?:(?i:UTC|GMT|UT)\s*)?(?P<sign>[+\-−])\s*(?P<hours>[0-9]{1,2})(?::?(?P<minutes>[0-9]{2}))?"
)
_IANA_RE = re.compile(r"[A-Za-z_]+(?:/[A-Za-z0-9_+\-]+){1,2}")


def quote(text: str, limit: int = 40) -> str:
    """``text`` in quotes for an error message, shortened with an ellipsis."""
    text = text.strip()
    return repr(text if len(text) <= limit else text[: limit - 1].rstrip() + "…")


def calendar_date(year: int, month: int, day: int) -> date | None:
    """The date, or None when it is not on the calendar (February 30th)."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


@lru_cache(maxsize=64)
def _region_zone(key: str) -> tzinfo | None:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@lru_cache(maxsize=256)
def _resolve_zone(name: str) -> tzinfo | None:
    """A tzinfo for a zone abbreviation, numeric offset or IANA name; None when unknown."""
    upper = name.upper()
    if upper in _FIXED_ZONES:
        return timezone(timedelta(minutes=_FIXED_ZONES[upper]), upper)
    if upper in _REGION_ZONES:
        return _region_zone(_REGION_ZONES[upper])
    offset = _OFFSET_RE.fullmatch(name)
    if offset is not None:
        hours, minutes = int(offset["hours"]), int(offset["minutes"] or 0)
        if hours > 14 or minutes >= 60 or (hours == 14 and minutes):
            return None
        total = hours * 60 + minutes
        return timezone(timedelta(minutes=-total if offset["sign"] in "-−" else total))
    if _IANA_RE.fullmatch(name):
        return _region_zone(name)
    return None


def parse_updated(text: str, source: str = "") -> datetime:
    """The UTC time of an ``Updated: Mon DD, YYYY HH:MM TZ`` line; ArticleRejected otherwise."""
    line = text.strip()
    if not _UPDATED_PREFIX_RE.match(line):
        line = "Updated: " + line
    fail = "malformed_updated"
    match = _UPDATED_RE.fullmatch(line)
    if match is None:
        raise ArticleRejected(
            fail,
            f"Updated line must look like 'Updated: Jan 08, 2020 09:06 IST', got {quote(line)}",
            source=source,
        )
    month = MONTHS.get(match["month"].lower())
    if month is None:
        raise ArticleRejected(
            fail, f"unknown month {match['month']!r} in Updated line", source=source
        )
    day = calendar_date(int(match["year"]), month, int(match["day"]))
    if day is None:
        raise ArticleRejected(
            fail, f"Updated line has an impossible date: {quote(line)}", source=source
        )
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            raise ArticleRejected(
                fail, f"hour {hour} is not on a 12-hour clock: {quote(line)}", source=source
            )
        # 12:xx am is just after midnight, 12:xx pm just after noon.
        hour = hour % 12 + (12 if match["ampm"][0] in "pP" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ArticleRejected(
            fail, f"impossible time of day in Updated line: {quote(line)}", source=source
        )
    zone_name = (match["zone"] or "").strip().rstrip(".").strip()
    if not zone_name:
        raise ArticleRejected(fail, f"Updated line has no time zone: {quote(line)}", source=source)
    zone = _resolve_zone(zone_name)
    if zone is None:
        raise ArticleRejected(
            fail, f"unknown time zone {quote(zone_name, 20)} in Updated line", source=source
        )
    local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone)
    try:
        return local.astimezone(UTC)
    except OverflowError:
        raise ArticleRejected(
            fail, f"Updated time is out of range: {quote(line)}", source=source
        ) from None


def check_not_future(
    published: date,
    updated: datetime | None,
    source: str,
    *,
    max_future_s: float,
    now: datetime | None = None,
) -> None:
    """Reject an article dated further ahead than ``max_future_s`` from now.

    The article's time is its version: a typo ("2062") or an attacker's 9999-12-31 would
    otherwise lock the article against every real correction.
    """
    now = now or datetime.now(UTC)
    try:
        limit = now + timedelta(seconds=max_future_s)
    except OverflowError:
        return  # a bound past year 9999 bounds nothing
    if updated is not None and updated > limit:
        raise ArticleRejected(
            "future_updated",
            f"updated_at {to_iso(updated)} is more than {max_future_s:g} s ahead of now "
            f"({to_iso(now)})",
            source=source,
        )
    if datetime(published.year, published.month, published.day, tzinfo=UTC) > limit:
        raise ArticleRejected(
            "future_date",
            f"published date {published.isoformat()} is more than {max_future_s:g} s ahead of "
            f"now ({to_iso(now)})",
            source=source,
        )
