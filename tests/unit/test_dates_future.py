"""Times ahead of the clock: a typo or an attack must not lock an article's version."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.common.errors import ArticleRejected
from services.common.settings import Settings
from services.ingest.dates import check_not_future

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SKEW = Settings().max_future_skew_s  # the default: a day


@pytest.mark.parametrize(
    "updated",
    [NOW, NOW + timedelta(hours=23), NOW - timedelta(days=365 * 200), None],
)
def test_times_up_to_the_skew_are_accepted(updated: datetime | None) -> None:
    check_not_future(date(2026, 12, 1), updated, "t", now=NOW, max_future_s=SKEW)


@pytest.mark.parametrize(
    "updated",
    [NOW + timedelta(days=1, seconds=1), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)],
)
def test_an_updated_at_beyond_the_skew_is_rejected_with_its_own_code(updated: datetime) -> None:
    with pytest.raises(ArticleRejected) as info:
        check_not_future(date(2026, 12, 1), updated, "t", now=NOW, max_future_s=SKEW)
    assert info.value.code == "future_updated"
    assert "ahead of now" in info.value.message


def test_a_published_date_beyond_the_skew_is_rejected() -> None:
    # With no Updated: line the day itself is the version: 9999-12-31 would lock it too.
    with pytest.raises(ArticleRejected) as info:
        check_not_future(date(9999, 12, 31), None, "t", now=NOW, max_future_s=SKEW)
    assert info.value.code == "future_date"
    # Tomorrow, in some time zone.
    check_not_future(date(2026, 12, 2), None, "t", now=NOW, max_future_s=SKEW)


def test_the_skew_is_configurable() -> None:
    ahead = NOW + timedelta(hours=2)
    check_not_future(date(2026, 12, 1), ahead, "t", now=NOW, max_future_s=3 * 3600)
    with pytest.raises(ArticleRejected):
        check_not_future(date(2026, 12, 1), ahead, "t", now=NOW, max_future_s=3600)
    check_not_future(date(9999, 12, 31), None, "t", now=NOW, max_future_s=1e12)  # no bound
