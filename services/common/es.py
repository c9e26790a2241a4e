"""Elasticsearch connection helpers: one async client per process, errors converted here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from elasticsearch import AsyncElasticsearch
from elasticsearch.serializer import OrjsonSerializer

from services.common.settings import Settings


def make_client(settings: Settings, *, timeout: float = 30.0) -> AsyncElasticsearch:
    """A client for ``settings.es_url``; the caller closes it (see ``es_client``)."""
    return AsyncElasticsearch(
        settings.es_url,
        request_timeout=timeout,
        serializer=OrjsonSerializer(),  # several times faster than json for large replies
        # Retries are decided by callers (bulk has its own backoff); the client must not hide them.
        max_retries=0,
        retry_on_timeout=False,
        # One node: after an outage, try it again within a second, not after up to 30 s.
        max_dead_node_backoff=1.0,
    )


@asynccontextmanager
async def es_client(
    settings: Settings, *, timeout: float = 30.0
) -> AsyncIterator[AsyncElasticsearch]:
    """An async client that is closed on exit, whatever happens inside."""
    client = make_client(settings, timeout=timeout)
    try:
        yield client
    finally:
        await client.close()
