"""The raw ``_bulk`` loader swept over requests in flight and bulk sizes: the real limit."""

from __future__ import annotations

import math
from typing import Any

from services.bench import measure
from services.common.es import es_client
from services.common.settings import Settings


def interleaved(in_flight: tuple[int, ...], sizes: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Every (in flight, size) pair, both changing at every step.

    On a shared machine the load drifts during a sweep: cells in nested order would give
    one factor the drift of the other. With lengths that share no factor, the k-th cell
    (``in_flight[k % a]``, ``sizes[k % b]``) meets every pair once (Chinese remainders).
    """
    a, b = len(in_flight), len(sizes)
    if math.gcd(a, b) != 1:
        raise ValueError("the two lists' lengths must share no factor")
    return tuple((in_flight[k % a], sizes[k % b]) for k in range(a * b))


# (requests in flight, documents per bulk) of each cell, in the order they run.
FULL = interleaved((1, 2, 3, 4), (500, 1000, 2000))
QUICK = interleaved((1, 2, 4), (1000, 2000))


def cells(quick: bool, one_in_flight_size: int) -> list[tuple[int, int]]:
    """The sweep of a run, always holding one request in flight at ``one_in_flight_size``."""
    chosen = list(QUICK if quick else FULL)
    if (1, one_in_flight_size) not in chosen:
        chosen.insert(0, (1, one_in_flight_size))
    return chosen


async def sweep(
    settings: Settings, docs: list[dict[str, Any]], plan: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    """Each cell on a fresh index, Elasticsearch settled first; the index dropped after."""
    table = []
    for in_flight, size in plan:
        cell = settings.model_copy(
            update={"index_alias": f"{settings.index_alias}-{in_flight}x{size}"}
        )
        await measure.settle(settings, timeout=30.0)
        rate = await measure.bench_raw_bulk(cell, docs, size, in_flight=in_flight)
        table.append({"in_flight": in_flight, "bulk_docs": size, "docs_per_s": rate})
        await _drop(cell)
    return table


async def _drop(settings: Settings) -> None:
    async with es_client(settings) as es:
        current = await es.indices.get_alias(name=settings.index_alias)
        await es.indices.delete(index=sorted(current.body))
