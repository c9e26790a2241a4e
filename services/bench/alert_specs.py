"""Saved searches for the alerts bench: varied queries over the corpus's vocabulary, pure.

The corpus draws words by a Zipf-like law (``services/bench/corpus.py``): a word's rank
sets how often it appears, so each kind below picks ranks that make it match a few articles
in a hundred, a few in ten thousand, or none at all. Over a thousand searches most articles
match at least one while many searches match nothing in a minute's stream.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from services.bench.corpus import CATEGORIES, DAYS, START, VOCABULARY

Spec = dict[str, Any]  # the JSON body of POST /v1/alerts


def _word(rng: random.Random, low: int, high: int) -> str:
    return VOCABULARY[rng.randrange(low, min(high, len(VOCABULARY)))]


def _one_word(rng: random.Random) -> Spec:
    if rng.random() < 0.4:  # a word in the headline is far rarer than one in the text
        return {"q": _word(rng, 100, 1500), "search_in": "title"}
    return {"q": _word(rng, 2000, 4000), **_dates(rng, max_days=180)}


def _two_words(rng: random.Random) -> Spec:
    return {"q": f"{_word(rng, 300, 3000)} {_word(rng, 300, 3000)}"}


def _phrase(rng: random.Random) -> Spec:
    # Two common words side by side: the order makes it rare, sometimes never seen.
    return {"q": f'"{_word(rng, 20, 200)} {_word(rng, 20, 200)}"'}


def _rare_pair(rng: random.Random) -> Spec:
    return {"q": f"{_word(rng, 3000, 4000)} {_word(rng, 3000, 4000)}"}


def _either(rng: random.Random) -> Spec:
    either = f"{_word(rng, 2500, 4000)} OR {_word(rng, 2500, 4000)}"
    return {"q": either, "category": [rng.choice(CATEGORIES)]}


def _excluding(rng: random.Random) -> Spec:
    # The excluded word is so common that most articles carrying the first word are left out.
    return {"q": f"{_word(rng, 400, 2500)} -{_word(rng, 0, 30)}"}


def _in_category(rng: random.Random) -> Spec:
    return {"q": _word(rng, 600, 3000), "category": [rng.choice(CATEGORIES)]}


def _category_only(rng: random.Random) -> Spec:
    spec: Spec = {"q": "", "category": rng.sample(CATEGORIES, rng.choice((1, 1, 2)))}
    spec.update(_dates(rng, max_days=30))
    return spec


def _dates(rng: random.Random, max_days: int) -> Spec:
    first = START + timedelta(days=rng.randrange(DAYS - max_days))
    last = first + timedelta(days=rng.randint(7, max_days))
    return {"from": first.isoformat(), "to": last.isoformat()}


# (kind, share, maker): about how saved searches of a news desk look.
KINDS: list[tuple[str, float, Callable[[random.Random], Spec]]] = [
    ("word", 0.15, _one_word),
    ("two_words", 0.16, _two_words),
    ("phrase", 0.15, _phrase),
    ("rare_pair", 0.14, _rare_pair),
    ("or", 0.08, _either),
    ("exclusion", 0.10, _excluding),
    ("word_in_category", 0.15, _in_category),
    ("category_dates", 0.07, _category_only),
]
DATED_SHARE = 0.25  # of the searches with words, those also limited to a span of dates


def alert_specs(count: int, seed: int = 17) -> list[Spec]:
    """``count`` saved searches, the same for the same seed; each names its kind."""
    rng = random.Random(seed)
    kinds = [k for k, _, _ in KINDS]
    makers = {k: make for k, _, make in KINDS}
    specs: list[Spec] = []
    for n in range(count):
        kind = rng.choices(kinds, weights=[share for _, share, _ in KINDS])[0]
        spec = makers[kind](rng)
        if spec["q"] and rng.random() < DATED_SHARE:
            spec.update(_dates(rng, max_days=540))
        specs.append({"name": f"bench {n} {kind}", **spec})
    return specs


def kind_of(spec: Spec) -> str:
    """The kind a spec was made as (its name's last word)."""
    return str(spec.get("name", "")).rsplit(" ", 1)[-1]


def search_query(spec: Spec) -> list[tuple[str, str]]:
    """The ``/v1/search`` query string that finds what the saved search ``spec`` stands for."""
    params: list[tuple[str, str]] = [("q", spec.get("q", ""))]
    if "search_in" in spec:
        params.append(("search_in", spec["search_in"]))
    params += [("category", c) for c in spec.get("category", [])]
    params += [(key, spec[key]) for key in ("from", "to") if key in spec]
    return params
