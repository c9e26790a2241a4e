"""One webhook attempt: the delivery's body POSTed, signed, and its outcome recorded."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.alerts import metrics
from services.alerts.outbox import Delivery
from services.common.alerts import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from services.common.clock import parse_iso, to_iso
from services.common.egress import check_target
from services.common.errors import QueryError
from services.common.settings import Settings


def backoff(settings: Settings, attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: doubling, capped."""
    seconds = settings.webhook_backoff_s * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.webhook_backoff_max_s))


class Poster:
    """Signs and sends one attempt; a 2xx delivers, anything else waits for the next try."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings, self._http = settings, http
        self.failing: dict[str, int] = {}  # alert id -> consecutive failed attempts

    async def attempt(self, delivery: Delivery, secret: str) -> None:
        """POST the delivery once; record what came of it and what comes next."""
        body = delivery.body.encode()
        headers = {
            "content-type": "application/json",
            "user-agent": "Newswire-Webhooks/1",
            DELIVERY_HEADER: delivery.delivery_id,
            EVENT_HEADER: delivery.kind,
            SIGNATURE_HEADER: sign(secret, body),
            "X-Newswire-Attempt": str(delivery.attempts + 1),
        }
        started, at = time.monotonic(), datetime.now(UTC)
        outcome: dict[str, Any] = {"at": to_iso(at)}
        try:
            # Again before each attempt: the name may resolve elsewhere now than when saved.
            await check_target(delivery.url, allow_private=self._settings.webhook_private_targets)
            reply = await self._http.post(
                delivery.url,
                content=body,
                headers=headers,
                timeout=self._settings.webhook_timeout_s,
            )
            outcome["status_code"] = reply.status_code
            ok = 200 <= reply.status_code < 300
        except httpx.HTTPError as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"[:300]
            ok = False
        except QueryError as exc:
            outcome["error"] = f"{exc.code}: {exc.message}"[:300]
            ok = False
        outcome["ms"] = round((time.monotonic() - started) * 1000, 1)
        self._settle(delivery, outcome, ok, at)

    def _settle(self, delivery: Delivery, outcome: dict[str, Any], ok: bool, at: datetime) -> None:
        if ok:
            delivery.record(outcome, status="delivered", next_at=at)
            self.failing.pop(delivery.alert_id, None)
            metrics.DELIVERIES.labels("delivered").inc()
            metrics.DELIVERY_LAG.observe(time.time() - parse_iso(delivery.emitted_at).timestamp())
            return
        self.failing[delivery.alert_id] = self.failing.get(delivery.alert_id, 0) + 1
        if delivery.attempts + 1 >= self._settings.webhook_max_attempts:
            delivery.record(outcome, status="failed", next_at=at)
            metrics.DELIVERIES.labels("given_up").inc()
            return
        wait = backoff(self._settings, delivery.attempts + 1)
        delivery.record(outcome, status="pending", next_at=datetime.now(UTC) + wait)
        metrics.DELIVERIES.labels("failed").inc()
