"""HTTP uploads to Kafka: each one's record acknowledged, or its rejection dead-lettered."""

from __future__ import annotations

from services.common.errors import ArticleRejected
from services.common.status_event import StatusEvent
from services.ingest.admission import DeadLetterQuota
from services.ingest.dead_letters import count_rejection, send_dead_letter
from services.ingest.limits import InputLimits
from services.ingest.publisher import Sender, acked
from services.ingest.readers import Item
from services.ingest.verdict import Prepared, parse_item, prepare


class Uploads:
    """One per app: the verdict on each upload, its send and ack, or its dead letter."""

    def __init__(self, sender: Sender, quota: DeadLetterQuota) -> None:
        self.sender = sender
        self.quota = quota
        self.limits = InputLimits.of(sender.settings)

    async def publish(self, item: Item, *, client: str, trace_id: str) -> Prepared:
        """The record once Kafka acknowledged it; a rejection is dead-lettered, then raised."""
        verdict = parse_item(item, self.limits, trace_id=trace_id)
        if isinstance(verdict, Prepared):
            try:
                await acked(await self.sender.send(verdict), verdict.id)
                return verdict
            except ArticleRejected as exc:  # over the broker's own size limit
                verdict = exc
        await self._dead_letter(item, verdict, client)
        raise verdict

    async def publish_event(self, event: StatusEvent, *, trace_id: str) -> Prepared:
        """A status event (a kill) once Kafka acknowledged it: keyed like the article's versions."""
        record = prepare(
            event, limit=self.limits.record_limit, source=event.source, trace_id=trace_id
        )
        await acked(await self.sender.send(record), record.id)
        return record

    async def _dead_letter(self, item: Item, rejection: ArticleRejected, client: str) -> None:
        """Dead-letter what arrived, unless this client is over its dead-letter rate."""
        count_rejection(rejection)
        if self.quota.allow(client):
            letter = await send_dead_letter(self.sender, item, rejection, self.limits.max_bytes)
            await acked(letter, item.source)  # the caller bounds the time
