"""Browser tests: Debian's Chromium driven by Playwright, against the API on the live stack.

The API app runs under uvicorn in a background thread on a free port; the index holds the
seed articles (and, for some tests, generated ones). Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from services.api.app import create_app
from services.bench.procs import free_port
from services.common.article import Article
from services.common.es import es_client
from services.common.settings import Settings
from services.indexer.mapping import ensure_index, to_document
from services.ingest.parser import parse_path
from tests.factories import REPO, seed_files

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, ViewportSize

CHROMIUM = Path(os.environ.get("NEWSWIRE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = REPO / "test-artifacts" / "browser"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 375, "height": 800}


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "needs the 'playwright' Python package (its browser download is not needed)"
    if not CHROMIUM.exists():
        return f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (the suite runs with --strict-markers)."""
    config.addinivalue_line("markers", "browser: drives a real Chromium through the web UI")


# ---- the index ----------------------------------------------------------------------------


def newest_per_id(articles: Iterable[Article]) -> list[Article]:
    """One article per id, the newest version (what an indexer leaves in the index)."""
    best: dict[str, Article] = {}
    for article in articles:
        if article.id not in best or article.version > best[article.id].version:
            best[article.id] = article
    return sorted(best.values(), key=lambda a: a.id)


def seed_articles() -> list[Article]:
    """The seed articles as the index holds them."""
    return newest_per_id(parse_path(path) for path in seed_files())


async def create_index(settings: Settings) -> None:
    """The empty index behind the alias, as the indexer creates it when it starts."""
    async with es_client(settings) as es:
        await ensure_index(es, settings)


async def index_articles(settings: Settings, articles: list[Article]) -> None:
    """Create the index behind the alias and write ``articles`` into it, then refresh."""
    async with es_client(settings) as es:
        await ensure_index(es, settings)
        operations: list[dict[str, Any]] = []
        for article in articles:
            operations.append({"index": {"_index": settings.index_alias, "_id": article.id}})
            operations.append(to_document(article))
        reply = await es.bulk(operations=operations, refresh=True)
        assert not reply["errors"], reply


async def drop_index(settings: Settings) -> None:
    """Delete the test's index (and with it the alias)."""
    async with es_client(settings) as es:
        if await es.indices.exists_alias(name=settings.index_alias):
            indices = await es.indices.get_alias(name=settings.index_alias)
            await es.indices.delete(index=",".join(indices.body))


@pytest.fixture
async def seeded(settings: Settings) -> AsyncIterator[list[Article]]:
    """The seed articles, indexed under the test's alias."""
    articles = seed_articles()
    await index_articles(settings, articles)
    yield articles
    await drop_index(settings)


# ---- the API server -----------------------------------------------------------------------


class ApiServer:
    """The API app under uvicorn in a thread of its own (with its own event loop)."""

    def __init__(self, settings: Settings) -> None:
        app = create_app(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on", ws="none"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="api", daemon=True)

    def __enter__(self) -> ApiServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start (see the log above)")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def api(settings: Settings) -> Iterator[ApiServer]:
    """The API, serving the UI, on a free port of the loopback."""
    with ApiServer(settings) as server:
        yield server


# ---- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the session."""
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    from playwright.async_api import async_playwright, expect

    # The live stack answers in milliseconds, but a busy CI machine may need more than 5 s.
    expect.set_options(timeout=15_000)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


class PageErrors(list[str]):
    """Uncaught exceptions and console errors of a page (failed HTTP statuses aside)."""

    def watch(self, page: Page) -> None:
        """Collect what ``page`` reports."""
        page.on("pageerror", lambda exc: self.append(f"uncaught: {exc}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # The browser logs every 4xx/5xx fetch; tests provoke some on purpose.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.append(f"console: {message.text}")


async def _new_page(browser: Browser, viewport: ViewportSize) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=viewport, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(15_000)
    page = await context.new_page()
    errors = PageErrors()
    errors.watch(page)
    try:
        yield page
    finally:
        await context.close()
    assert not errors, errors


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh desktop-sized page; fails the test on any script error it logged."""
    async for new in _new_page(browser, DESKTOP):
        yield new


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    """A fresh page 375 px wide, as on a phone."""
    async for new in _new_page(browser, PHONE):
        yield new


Shot = Callable[["Page", str], Awaitable[Path]]


@pytest.fixture
def shot() -> Shot:
    """Save a full-page screenshot as test-artifacts/browser/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    async def take(page: Page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        # Let pending layout and fonts settle so the picture shows what a person would see.
        await page.evaluate("() => new Promise((done) => requestAnimationFrame(() => done()))")
        await page.screenshot(path=str(path), full_page=True)
        return path

    return take


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 15.0, what: str = "condition"
) -> None:
    """Poll an async check until it holds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.2)
