"""What the matcher decides, pure: which articles a batch brings, and what each alert is told.

An alert is told of an article once when it first matches (``match``), again for each later
version that still matches (``update``), and once when a matched article is killed, held or
changed so it no longer matches (``removal``). What an alert was last told of an article is
its match state; a state written by an attempt whose offsets were never committed is read
as the state before it (its ``prior``), so a batch read again decides again the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.common.alerts import EventKind, RemovalReason
from services.common.clock import parse_iso


@dataclass(frozen=True)
class Candidate:
    """An article a batch brought, as its last record in the batch says."""

    id: str
    version: int
    partition: int
    offset: int
    status: str | None = None  # "canceled" or "withheld" for a status event
    ingested_at: datetime | None = None


@dataclass(frozen=True)
class Told:
    """What an alert was told of an article: whether it matched, and at which version."""

    matched: bool
    version: int


@dataclass(frozen=True)
class MatchState:
    """The stored match state of one alert and one article."""

    alert_id: str
    article_id: str
    told: Told
    partition: int
    offset: int  # of the record that set it; -1 when no record did (an embargo lifting)
    prior: Told | None

    def effective(self, committed: dict[int, int]) -> Told | None:
        """What counts as told: ``prior`` when the record that set it was never committed."""
        if self.offset >= 0 and self.offset >= committed.get(self.partition, 0):
            return self.prior
        return self.told

    def document(self) -> dict[str, Any]:
        """The state as stored in the matches index."""
        return {
            "alert_id": self.alert_id,
            "article_id": self.article_id,
            "matched": self.told.matched,
            "version": self.told.version,
            "partition": self.partition,
            "offset": self.offset,
            "prior": None if self.prior is None else vars(self.prior),
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> MatchState:
        """A state read back from the matches index."""
        prior = doc.get("prior")
        return cls(
            alert_id=doc["alert_id"],
            article_id=doc["article_id"],
            told=Told(bool(doc["matched"]), int(doc["version"])),
            partition=int(doc["partition"]),
            offset=int(doc["offset"]),
            prior=None if prior is None else Told(bool(prior["matched"]), int(prior["version"])),
        )


def state_id(alert_id: str, article_id: str) -> str:
    """The matches index's document id of one alert and one article."""
    return f"{alert_id}:{article_id}"


def latest(candidates: list[Candidate]) -> list[Candidate]:
    """One candidate per article: its last record in the batch (what the index now holds)."""
    last: dict[str, Candidate] = {}
    for candidate in candidates:
        last.pop(candidate.id, None)  # re-inserted: the order is that of the last records
        last[candidate.id] = candidate
    return list(last.values())


@dataclass(frozen=True)
class Decision:
    """An event to send (or None) and the state to keep (or None: nothing to keep)."""

    kind: EventKind | None
    reason: RemovalReason | None
    state: MatchState | None


def decide(
    alert_id: str,
    candidate: Candidate,
    *,
    matched: bool,
    stored: MatchState | None,
    committed: dict[int, int],
) -> Decision:
    """What ``alert_id`` is told of ``candidate``, which it does (not) match now."""
    before = stored.effective(committed) if stored is not None else None
    kind: EventKind | None = None
    reason: RemovalReason | None = None
    if matched and (before is None or not before.matched):
        kind = "match"
    elif matched and before is not None and candidate.version != before.version:
        kind = "update"
    elif not matched and before is not None and before.matched:
        kind, reason = "removal", _why_removed(candidate)
    if kind is None and (stored is None or before == stored.told):
        return Decision(None, None, None)  # nothing new to say or to keep
    # With nothing to say, an uncommitted attempt's state is put back to what counts.
    now = Told(matched, candidate.version) if kind is not None else before
    now = now or Told(False, candidate.version)
    state = MatchState(
        alert_id, candidate.id, now, candidate.partition, candidate.offset, prior=before
    )
    return Decision(kind, reason, state)


# The indexer's clock writes indexed_at before a refresh makes the version searchable: an
# article written this little before an alert was made still counts as new to it.
_REFRESH_MARGIN = timedelta(seconds=1)


def new_to(alert_made: datetime, source: dict[str, Any]) -> bool:
    """Whether the stored version became searchable after the alert was made.

    An alert streams what is new: an article a search already showed when the alert was made
    (a backlog the matcher is still reading, a deployment's history) is not news to it. An
    embargoed article becomes searchable when its embargo lifts.
    """
    moments = [parse_iso(str(source[f])) for f in ("indexed_at", "embargoed") if source.get(f)]
    return not moments or max(moments) >= alert_made - _REFRESH_MARGIN


def _why_removed(candidate: Candidate) -> RemovalReason:
    if candidate.status == "canceled":
        return "killed"
    if candidate.status == "withheld":
        return "withheld"
    return "no_longer_matches"
