"""Run a worker beside its HTTP endpoints in one event loop, stopped cleanly by SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI

log = structlog.get_logger(__name__)
GRACE_S = 10


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the service decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    app: FastAPI,
    *,
    host: str,
    port: int,
    worker: Callable[[asyncio.Event], Coroutine[Any, Any, None]] | None = None,
    options: dict[str, Any] | None = None,
) -> None:
    """Serve ``app`` (extra uvicorn ``options``) and run ``worker(stop)`` until a signal.

    ``app.state.stopping`` is set when the service is asked to stop: a response that would
    stay open (an event stream) ends on it, so the server's graceful shutdown can finish.
    """
    stop = asyncio.Event()
    app.state.stopping = stop
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # A connection still open past the grace time is cut: a stop must never wait forever.
    settings = {"timeout_graceful_shutdown": GRACE_S, **(options or {})}
    config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on", **settings)
    server = _QuietServer(config)
    http = asyncio.create_task(server.serve(), name="http")
    tasks = [http]
    if worker is not None:
        tasks.append(asyncio.create_task(worker(stop), name="worker"))
    waiter = asyncio.create_task(stop.wait(), name="stop")
    done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
    stop.set()  # the worker drains on this: finish the batch, commit, leave the group
    for task in done:
        if task is not waiter and not task.cancelled() and task.exception() is not None:
            log.error("task failed", task=task.get_name(), error=repr(task.exception()))
    if worker is not None:
        await asyncio.gather(tasks[1], return_exceptions=True)
    server.should_exit = True
    await asyncio.gather(http, return_exceptions=True)
    waiter.cancel()


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a service's main coroutine on uvloop when installed (markedly faster I/O)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        asyncio.run(main())
        return
    uvloop.run(main())
