"""Rejected inputs to the dead-letter topic: the one place the ingest builds and sends one."""

from __future__ import annotations

import structlog

from services.common.dlq import DeadLetter
from services.common.errors import ArticleRejected
from services.ingest import metrics
from services.ingest.publisher import Delivery, Sender
from services.ingest.readers import Item

log = structlog.get_logger(__name__)


def count_rejection(rejection: ArticleRejected) -> None:
    """Count a rejection, whether or not its dead letter is then sent."""
    metrics.REJECTED.labels(code=rejection.code).inc()


def letter_for(item: Item, rejection: ArticleRejected, max_bytes: int) -> DeadLetter:
    """The dead letter of ``item``: its bytes (at most the record limit), the reason, sizes."""
    # Dead letters have the same record limit: an oversized input keeps its first bytes.
    return DeadLetter(
        item.data[: max_bytes + 1],
        rejection.code,
        rejection.message,
        item.source,
        "ingest",
        size_declared=item.declared,
        size_received=item.size,
    )


async def send_dead_letter(
    sender: Sender, item: Item, rejection: ArticleRejected, max_bytes: int
) -> Delivery:
    """Queue the dead letter of a rejected input; await the future for the broker's ack."""
    log.info("rejected", source=item.source, code=rejection.code, reason=rejection.message)
    return await sender.dead_letter(letter_for(item, rejection, max_bytes))
