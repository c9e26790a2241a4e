"""Is Kafka reachable right now? A bounded metadata request, cached, over a kept connection."""

from __future__ import annotations

import asyncio
import time

import structlog
from aiokafka.client import AIOKafkaClient

from services.common.kafka import FOREIGN, make_metadata_client

log = structlog.get_logger(__name__)


class KafkaProbe:
    """Asks the brokers for cluster metadata at most once per ``ttl_s``, each ask bounded."""

    def __init__(
        self,
        bootstrap: str,
        *,
        client: AIOKafkaClient | None = None,
        timeout_s: float = 3.0,
        ttl_s: float = 2.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self.ttl_s = ttl_s
        # A client lent by a producer or consumer is reused (no new connection); else our own.
        self._client = client
        self._owned = client is None
        self._lock = asyncio.Lock()
        self._checked_at = float("-inf")
        self._reachable = False

    async def reachable(self) -> bool:
        """True when a broker answered a metadata request within the last ``ttl_s``."""
        async with self._lock:  # a burst of readiness checks shares one request
            if time.monotonic() - self._checked_at >= self.ttl_s:
                self._reachable = await self._ask()
                self._checked_at = time.monotonic()
            return self._reachable

    async def _ask(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout_s):
                client = await self._connected()
                await client.fetch_all_metadata()
        except FOREIGN as exc:
            if self._reachable:
                log.warning("kafka unreachable", bootstrap=self.bootstrap, error=repr(exc))
            if self._owned:
                await self.close()  # bootstrap again next time rather than trust a dead client
            return False
        return True

    async def _connected(self) -> AIOKafkaClient:
        if self._client is None:
            client = make_metadata_client(
                self.bootstrap,
                client_id="newswire-probe",
                request_timeout_ms=int(self.timeout_s * 1000),
            )
            try:
                await client.bootstrap()
            except BaseException:
                await client.close()
                raise
            self._client = client
        return self._client

    async def close(self) -> None:
        """Close the client when it is ours (a lent one belongs to its owner)."""
        client, owned = self._client, self._owned
        if owned:
            self._client = None
        if client is not None and owned:
            await client.close()
