"""Text analysis on the live server: word forms, possessives, accents, Spanish; searched for real.

The plugin gives the local stack and the compose image the same filters, so these tokens are
what both deployments produce (the compose image builds the same plugin from the same source).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import pytest
from elasticsearch import AsyncElasticsearch

from services.api.app import create_app
from services.common.es import es_client
from services.common.settings import Settings
from services.indexer.mapping import ensure_index, to_document
from tests.factories import make_article
from tests.integration.pipeline_helpers import asgi_client

pytestmark = pytest.mark.integration

# word -> the token the news_text analyzer must make of it
ENGLISH = {
    "Georgia's": "georgia",
    "floods": "flood",
    "flooded": "flood",
    "resigns": "resign",
    "resigned": "resign",
    "nomination": "nomin",
    "nominated": "nomin",
    "Tigers": "tiger",
    "jobs": "job",
    "stoning": "stone",
    "stoned": "stone",
    "startups": "startup",
    "employees": "employe",
    "Pokémon": "pokemon",
    "Pokemon": "pokemon",
    "São": "sao",
    "naïve": "naiv",
}
SPANISH = {
    "elecciones": "eleccion",
    "elección": "eleccion",
    "huracanes": "huracan",
    "huracán": "huracan",
    "día": "dia",
    "días": "dia",
}


@pytest.fixture
async def es(settings: Settings) -> AsyncIterator[AsyncElasticsearch]:
    async with es_client(settings) as client:
        await ensure_index(client, settings)
        yield client


async def _tokens(es: AsyncElasticsearch, index: str, analyzer: str, text: str) -> list[str]:
    reply = await es.indices.analyze(index=index, analyzer=analyzer, text=text)
    return [t["token"] for t in reply["tokens"]]


async def test_english_word_forms_possessives_and_accents(
    es: AsyncElasticsearch, settings: Settings
) -> None:
    got = {w: await _tokens(es, settings.index_alias, "news_text", w) for w in ENGLISH}
    assert got == {w: [t] for w, t in ENGLISH.items()}
    assert await _tokens(es, settings.index_alias, "news_text", "the floods of the year") == [
        "flood",
        "year",
    ], "English stop words are dropped"


async def test_spanish_is_stemmed_and_folded_as_spanish(
    es: AsyncElasticsearch, settings: Settings
) -> None:
    got = {w: await _tokens(es, settings.index_alias, "news_spanish", w) for w in SPANISH}
    assert got == {w: [t] for w, t in SPANISH.items()}
    assert await _tokens(es, settings.index_alias, "news_spanish", "las elecciones de la") == [
        "eleccion"
    ], "Spanish stop words are dropped"


async def test_an_inflected_or_possessive_query_finds_its_story(
    es: AsyncElasticsearch, settings: Settings
) -> None:
    story = make_article(
        lede="Georgia's capital saw the worst flood in decades as the river rose overnight.",
        paragraphs=[
            "Georgia's capital saw the worst flood in decades as the river rose overnight.",
            "The mayor resigned after Pokémon fans were stranded.",
        ],
    )
    spanish = make_article(
        lede="La elección del nuevo alcalde de Bogotá se celebró el domingo con calma.",
        paragraphs=[
            "La elección del nuevo alcalde de Bogotá se celebró el domingo con calma.",
            "Los votantes acudieron a las urnas durante todo el día.",
        ],
    )
    assert spanish.language == "es"
    for article in (story, spanish):
        await es.index(index=settings.index_alias, id=article.id, document=to_document(article))
    await es.indices.refresh(index=settings.index_alias)

    async def found(query: Mapping[str, object]) -> list[str]:
        reply = await es.search(index=settings.index_alias, query=query)
        return [h["_id"] for h in reply["hits"]["hits"]]

    for words in ("georgia floods", "mayor resigns", "pokemon", "flooded georgias"):
        match = {"match": {"body": {"query": words, "operator": "and"}}}
        assert await found(match) == [story.id], words
    for words in ("elecciones bogota", "eleccion alcaldes"):
        match = {"match": {"text_es": {"query": words, "operator": "and"}}}
        assert await found(match) == [spanish.id], words
    # The Spanish field is only filled for Spanish articles, and never shown as article data.
    english = await es.get(index=settings.index_alias, id=story.id)
    assert "text_es" not in english["_source"]
    async with asgi_client(create_app(settings), "http://api") as api:
        shown = (await api.get(f"/v1/articles/{spanish.id}")).json()
    assert shown["title"] == spanish.title
    assert "text_es" not in shown
