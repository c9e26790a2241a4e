"""The ingest under a burst: 500 concurrent 1 MB uploads, then 400 slow connections; peak RSS.

Traffic goes to the ingest service this bench starts on the loopback only; every loop is
bounded in count and time.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from services.bench.procs import Child
from services.common.settings import Settings

MB = 1024 * 1024
RETRIES = 120  # per upload, each after the Retry-After the ingest asked for


def big_article(number: int, size: int) -> bytes:
    """A seed-format article of about ``size`` bytes (distinct per ``number``)."""
    head = f"date 2024-03-0{1 + number % 9} world\n\nBurst story {number} about the floods.\n\n"
    words = " ".join(f"w{(number * 31 + n) % 9973}" for n in range(size // 6))
    return (head + words[: max(0, size - len(head))]).encode()


async def _uploads(port: int, key: str, count: int, size: int) -> Counter[str]:
    """``count`` uploads all at once; what each was answered in the end.

    Each client does what a polite one does with a 503: waits ``Retry-After`` and sends again,
    up to ``RETRIES`` times, so the figures say whether the whole burst gets in.
    """
    url = f"http://127.0.0.1:{port}/v1/articles"
    headers = {"content-type": "text/plain", "authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    answers: Counter[str] = Counter()
    async with httpx.AsyncClient(limits=limits, timeout=120.0) as client:

        async def one(n: int) -> None:
            body = big_article(n, size)
            try:
                for _ in range(RETRIES):
                    reply = await client.post(url, content=body, headers=headers)
                    if reply.status_code != 503:
                        break
                    answers["503 (retried)"] += 1
                    await asyncio.sleep(float(reply.headers.get("retry-after", "1")))
                answers[str(reply.status_code)] += 1
            except httpx.HTTPError as exc:
                answers[type(exc).__name__] += 1

        await asyncio.gather(*(one(n) for n in range(count)))
    return answers


async def _slow(port: int, key: str, count: int, seconds: float) -> Counter[str]:
    """``count`` connections that declare 1 MB and trickle it; what each was answered."""
    answers: Counter[str] = Counter()

    async def one(n: int) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            answers["refused"] += 1
            return
        head = (
            f"POST /v1/articles HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: text/plain\r\n"
            f"authorization: Bearer {key}\r\ncontent-length: {MB}\r\n\r\n"
        )
        try:
            writer.write(head.encode() + big_article(n, 4096))
            deadline = time.monotonic() + seconds
            line = b""
            while time.monotonic() < deadline and not line:
                try:
                    line = await asyncio.wait_for(reader.readline(), 1.0)
                except TimeoutError:
                    writer.write(b"x" * 1024)  # a slow writer, never done
                    await writer.drain()
            answers[line.split(b" ")[1].decode() if line.count(b" ") else "no answer"] += 1
        except (OSError, IndexError):
            answers["reset"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(one(n) for n in range(count)))
    return answers


def bench_burst(
    settings: Settings,
    work: Path,
    *,
    uploads: int = 500,
    size: int = 1_000_000,
    slow: int = 400,
    slow_seconds: float = 30.0,
) -> dict[str, Any]:
    """Peak RSS of the ingest service and its answers under each load."""
    key = secrets.token_urlsafe(24)
    s = settings.model_copy(update={"api_key": SecretStr(key)})
    report: dict[str, Any] = {"uploads": uploads, "upload_bytes": size, "slow_connections": slow}
    loads: dict[str, Callable[[], Coroutine[Any, Any, Counter[str]]]] = {
        "burst": lambda: _uploads(s.ingest_port, key, uploads, size),
        "slow": lambda: _slow(s.ingest_port, key, slow, slow_seconds),
    }
    for name, load in loads.items():
        child = Child("services.ingest", s, work / f"ingest-{name}.log")
        child.start()
        try:
            child.wait_ready(s.ingest_port)
            started = time.perf_counter()
            answers = asyncio.run(load())
            report[f"{name}_seconds"] = round(time.perf_counter() - started, 1)
        finally:
            child.stop()
        report[f"{name}_answers"] = dict(sorted(answers.items()))
        report[f"{name}_peak_rss_mb"] = round(child.peak_rss / MB, 1)
    return report
