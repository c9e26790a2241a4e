"""Saved searches kept in Elasticsearch: their index, and create, read, list and delete.

An index, not a new database: alerts survive restarts with the articles they watch, and a
deployment backs them up the same way. Writes refresh at once, so the matcher (which reads
them again at most ``alerts_reload_ms`` later) sees an alert made just before an article.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, Final

from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError

from services.common.alerts import Alert, AlertSpec, new_alert_id
from services.common.errors import NotFound, QueryError
from services.common.es import boundary, error_types
from services.common.settings import Settings

_KEYWORD: Final = {"type": "keyword"}
# Only what is looked up is indexed; the rest rides in _source.
ALERTS_MAPPING: Final = {
    "dynamic": False,
    "properties": {"id": _KEYWORD, "created_at": {"type": "date"}},
}
MATCHES_MAPPING: Final = {
    "dynamic": False,
    "properties": {"alert_id": _KEYWORD, "article_id": _KEYWORD, "version": {"type": "long"}},
}
DELIVERIES_MAPPING: Final = {
    "dynamic": False,
    "properties": {
        "delivery_id": _KEYWORD,
        "alert_id": _KEYWORD,
        "status": _KEYWORD,
        "next_at": {"type": "date"},
        "created_at": {"type": "date"},
        "attempts": {"type": "integer"},
    },
}
# One shard; a replica from two nodes on, as the article index: a node going away must not
# take saved searches, match states or the outbox with it.
_SETTINGS: Final = {"number_of_shards": 1, "number_of_replicas": 0, "auto_expand_replicas": "0-1"}


async def ensure_alert_indices(es: AsyncElasticsearch, settings: Settings) -> None:
    """Create the alerts, matches and deliveries indices when missing (idempotent)."""
    wanted = {
        settings.alerts_index: ALERTS_MAPPING,
        settings.alert_matches_index: MATCHES_MAPPING,
        settings.deliveries_index: DELIVERIES_MAPPING,
    }
    with boundary("cannot create the alert indices"):
        for index, mapping in wanted.items():
            if await es.indices.exists(index=index):
                replicas = {"auto_expand_replicas": _SETTINGS["auto_expand_replicas"]}
                await es.indices.put_settings(index=index, settings=replicas)  # made before it
                continue
            try:
                await es.indices.create(index=index, mappings=mapping, settings=_SETTINGS)
            except BadRequestError as exc:  # another process made it in between: the goal
                if "resource_already_exists_exception" not in error_types(exc.body):
                    raise


async def create_alert(es: AsyncElasticsearch, settings: Settings, spec: AlertSpec) -> Alert:
    """Store a new saved search; it gets an id and, with a webhook, a secret."""
    with boundary("cannot count the saved searches"):
        count = await es.count(index=settings.alerts_index)
    if int(count["count"]) >= settings.alerts_max:
        raise QueryError(
            f"this deployment holds at most {settings.alerts_max} saved searches",
            code="too_many_alerts",
        )
    alert = Alert(
        **spec.model_dump(by_alias=True),
        id=new_alert_id(secrets.token_bytes(16)),
        created_at=datetime.now(UTC),
        secret=secrets.token_hex(32) if spec.webhook_url is not None else None,
    )
    with boundary("cannot store the saved search"):
        await es.index(
            index=settings.alerts_index,
            id=alert.id,
            document=alert.model_dump(mode="json", by_alias=True),
            op_type="create",
            refresh=True,
        )
    return alert


async def get_alert(es: AsyncElasticsearch, settings: Settings, alert_id: str) -> Alert:
    """One saved search; NotFound when there is none of that id."""
    with boundary("cannot read the saved search"):
        try:
            reply = await es.get(index=settings.alerts_index, id=alert_id)
        except NotFoundError as exc:  # no such alert, or no alert index yet: the same to callers
            raise _missing(alert_id) from exc
    return Alert.model_validate(reply["_source"])


async def list_alerts(es: AsyncElasticsearch, settings: Settings) -> list[Alert]:
    """Every saved search, oldest first."""
    with boundary("cannot list the saved searches"):
        reply = await es.search(
            index=settings.alerts_index,
            size=settings.alerts_max,
            sort=[{"created_at": "asc"}, {"id": "asc"}],
            query={"match_all": {}},
        )
    return [Alert.model_validate(hit["_source"]) for hit in reply["hits"]["hits"]]


async def alerts_signature(es: AsyncElasticsearch, settings: Settings) -> tuple[int, str | None]:
    """How many saved searches there are, and the newest one's creation time."""
    with boundary("cannot count the saved searches"):
        reply = await es.search(
            index=settings.alerts_index,
            size=0,
            track_total_hits=True,
            aggs={"newest": {"max": {"field": "created_at"}}},
        )
    newest = reply["aggregations"]["newest"].get("value_as_string")
    return int(reply["hits"]["total"]["value"]), newest


async def delete_alert(es: AsyncElasticsearch, settings: Settings, alert_id: str) -> None:
    """Delete a saved search (its events stay on the topic); NotFound when there is none."""
    with boundary("cannot delete the saved search"):
        try:
            await es.delete(index=settings.alerts_index, id=alert_id, refresh=True)
        except NotFoundError as exc:
            raise _missing(alert_id) from exc


def _missing(alert_id: str) -> NotFound:
    return NotFound(f"no saved search {alert_id}", code="alert_not_found")


async def deliveries(
    es: AsyncElasticsearch, settings: Settings, alert_id: str, size: int = 100
) -> list[dict[str, Any]]:
    """An alert's webhook deliveries, newest first, with each attempt's outcome."""
    with boundary("cannot read the deliveries"):
        reply = await es.search(
            index=settings.deliveries_index,
            size=size,
            query={"term": {"alert_id": alert_id}},
            sort=[{"created_at": "desc"}, {"delivery_id": "asc"}],
            source_excludes=["body"],
        )
    return [hit["_source"] for hit in reply["hits"]["hits"]]
