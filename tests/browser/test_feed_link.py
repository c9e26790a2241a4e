"""The web UI's feed link in a real Chromium: it follows the search on screen and gives a feed."""

from __future__ import annotations

import re

import feedparser
import httpx
import pytest

from services.common.article import Article
from tests.browser.conftest import ApiServer, Shot, missing_browser
from tests.browser.test_ui import REFERENCE_ID, query_of

if missing_browser():
    pytest.skip(str(missing_browser()), allow_module_level=True)

from playwright.async_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.integration]


async def test_the_feed_link_follows_the_search_and_opens_as_a_feed(
    seeded: list[Article], api: ApiServer, page: Page, shot: Shot
) -> None:
    await page.goto(api.url)
    feed = page.get_by_role("link", name="Feed", exact=True)
    await expect(feed).to_have_attribute("href", "/v1/feed")

    await page.get_by_label("Search articles").fill("ballistic missiles")
    await page.keyboard.press("Enter")
    await expect(page.locator("#result-status")).to_contain_text("for “ballistic missiles”")
    await expect(feed).to_have_attribute("href", "/v1/feed?q=ballistic+missiles")
    await expect(feed).to_be_visible()
    alternate = page.locator('head link[rel="alternate"][type="application/atom+xml"]')
    await expect(alternate).to_have_attribute("href", "/v1/feed?q=ballistic+missiles")
    await expect(alternate).to_have_attribute("title", "Newswire: ballistic missiles")

    # A filter joins the feed's URL; the page's own sort and paging never do.
    await page.get_by_role("checkbox", name=re.compile(r"^world\b")).check()
    await expect(feed).to_have_attribute("href", re.compile(r"category=world"))
    await shot(page, "feed-1-link")
    href = await feed.get_attribute("href")
    assert href is not None
    assert query_of(href) == {"q": ["ballistic missiles"], "category": ["world"]}

    async with httpx.AsyncClient(base_url=api.url) as client:
        reply = await client.get(href)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(reply.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert [e.id for e in parsed.entries] == [f"urn:newswire:article:{REFERENCE_ID}"]
    shown = await page.locator("#result-list .result h3 a").first.get_attribute("href")
    assert shown is not None
    assert REFERENCE_ID in shown
    # The entry links to the article's page in this same UI.
    assert parsed.entries[0].link == f"{api.url}/?article={REFERENCE_ID}"
