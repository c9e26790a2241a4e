"""A corpus indexed on the live Elasticsearch and the API app in front of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.api.app import create_app
from services.common.article import Article
from services.common.es import es_client
from services.common.settings import Settings
from services.indexer.mapping import ensure_index, to_document
from tests.factories import make_article, tweet_paragraph
from tests.integration.pipeline_helpers import asgi_client

CORPUS_SPECS = [
    # (category, date, lede, tweets)
    (
        "world",
        "2020-01-08",
        "Iran launched ballistic missiles at two bases in Iraq hosting US troops.",
        [("All is well!", "Donald J. Trump", "realDonaldTrump", "2020-01-08")],
    ),
    (
        "world",
        "2020-01-09",
        "The Pentagon assessed damage after the Iranian missile strikes on Iraq.",
        [],
    ),
    ("world", "2020-02-14", "Diplomats met in Geneva to discuss a ceasefire along the border.", []),
    (
        "business",
        "2020-01-10",
        "Oil prices jumped after the missile strikes rattled markets.",
        [("Markets are calm.", "Reuters", "Reuters", "2020-01-10")],
    ),
    (
        "business",
        "2021-03-02",
        "The central bank kept interest rates unchanged amid inflation.",
        [],
    ),
    (
        "sports",
        "2021-06-20",
        "The cricket final ended in a dramatic super over at Lord's.",
        [("What a match!", "Sachin Tendulkar", "sachin_rt", "2021-06-20")],
    ),
    ("sports", "2022-07-01", "A marathon runner broke the course record in heavy rain.", []),
    (
        "science and tech",
        "2022-09-15",
        "Scientists launched a satellite to study monsoon rainfall.",
        [("Liftoff!", "ISRO", "isro", "2022-09-15")],
    ),
    ("science and tech", "2023-01-05", "A startup raised funding for solar power storage.", []),
    ("health", "2023-04-11", "Hospitals reported fewer patients as the vaccine campaign grew.", []),
]


def corpus() -> list[Article]:
    """Ten articles with known categories, dates, handles and distinctive words."""
    articles = []
    for category, day, lede, tweets in CORPUS_SPECS:
        paragraphs = [lede, f"More reporting on this {category} story follows here."]
        paragraphs += [
            tweet_paragraph(text, author, handle, posted) for text, author, handle, posted in tweets
        ]
        articles.append(
            make_article(category=category, date=day, updated=None, paragraphs=paragraphs)
        )
    return articles


async def index_corpus(settings: Settings, articles: list[Article]) -> None:
    """Create the index and write the articles, visible to search."""
    async with es_client(settings) as es:
        await ensure_index(es, settings)
        for article in articles:
            await es.index(index=settings.index_alias, id=article.id, document=to_document(article))
        await es.indices.refresh(index=settings.index_alias)


@pytest.fixture
async def indexed(settings: Settings) -> list[Article]:
    """The corpus, indexed under this test's alias."""
    articles = corpus()
    await index_corpus(settings, articles)
    return articles


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the API app (lifespan run) for this test's settings."""
    async with asgi_client(create_app(settings), "http://api") as client:
        yield client
