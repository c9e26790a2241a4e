"""Webhook deliveries kept in Elasticsearch: the outbox the sender works from, and its log.

A delivery is written once (its id is the event's, so a redelivered event makes no second
one), then claimed for each attempt with a lease under optimistic concurrency: two senders
never attempt the same delivery at once, and one that died leaves it to the next sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from elasticsearch import AsyncElasticsearch, ConflictError

from services.common.clock import parse_iso, to_iso
from services.common.es import boundary, convert_item
from services.common.settings import Settings

Status = Literal["pending", "delivered", "failed", "canceled"]
_LOG_KEPT: Final = 20  # attempts a delivery's log keeps (the newest)


@dataclass
class Delivery:
    """One event for one webhook, and the attempts made so far."""

    delivery_id: str
    alert_id: str
    url: str
    body: str
    kind: str
    created_at: str
    emitted_at: str
    status: Status = "pending"
    attempts: int = 0
    next_at: str = ""
    lease_until: str = ""
    log: list[dict[str, Any]] = field(default_factory=list)
    seq: tuple[int, int] | None = None  # _seq_no, _primary_term of the stored copy

    def document(self) -> dict[str, Any]:
        """As stored."""
        stored = dict(vars(self))
        stored.pop("seq")
        return stored

    @classmethod
    def from_hit(cls, hit: dict[str, Any]) -> Delivery:
        """A delivery read back (with what optimistic concurrency needs)."""
        delivery = cls(**hit["_source"])
        delivery.seq = (hit["_seq_no"], hit["_primary_term"])
        return delivery

    def record(self, outcome: dict[str, Any], *, status: Status, next_at: datetime) -> None:
        """Note an attempt's outcome and what comes next."""
        self.attempts += 1
        self.log = [*self.log, outcome][-_LOG_KEPT:]
        self.status, self.next_at, self.lease_until = status, to_iso(next_at), ""


class Outbox:
    """Create, claim, settle and sweep deliveries."""

    def __init__(self, es: AsyncElasticsearch, settings: Settings) -> None:
        self._es, self._index = es, settings.deliveries_index

    async def add(self, deliveries: list[Delivery]) -> list[Delivery]:
        """Store new deliveries; those stored before (a redelivered event) are left out."""
        if not deliveries:
            return []
        operations: list[dict[str, Any]] = []
        for delivery in deliveries:
            operations += [{"create": {"_id": delivery.delivery_id}}, delivery.document()]
        with boundary("cannot store webhook deliveries"):
            reply = await self._es.bulk(index=self._index, operations=operations)
        added = []
        for delivery, item in zip(deliveries, reply["items"], strict=True):
            result = item["create"]
            if result.get("status") == 409:
                continue  # written by an earlier read of this event
            if "error" in result:
                raise_from_item(result)
            delivery.seq = (result["_seq_no"], result["_primary_term"])
            added.append(delivery)
        return added

    async def claim(self, delivery: Delivery, lease: timedelta) -> bool:
        """Take ``delivery`` for one attempt; False when another sender holds or settled it."""
        delivery.lease_until = to_iso(datetime.now(UTC) + lease)
        return await self.save(delivery)

    async def save(self, delivery: Delivery) -> bool:
        """Write ``delivery`` over the copy it was read as; False when that copy changed."""
        if delivery.seq is None:
            raise ValueError("a delivery is saved over a stored copy")
        try:
            with boundary("cannot update a webhook delivery"):
                reply = await self._es.index(
                    index=self._index,
                    id=delivery.delivery_id,
                    document=delivery.document(),
                    if_seq_no=delivery.seq[0],
                    if_primary_term=delivery.seq[1],
                )
        except ConflictError:
            return False
        delivery.seq = (reply["_seq_no"], reply["_primary_term"])
        return True

    async def due(self, now: datetime, size: int = 500) -> list[Delivery]:
        """Pending deliveries whose next attempt is due and whose lease (if any) ran out."""
        with boundary("cannot read due webhook deliveries"):
            reply = await self._es.search(
                index=self._index,
                query={
                    "bool": {
                        "filter": [
                            {"term": {"status": "pending"}},
                            {"range": {"next_at": {"lte": to_iso(now)}}},
                        ]
                    }
                },
                sort=[{"next_at": "asc"}],
                size=size,
                seq_no_primary_term=True,
            )
        found = [Delivery.from_hit(hit) for hit in reply["hits"]["hits"]]
        return [d for d in found if not d.lease_until or parse_iso(d.lease_until) <= now]

    async def counts(self) -> dict[str, int]:
        """Deliveries by status."""
        with boundary("cannot count webhook deliveries"):
            reply = await self._es.search(
                index=self._index,
                size=0,
                aggs={"status": {"terms": {"field": "status", "size": 10}}},
            )
        buckets = reply["aggregations"]["status"]["buckets"]
        return {bucket["key"]: bucket["doc_count"] for bucket in buckets}


def raise_from_item(result: dict[str, Any]) -> None:
    """A bulk item Elasticsearch refused: our error, by the one table."""
    error = convert_item(int(result.get("status", 500)), result.get("error", {}))
    if error is not None:
        raise error
    raise RuntimeError(f"a webhook delivery was refused: {result}")
