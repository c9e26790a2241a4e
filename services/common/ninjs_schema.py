"""IPTC ninjs 2.x: validation against IPTC's published JSON Schema, kept in the repository."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, Final

import jsonschema
import orjson
import referencing
from referencing.jsonschema import DRAFT202012

NINJS_MEDIA_TYPE: Final = "application/ninjs+json"
SCHEMA_DIR = Path(__file__).resolve().parent / "schema" / "ninjs"
SCHEMA_PATH = SCHEMA_DIR / "ninjs-schema_2.2.json"
_GEOJSON_ID = "https://geojson.org/schema/GeoJSON.json"

# ninjs nests items in `associations`, and the schema validates them recursively: a hostile
# document nested a thousand deep would exhaust the validator's stack. Real items nest a few.
MAX_DEPTH: Final = 32
_MAX_PROBLEMS: Final = 3


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = orjson.loads(SCHEMA_PATH.read_bytes())
    geojson = orjson.loads((SCHEMA_DIR / "GeoJSON.json").read_bytes())
    # The one external reference resolves to the copy kept here: never a network fetch.
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(
        _GEOJSON_ID, DRAFT202012.create_resource(geojson)
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)


def depth(value: Any) -> int:
    """How deep containers nest in ``value`` (a scalar is 0), counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, level + 1))
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
    return deepest


def _where(error: jsonschema.ValidationError) -> str:
    return "/".join(str(part) for part in error.absolute_path) or "(document)"


def problems(document: Any) -> list[str]:
    """Why ``document`` is not valid ninjs 2.x (the first few reasons), or [] if it is."""
    if depth(document) > MAX_DEPTH:
        return [f"nested more than {MAX_DEPTH} levels deep"]
    found: Iterator[jsonschema.ValidationError] = _validator().iter_errors(document)
    reasons = []
    for error in found:
        reasons.append(f"{_where(error)}: {error.message}")
        if len(reasons) == _MAX_PROBLEMS:
            break
    return reasons
