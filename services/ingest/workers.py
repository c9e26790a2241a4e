"""Files read, parsed and serialised on worker processes, handed back in input order."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from services.common.errors import ArticleRejected
from services.ingest.limits import InputLimits
from services.ingest.readers import Item, read_item
from services.ingest.verdict import Prepared, internal_error, parse_item

CHUNK = 250  # files per task handed to a parsing worker


def parse_files(
    paths: list[Path], limits: InputLimits
) -> list[tuple[Item, Prepared | ArticleRejected]]:
    """Read, parse and serialise files (in a worker process); only rejects keep their bytes.

    A skipped entry comes back as its Item (``skipped`` set, which the publisher only counts);
    a bug on one file is that file's ``internal_error``, not the loss of the chunk.
    """
    results: list[tuple[Item, Prepared | ArticleRejected]] = []
    for path in paths:
        item = read_item(path, limits.max_bytes)
        try:
            verdict = parse_item(item, limits)
        except Exception as exc:  # a bug on one file must not lose the whole chunk
            verdict = internal_error(exc, item.source)
        accepted = isinstance(verdict, Prepared)
        results.append((Item(b"", item.source) if accepted else item, verdict))
    return results


async def parsed_in_workers(
    paths: Iterable[Path], workers: int, limits: InputLimits
) -> AsyncIterator[list[tuple[Item, Prepared | ArticleRejected]]]:
    """Chunks of files read, parsed and serialised on ``workers`` processes, in input order."""
    loop = asyncio.get_running_loop()
    in_flight: deque[asyncio.Future[list[tuple[Item, Prepared | ArticleRejected]]]] = deque()
    with ProcessPoolExecutor(workers) as pool:
        for chunk in _chunks(paths, CHUNK):
            in_flight.append(loop.run_in_executor(pool, parse_files, chunk, limits))
            # A bounded number of chunks in flight keeps memory flat for any number of files.
            if len(in_flight) >= 2 * workers:
                yield await in_flight.popleft()
        while in_flight:
            yield await in_flight.popleft()


def _chunks(paths: Iterable[Path], size: int) -> Iterator[list[Path]]:
    chunk: list[Path] = []
    for path in paths:
        chunk.append(path)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
