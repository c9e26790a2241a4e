"""What chaos scenarios stream: corpus articles, poison that Elasticsearch refuses, big bursts."""

from __future__ import annotations

import json
import random
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field

import orjson

from services.bench.measure import bench_parse
from services.common.article import Article
from services.common.dlq import H_CODE, H_SOURCE, decode_headers
from services.common.es import es_client
from services.common.kafka import make_consumer
from services.common.settings import Settings
from services.indexer.mapping import source_version
from services.ingest.parser import parse_article

Item = tuple[bytes, bytes]  # (key, value) of one record to publish


def record(article: Article) -> Item:
    """An article as the ingest publishes it."""
    return article.id.encode(), article.model_dump_json().encode()


def with_poison(articles: list[Article], poison: int) -> list[Item]:
    """The articles as records, with ``poison`` records that are not JSON at random places."""
    items: list[Item] = [record(a) for a in articles]
    rng = random.Random(7)
    for n in range(poison):
        items.insert(rng.randrange(len(items)), (f"poison-{n}".encode(), b"{not json"))
    return items


@dataclass
class Load:
    """What a scenario streams: the records, the articles among them, the dead letters due."""

    items: list[Item]
    articles: list[Article]
    dead: dict[str, int] = field(default_factory=dict)  # expected dead letters by code
    keep: dict[str, str] = field(default_factory=dict)  # id -> content hash the index must hold


def first_wins(items: list[Item], refused: set[bytes]) -> tuple[dict[str, str], int]:
    """What the index must keep per id, and how many records are version conflicts.

    The rule: the highest version wins; of two contents under one version, the first in the
    topic stays and each later one is a ``version_conflict`` dead letter. (The corpus has such
    pairs of its own: an edit without an Updated: line of an article without one.)
    """
    best: dict[str, tuple[int, str]] = {}
    conflicts = 0
    for key, value in items:
        if key in refused:
            continue
        try:
            doc = orjson.loads(value)
        except orjson.JSONDecodeError:
            continue
        version, digest = source_version(doc), doc["content_hash"]
        there = best.get(doc["id"])
        if there is None or version > there[0]:
            best[doc["id"]] = (version, digest)
        elif version == there[0] and digest != there[1]:
            conflicts += 1
    return {doc_id: digest for doc_id, (_, digest) in best.items()}, conflicts


def corpus_load(name: str, count: int, poison_share: float = 0.0) -> Load:
    """``count`` corpus articles, with a share of records that are not JSON."""
    articles = bench_parse(count, seed=zlib.crc32(name.encode()) % 10_000)[1]
    poison = int(count * poison_share)
    items = with_poison(articles, poison)
    keep, conflicts = first_wins(items, set())
    return Load(items, articles, {"not_json": poison, "version_conflict": conflicts}, keep)


def _archive(count: int) -> list[Article]:
    """Articles from 1 AD to 1969, some edited later the same day: all must be indexed."""
    made = []
    for n in range(count):
        year = 1 + (n * 7919) % 1969
        text = f"date {year:04d}-03-0{1 + n % 9} archive\n\nArchive story {n} from {year}."
        if n % 3 == 0:
            text = text.replace("\n\n", f"\nUpdated: Mar 0{1 + n % 9}, {year:04d} 18:00 UTC\n\n")
        made.append(parse_article(text.encode(), source=f"archive:{n}"))
    return made


def poison_load(count: int, bulk_max_bytes: int) -> Load:
    """``count`` good articles with records Elasticsearch refuses (or that cannot be sent).

    Poison, about 1 % in all: a word count over Elasticsearch's integer (a valid contract,
    refused by the mapping), documents over the indexer's request size, a rival of an
    indexed version with other content, records that are not JSON. Good records include
    pre-1970 articles and pretty-printed (multi-line) JSON, both of which once stopped it.
    """
    rng = random.Random(12)
    corpus = bench_parse(count, seed=4242)[1]
    articles = corpus + _archive(max(5, count // 200))
    items = [record(a) for a in articles]
    counts = Counter(a.id for a in articles)
    singles = [n for n, a in enumerate(articles) if counts[a.id] == 1]
    for n in rng.sample(singles, max(2, count // 500)):  # the same article, over several lines
        items[n] = (items[n][0], json.dumps(json.loads(items[n][1]), indent=2).encode())
    load = Load(items, articles)
    spare = bench_parse(count // 100 + 10, seed=4343)[1]
    refused = [a.model_copy(update={"word_count": 2**33}) for a in spare[: max(3, count // 300)]]
    filler = "x" * bulk_max_bytes
    big = [a.model_copy(update={"body": a.body + " " + filler}) for a in spare[-3:]]
    inserts: list[Item] = [record(a) for a in refused + big]
    inserts += [(f"poison-{n}".encode(), b"{not json") for n in range(max(3, count // 300))]
    for item in inserts:
        items.insert(rng.randrange(len(items) + 1), item)
    for n in rng.sample(singles, max(2, count // 500)):
        original = record(articles[n])
        rival = articles[n].model_copy(update={"content_hash": "sha256:" + "0" * 64})
        at = items.index(original) if original in items else len(items) - 1
        items.insert(rng.randrange(at + 1, len(items) + 1), record(rival))
    load.keep, conflicts = first_wins(items, {a.id.encode() for a in refused + big})
    load.dead = {
        "index_rejected": len(refused),
        "too_large": len(big),
        "not_json": len(inserts) - len(refused) - len(big),
        "version_conflict": conflicts,
    }
    return load


def large_burst_load(count: int, size: int = 1_000_000) -> Load:
    """``count`` articles of about ``size`` bytes each (the 1 MB burst)."""
    base = bench_parse(count, seed=777)[1][:count]
    words = " ".join(f"w{n % 9973}" for n in range(size // 6))
    articles = [
        a.model_copy(update={"body": a.body + "\n\n" + words[: size - len(a.body)]}) for a in base
    ]
    return Load([record(a) for a in articles], articles)


async def check_dead_letters(settings: Settings, load: Load, timeout: float = 60.0) -> list[str]:
    """Notes on anything the dead-letter topic and the kept versions say went wrong."""
    notes: list[str] = []
    codes = await _dead_letter_codes(settings, sum(load.dead.values()), timeout)
    if codes != Counter({k: v for k, v in load.dead.items() if v}):
        notes.append(f"dead letters by code {dict(codes)}, expected {load.dead}")
    ids = list(load.keep)
    async with es_client(settings, timeout=120) as es:
        for start in range(0, len(ids), 2000):
            chunk = ids[start : start + 2000]
            reply = await es.mget(
                index=settings.index_alias, ids=chunk, source_includes=["content_hash"]
            )
            for doc in reply["docs"]:
                if not doc.get("found") or doc["_source"]["content_hash"] != load.keep[doc["_id"]]:
                    notes.append(f"{doc['_id']}: not the content the rule keeps")
    return notes[:20]


async def _dead_letter_codes(settings: Settings, expected: int, timeout: float) -> Counter[str]:
    consumer = make_consumer(settings.kafka_bootstrap, settings.topic_dlq)
    await consumer.start()
    # Dead letters are at least once: a record read again after a crash is dead-lettered
    # again. One per source record (topic, partition, offset) is what counts.
    seen: dict[str, str] = {}
    deadline = time.monotonic() + (timeout if expected else 3.0)
    try:
        while len(seen) < max(expected, 1) and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                for r in batch:
                    headers = decode_headers(r.headers)
                    seen[headers.get(H_SOURCE, str(r.offset))] = headers.get(H_CODE, "?")
    finally:
        await consumer.stop()
    return Counter(seen.values())
