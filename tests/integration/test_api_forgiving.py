"""Search that finds what readers mean, on the live server: word forms, typos, relaxed words."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.common.article import Article
from services.common.settings import Settings
from tests.factories import make_article
from tests.integration.api_fixtures import index_corpus

pytestmark = pytest.mark.integration


def _story(lede: str, *more: str, date: str = "2024-06-01") -> Article:
    return make_article(lede=lede, paragraphs=[lede, *more], date=date, updated=None)


@pytest.fixture
async def stories(settings: Settings) -> dict[str, Article]:
    made = {
        "hunan": _story(
            "A flood swept through Hunan province on Tuesday after days of heavy rain.",
            "Rescuers said the river's banks gave way overnight.",
        ),
        "kidman": _story(
            "Nicole Kidman was nominated for a Golden Globe for her role as a judge.",
            "The nominations were announced in Beverly Hills.",
        ),
        "georgia": _story(
            "Georgia's parliament passed the bill despite weeks of protests in Tbilisi.",
        ),
        "bank": _story(
            "The Commonwealth Bank will cut 300 jobs in its Sydney offices, the lender said.",
        ),
        "pokemon": _story("A court fined a seller of counterfeit Pokémon cards."),
        "mexico": _story(
            "La elección presidencial de México dio la victoria a la primera presidenta.",
            "Los votantes acudieron a las urnas durante todo el día.",
        ),
    }
    await index_corpus(settings, list(made.values()))
    return made


async def _search(api: httpx.AsyncClient, q: str) -> dict[str, Any]:
    reply = await api.get("/v1/search", params={"q": q})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


@pytest.mark.parametrize(
    ("q", "story"),
    [
        ("hunan floods", "hunan"),  # plural in the query, singular in the story
        ("kidman golden globe nomination", "kidman"),  # nominated / nomination
        ("georgia parliament", "georgia"),  # the story has only "Georgia's"
        ("commonwealth bank job cuts", "bank"),  # jobs / job
        ("pokemon", "pokemon"),  # no accent in the query
        ("elecciones mexico", "mexico"),  # Spanish plural, no accent
    ],
)
async def test_word_forms_find_their_story_first_with_every_word(
    api: httpx.AsyncClient, stories: dict[str, Article], q: str, story: str
) -> None:
    body = await _search(api, q)
    assert body["items"][0]["id"] == stories[story].id
    assert body["matched"] == "all"
    assert body["typo_tolerant"] is False


async def test_highlights_mark_the_inflected_and_possessive_forms(
    api: httpx.AsyncClient, stories: dict[str, Article]
) -> None:
    body = await _search(api, "hunan floods")
    assert "<mark>flood</mark>" in body["items"][0]["title_html"]
    body = await _search(api, "georgia parliament")
    assert "<mark>Georgia&#x27;s</mark>" in body["items"][0]["title_html"]  # HTML-escaped


async def test_a_one_letter_typo_finds_the_story_and_suggests_the_word(
    api: httpx.AsyncClient, stories: dict[str, Article]
) -> None:
    body = await _search(api, "kidmann golden globe")
    assert body["items"][0]["id"] == stories["kidman"].id
    assert body["typo_tolerant"] is True
    assert body["matched"] == "all"
    assert body["did_you_mean"] == "kidman golden globe"


async def test_when_no_story_has_every_word_most_of_them_do(
    api: httpx.AsyncClient, stories: dict[str, Article]
) -> None:
    body = await _search(api, "commonwealth bank job cuts melbourne")
    assert body["matched"] == "most"
    assert body["items"][0]["id"] == stories["bank"].id
    body = await _search(api, "hunan zebra")
    assert body["matched"] == "any"
    assert [item["id"] for item in body["items"]] == [stories["hunan"].id]


async def test_phrases_plus_and_minus_are_never_relaxed(
    api: httpx.AsyncClient, stories: dict[str, Article]
) -> None:
    assert (await _search(api, 'hunan "golden flood"'))["total"]["value"] == 0
    assert (await _search(api, "hunan +zebra"))["total"]["value"] == 0
    body = await _search(api, "flood -hunan zebra")
    assert body["total"]["value"] == 0, "the exclusion holds at every level"
