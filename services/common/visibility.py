"""What readers may see now: not killed, not withheld, not under embargo.

The rule is written once, as Elasticsearch clauses every read adds (search, facets, related,
trends, feeds) and as the verdict on one fetched document. Embargoes end by themselves: the
clause compares with Elasticsearch's ``now`` at each request, so no job has to lift them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, Literal

STATUS: Final = "status"  # set on the document a StatusEvent writes: canceled or withheld
STATUS_AT: Final = "status_at"
EMBARGOED: Final = "embargoed"

Visibility = Literal["visible", "killed", "withheld", "embargoed"]


def hidden_clauses() -> list[dict[str, Any]]:
    """``must_not`` clauses that leave out what readers may not see at this instant."""
    return [
        {"exists": {"field": STATUS}},
        {"range": {EMBARGOED: {"gt": "now"}}},
    ]


def visibility(source: dict[str, Any], now: datetime | None = None) -> Visibility:
    """The verdict on one stored document (its ``_source``)."""
    status = source.get(STATUS)
    if status == "canceled":
        return "killed"
    if status is not None:
        return "withheld"
    embargoed = source.get(EMBARGOED)
    if embargoed:
        until = datetime.fromisoformat(str(embargoed).replace("Z", "+00:00"))
        if until > (now or datetime.now(UTC)):
            return "embargoed"
    return "visible"
