"""The web UI in a real Chromium: search, facets, date chart, article view, pipeline page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from services.common.article import Article
from services.common.dlq import DeadLetter
from services.common.kafka import ensure_topics
from services.common.settings import Settings
from services.ingest.publisher import Publisher
from tests.browser.conftest import (
    ApiServer,
    Shot,
    create_index,
    drop_index,
    eventually,
    index_articles,
    missing_browser,
    seed_articles,
)
from tests.factories import make_articles
from tests.integration.pipeline_helpers import publish, running_indexer

if missing_browser():
    pytest.skip(str(missing_browser()), allow_module_level=True)

from playwright.async_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.integration]


REFERENCE_ID = "14d38489e204ff07"  # seeds/000: Iran's missiles, quoting one tweet


def query_of(url: str) -> dict[str, list[str]]:
    """The parsed query string of a URL."""
    return parse_qs(urlsplit(url).query)


async def result_categories(page: Page) -> list[str]:
    """The category shown on each result, lowercased."""
    texts = await page.locator("#result-list .result .category").all_inner_texts()
    return [t.strip().lower() for t in texts]


async def facet_count(page: Page, facet: str, value: str) -> int:
    """The count next to a facet checkbox."""
    label = page.locator(f"#{facet}-facet label").filter(
        has=page.locator(f'input[value="{value}"]')
    )
    return int((await label.locator(".count").inner_text()).replace(",", ""))


async def test_a_query_finds_the_seed_article_with_its_words_highlighted(
    seeded: list[Article], api: ApiServer, page: Page, shot: Shot
) -> None:
    await page.goto(api.url)
    await expect(page.locator("#result-status")).to_contain_text(f"{len(seeded)} results")
    await shot(page, "search-1-start")

    await page.get_by_label("Search articles").fill("ballistic missiles")
    await page.keyboard.press("Enter")
    await expect(page.locator("#result-status")).to_contain_text("for “ballistic missiles”")
    first = page.locator("#result-list .result").first
    await expect(first.locator("h3 a")).to_have_attribute("href", re.compile(REFERENCE_ID))
    marks = await first.locator(".snippet mark").all_inner_texts()
    assert {m.lower() for m in marks} & {"ballistic", "missiles"}, marks
    # The snippet is sanitized: <mark> is the only element inside it.
    tags = await first.locator(".snippet *").evaluate_all("els => els.map(e => e.tagName)")
    assert set(tags) == {"MARK"}
    await expect(first.locator(".tweet-badge")).to_be_visible()
    assert query_of(page.url)["q"] == ["ballistic missiles"]
    await shot(page, "search-2-highlighted")

    # The URL is the state: a fresh page on it shows the same results.
    await page.goto(page.url)
    await expect(page.get_by_label("Search articles")).to_have_value("ballistic missiles")
    await expect(page.locator("#result-list .result").first.locator("h3 a")).to_have_attribute(
        "href", re.compile(REFERENCE_ID)
    )


async def test_relaxed_matches_are_told_and_a_typo_gets_a_did_you_mean_link(
    seeded: list[Article], api: ApiServer, page: Page, shot: Shot
) -> None:
    notice = page.locator("#match-notice")
    await page.goto(f"{api.url}/?q=iran+missiles+zebrafish")
    await expect(notice).to_contain_text("No story has all your words; showing stories with most")
    first = page.locator("#result-list .result").first
    await expect(first.locator("h3 a")).to_have_attribute("href", re.compile(REFERENCE_ID))
    await shot(page, "forgiving-1-most-words")

    await page.get_by_label("Search articles").fill("balistic missiles")
    await page.keyboard.press("Enter")
    await expect(notice).to_contain_text("Nothing matched as typed")
    suggestion = page.locator("#did-you-mean")
    await expect(suggestion).to_have_text("ballistic missiles")
    await expect(first.locator("h3 a")).to_have_attribute("href", re.compile(REFERENCE_ID))
    await shot(page, "forgiving-2-did-you-mean")

    await suggestion.click()
    await expect(page.get_by_label("Search articles")).to_have_value("ballistic missiles")
    await expect(page.locator("#result-status")).to_contain_text("for “ballistic missiles”")
    await expect(notice).to_be_hidden()
    assert query_of(page.url)["q"] == ["ballistic missiles"]


async def test_ticking_categories_filters_results_and_keeps_disjunctive_counts(
    seeded: list[Article], api: ApiServer, page: Page, shot: Shot
) -> None:
    per_category: dict[str, int] = {}
    for article in seeded:
        per_category[article.category] = per_category.get(article.category, 0) + 1
    await page.goto(api.url)
    await expect(page.locator("#result-status")).to_contain_text(f"{len(seeded)} results")
    assert await facet_count(page, "category", "weather") == per_category["weather"]

    await page.get_by_role("checkbox", name=re.compile(r"^sports\b")).check()
    await expect(page.locator("#result-status")).to_contain_text("1 result.")
    assert await result_categories(page) == ["sports"]
    # Disjunctive: the other categories keep the counts they would add.
    assert await facet_count(page, "category", "weather") == per_category["weather"]
    assert query_of(page.url)["category"] == ["sports"]
    await shot(page, "facets-1-sports")

    await page.get_by_role("checkbox", name=re.compile(r"^world\b")).check()
    await expect(page.locator("#result-status")).to_contain_text("2 results")
    assert sorted(await result_categories(page)) == ["sports", "world"]
    assert sorted(query_of(page.url)["category"]) == ["sports", "world"]
    # The handle facet follows the category filter (only the world story quotes a tweet).
    await expect(page.locator("#handle-facet")).to_contain_text(
        re.compile("@realDonaldTrump", re.IGNORECASE)
    )
    await shot(page, "facets-2-sports-and-world")

    # Back undoes the last tick: URL, checkboxes and results.
    await page.go_back()
    await expect(page.locator("#result-status")).to_contain_text("1 result.")
    await expect(page.get_by_role("checkbox", name=re.compile(r"^world\b"))).not_to_be_checked()
    await page.get_by_role("button", name="Clear filters").click()
    await expect(page.locator("#result-status")).to_contain_text(f"{len(seeded)} results")


async def test_a_range_picked_on_the_chart_filters_by_date(
    seeded: list[Article], api: ApiServer, page: Page, shot: Shot
) -> None:
    await page.goto(f"{api.url}/?interval=year&sort=oldest")
    bars = page.locator("#histogram-chart g.bar")
    years = sorted({a.published_date.year for a in seeded})
    await expect(bars).to_have_count(years[-1] - years[0] + 1)
    await shot(page, "chart-1-years")

    # Drag with the mouse from the first year's bar to the second's.
    first = await bars.nth(0).locator("rect.hit").bounding_box()
    second = await bars.nth(1).locator("rect.hit").bounding_box()
    assert first is not None
    assert second is not None
    await page.mouse.move(first["x"] + first["width"] / 2, first["y"] + first["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(second["x"] + second["width"] / 2, second["y"] + 10, steps=5)
    await page.mouse.up()
    start, end = f"{years[0]}-01-01", f"{years[0] + 1}-12-31"
    await expect(page.get_by_label("From", exact=True)).to_have_value(start)
    await expect(page.get_by_label("To", exact=True)).to_have_value(end)
    inside = [a for a in seeded if start <= a.published_date.isoformat() <= end]
    await expect(page.locator("#result-status")).to_contain_text(f"{len(inside)} results")
    times = await page.locator("#result-list .result time").evaluate_all(
        "els => els.map(e => e.getAttribute('datetime'))"
    )
    assert times
    assert all(start <= t <= end for t in times)
    await shot(page, "chart-2-dragged")

    # Keyboard only: clear, then Enter on the last year's bar twice (a one-bar range).
    await page.get_by_role("button", name="Clear dates").click()
    await expect(page.locator("#result-status")).to_contain_text(f"{len(seeded)} results")
    await page.goto(f"{api.url}/?interval=year")
    await bars.first.focus()
    await page.keyboard.press("End")
    await page.keyboard.press("Enter")
    await expect(page.locator("#histogram-range")).to_contain_text("Now pick the last bar")
    await page.keyboard.press("Enter")
    last_year = years[-1]
    await expect(page.get_by_label("From", exact=True)).to_have_value(f"{last_year}-01-01")
    await expect(page.get_by_label("To", exact=True)).to_have_value(f"{last_year}-12-31")
    in_last = [a for a in seeded if a.published_date.year == last_year]
    await expect(page.locator("#result-status")).to_contain_text(
        f"{len(in_last)} result" + ("s" if len(in_last) != 1 else ".")
    )
    # The redrawn chart keeps the keyboard focus, on the bar picked last.
    focused = await page.evaluate("() => document.activeElement.getAttribute('aria-label')")
    assert focused.startswith(str(last_year))
    await shot(page, "chart-3-keyboard")


async def test_an_article_shows_its_paragraphs_tweet_and_related_stories(
    seeded: list[Article], api: ApiServer, page: Page, shot: Shot
) -> None:
    reference = next(a for a in seeded if a.id == REFERENCE_ID)
    await page.goto(f"{api.url}/?q=ballistic")
    await page.locator(f'#result-list a[href*="article={REFERENCE_ID}"]').click()
    await expect(page.locator("#article-title")).to_have_text(reference.title)
    assert query_of(page.url)["article"] == [REFERENCE_ID]
    assert query_of(page.url)["q"] == ["ballistic"]
    paragraphs = page.locator("#article .article-body > p")
    assert await paragraphs.count() == reference.body.count("\n\n") + 1 - len(reference.tweets)
    tweet = page.locator("#article blockquote.tweet")
    await expect(tweet).to_have_count(1)
    await expect(tweet).to_contain_text(reference.tweets[0].text)
    await expect(tweet.locator("cite")).to_have_text(reference.tweets[0].author)
    related = page.locator("#related-list a")
    await expect(related.first).to_be_visible()
    assert REFERENCE_ID not in (await related.first.get_attribute("href") or "")
    await shot(page, "article-1-view")

    # A related story opens in place; back, then the back link, return to the search.
    await related.first.click()
    await expect(page.locator("#article-title")).not_to_have_text(reference.title)
    await page.go_back()
    await expect(page.locator("#article-title")).to_have_text(reference.title)
    await page.get_by_role("link", name="Back to results").click()
    await expect(page.locator("#search-view")).to_be_visible()
    await expect(page.get_by_label("Search articles")).to_have_value("ballistic")

    # An unknown id: the problem's detail, inline.
    await page.goto(f"{api.url}/?article=0000000000000000")
    await expect(page.locator("#article-problem .problem")).to_contain_text("404")
    await shot(page, "article-2-not-found")


async def test_api_problems_are_shown_inline_with_their_detail(
    seeded: list[Article], api: ApiServer, page: Page, shot: Shot
) -> None:
    # An impossible date passes the form (typed into the URL) and the API rejects it.
    await page.goto(f"{api.url}/?from=2020-02-31")
    problem = page.locator("#search-problem .problem")
    await expect(problem).to_be_visible()
    await expect(problem).to_contain_text(re.compile(r"\(4\d\d\)"))
    await expect(page.locator("#result-status")).to_have_text("The search failed.")
    await shot(page, "problem-1-inline")


@pytest.fixture
async def many(settings: Settings) -> AsyncIterator[list[Article]]:
    """The seeds plus 45 generated articles: three pages of results."""
    articles = seed_articles() + make_articles(45, date="2024-03-05", category="local")
    await index_articles(settings, articles)
    yield articles
    await drop_index(settings)


async def test_more_results_come_by_scrolling_and_by_the_button(
    many: list[Article], api: ApiServer, page: Page, shot: Shot
) -> None:
    await page.goto(f"{api.url}/?sort=newest")
    results = page.locator("#result-list .result")
    await expect(results).to_have_count(20)
    await page.locator("#sentinel").scroll_into_view_if_needed()
    await expect(results).to_have_count(40)
    # The button, for keyboard users: focus moves to the first new result.
    more = page.get_by_role("button", name="More results")
    await more.focus()
    await page.keyboard.press("Enter")
    await expect(results).to_have_count(len(many))
    await expect(more).to_be_hidden()
    focused = await page.evaluate("() => document.activeElement.closest('li')?.className")
    assert focused == "result"
    ids = await results.locator("h3 a").evaluate_all("els => els.map(e => e.dataset.id)")
    assert len(set(ids)) == len(many)
    await shot(page, "more-1-all-pages")


async def test_the_search_page_fits_a_phone_and_is_labelled(
    seeded: list[Article], api: ApiServer, phone: Page, shot: Shot
) -> None:
    await phone.goto(f"{api.url}/?q=iran")
    await expect(phone.locator("#result-list .result").first).to_be_visible()
    width = await phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375
    # One column: the facets sit above the results, folded.
    facets = await phone.locator(".facets").bounding_box()
    results = await phone.locator(".results").bounding_box()
    assert facets is not None
    assert results is not None
    assert facets["y"] + facets["height"] <= results["y"]
    await expect(phone.locator("#category-facet")).to_be_hidden()
    await phone.get_by_text("Refine results").click()
    await expect(phone.locator("#category-facet")).to_be_visible()
    # Every form control has an accessible name; the page has a language and landmarks.
    unnamed = await phone.evaluate(
        """() => [...document.querySelectorAll('input, select, button')]
             .filter(e => !e.labels?.length && !e.getAttribute('aria-label'))
             .filter(e => !e.textContent.trim())
             .map(e => e.outerHTML)"""
    )
    assert unnamed == []
    assert await phone.get_attribute("html", "lang") == "en"
    for role in ("banner", "main", "navigation", "search", "contentinfo"):
        await expect(phone.get_by_role(role).first).to_be_attached()
    await expect(phone.locator("#result-status")).to_have_attribute("aria-live", "polite")
    await shot(phone, "phone-1-search")

    await phone.locator("#result-list .result h3 a").first.click()
    await expect(phone.locator("#article-title")).to_be_visible()
    width = await phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375
    await shot(phone, "phone-2-article")

    await phone.goto(f"{api.url}/pipeline")
    await expect(phone.locator("#live")).to_contain_text("Live")
    width = await phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375
    await shot(phone, "phone-3-pipeline")


async def total_lag(page: Page) -> int | None:
    """The total lag the pipeline page shows (None until it shows a number)."""
    text = (await page.locator("#total-lag").inner_text()).replace(",", "")
    return int(text) if text.isdigit() else None


async def test_the_pipeline_page_shows_backlog_catch_up_then_a_growing_lag(
    settings: Settings, page: Page, shot: Shot
) -> None:
    seeds = seed_articles()
    more = make_articles(30, date=date(2024, 6, 1))

    async def lag_is(check: Callable[[int], bool]) -> bool:
        lag = await total_lag(page)
        return lag is not None and check(lag)

    # Topics and index exist before anything arrives, as the ingest and indexer make them.
    await ensure_topics(settings)
    await create_index(settings)
    try:
        with ApiServer(settings) as api:
            await page.goto(f"{api.url}/pipeline")
            await expect(page.locator("#live")).to_contain_text("Live")
            # A backlog: the seeds arrive while no indexer runs.
            await publish(settings, seeds)
            await eventually(lambda: lag_is(lambda n: n == len(seeds)), 30, "the backlog")
            await expect(page.locator("#partitions tbody tr")).to_have_count(
                settings.topic_partitions
            )
            await expect(page.locator("#ingest-chart polyline")).to_be_attached()
            await shot(page, "pipeline-1-backlog")

            async with running_indexer(settings):
                await eventually(lambda: lag_is(lambda n: n == 0), 60, "lag 0 after catch-up")
                await expect(page.locator("#doc-count")).to_have_text(str(len(seeds)))
                await expect(page.locator("#partitions .badge.status-OK")).to_have_count(
                    settings.topic_partitions
                )
                await expect(page.locator("#health .badge.status-up").first).to_be_visible()
                await asyncio.sleep(4)  # two more polls: the indexing rate falls back to 0
                await shot(page, "pipeline-2-caught-up")

            # The indexer is stopped: what is published now waits, burst after burst.
            for burst in range(3):
                await publish(settings, more[burst * 10 : burst * 10 + 10])
                wanted = 10 * burst + 10

                def grown(n: int = wanted) -> Awaitable[bool]:
                    return lag_is(lambda lag: lag == n)

                await eventually(grown, 30, "lag growth")
                await asyncio.sleep(3)
            lags = await page.locator("#partitions tbody .lag").all_inner_texts()
            assert sum(int(t.replace(",", "")) for t in lags) == len(more)
            await expect(page.locator("#partitions .badge.status-STOP").first).to_be_visible()
            await shot(page, "pipeline-3-growing-lag")
    finally:
        await drop_index(settings)


async def test_the_pipeline_page_shows_rejects_only_with_the_operator_key(
    settings: Settings, page: Page, shot: Shot
) -> None:
    key = "operator-key-of-this-test"
    await ensure_topics(settings)
    async with Publisher(settings) as publisher:
        letter = DeadLetter(b"junk", "malformed_header", "no header", "inbox/junk.txt", "ingest")
        await (await publisher.dead_letter(letter))
    rejects = page.locator("#dlq-latest")
    with ApiServer(settings.model_copy(update={"operator_key": SecretStr(key)})) as api:
        await page.goto(f"{api.url}/pipeline")
        # No key yet: the page says what it needs instead of failing (and asks for nothing).
        await expect(rejects).to_contain_text("needs the operator key")
        await page.fill("#operator-key", "wrong")
        await page.click("#operator-form button[type=submit]")
        await expect(rejects).to_contain_text("not accepted")
        await page.fill("#operator-key", key)
        await page.click("#operator-form button[type=submit]")
        await expect(rejects).to_contain_text("malformed_header")
        await expect(rejects).to_contain_text("inbox/junk.txt")
        await shot(page, "pipeline-4-rejects-with-key")
        await page.reload()  # the key stays for the tab (sessionStorage)
        await expect(rejects).to_contain_text("malformed_header")
        await page.click("#operator-forget")
        await expect(rejects).to_contain_text("needs the operator key")


async def test_a_story_in_two_copies_is_one_hit_with_a_more_versions_control(
    settings: Settings, api: ApiServer, page: Page, shot: Shot
) -> None:
    from services.common.es import es_client
    from services.indexer.mapping import ensure_index, to_document
    from tests.integration.test_stories import story_articles

    first, rewrite = story_articles("iran_missiles_a1", "iran_missiles_a2")
    async with es_client(settings) as es:
        await ensure_index(es, settings)
        for article in (first, rewrite):
            # The story the indexer gives two rewrites of one story (tests/integration).
            doc = {**to_document(article), "story_id": first.id}
            await es.index(index=settings.index_alias, id=article.id, document=doc)
        await es.indices.refresh(index=settings.index_alias)
    try:
        await page.goto(f"{api.url}/?q=Erbil")
        results = page.locator("#result-list .result")
        await expect(results).to_have_count(1)
        control = results.first.locator(".more-versions")
        await expect(control).to_have_text("1 more version of this story")
        await expect(control).to_have_attribute("aria-expanded", "false")
        await control.click()
        await expect(control).to_have_attribute("aria-expanded", "true")
        shown = results.first.locator("h3 a")
        other = rewrite if first.id in (await shown.get_attribute("href") or "") else first
        copies = results.first.locator(".story-versions li a")
        await expect(copies).to_have_count(1)
        await expect(copies.first).to_have_attribute("href", re.compile(other.id))
        await shot(page, "story-versions-open")
        await control.click()
        await expect(results.first.locator(".story-versions")).to_be_hidden()
    finally:
        await drop_index(settings)
