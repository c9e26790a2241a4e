"""A stored article as IPTC ninjs 2.2 (``Accept: application/ninjs+json``)."""

from __future__ import annotations

from typing import Any, Final

NINJS_SCHEMA_URI: Final = "http://www.iptc.org/std/ninjs/ninjs-schema_2.2.json#"
_URN: Final = "urn:newswire:article:"


def _version_time(doc: dict[str, Any]) -> str:
    """When this version was made: its update time, else its day at 00:00 UTC."""
    updated = doc.get("updated_at")
    return str(updated) if updated else f"{doc['published_date']}T00:00:00.000Z"


def to_ninjs(doc: dict[str, Any]) -> dict[str, Any]:
    """ninjs 2.2 of one stored article (its ``_source``); valid against IPTC's schema."""
    item: dict[str, Any] = {
        "standard": {"name": "ninjs", "version": "2.2", "schema": NINJS_SCHEMA_URI},
        "uri": doc.get("uri") or f"{_URN}{doc['id']}",
        "type": "text",
        "representationtype": "full",
        "version": str(doc["version"]),  # the external version the indexer stored
        "firstcreated": f"{doc['published_date']}T00:00:00.000Z",
        "versioncreated": _version_time(doc),
        "pubstatus": "usable",
        "language": doc["language"],
        "headlines": [{"role": "main", "value": doc["title"]}],
        "descriptions": [{"role": "summary", "value": doc["summary"]}],
        "bodies": [{"role": "main", "contenttype": "text/plain", "value": doc["body"]}],
        "subjects": [{"name": doc["category"], "rel": "category"}]
        + [{"name": name} for name in doc.get("subjects") or ()],
        "altids": [{"role": "newswire", "value": doc["id"]}],
    }
    for field, key in (("embargoed", "embargoed"), ("urgency", "urgency"), ("byline", "by")):
        if doc.get(field) is not None:
            item[key] = doc[field]
    return item
