"""A deterministic corpus in the seed format: same seed, same bytes, on any machine."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

CATEGORIES = [
    "world",
    "india",
    "business",
    "sports",
    "science and tech",
    "entertainment",
    "health",
    "education",
    "politics",
    "environment",
]
ZONES = ["IST", "GMT", "UTC", "EST", "EDT", "CET", "PST", "+05:30", "BST", "JST"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
LONG_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WORDS = (
    "government minister election market shares growth inflation rainfall monsoon cricket "
    "tournament final striker vaccine hospital patients school students exam court verdict "
    "parliament bill protest farmers climate emissions solar power grid startup funding "
    "investors satellite launch mission scientists research university river flood rescue "
    "police investigation airport flights tourism festival film actor director music award "
    "budget deficit exports trade talks summit border security troops ceasefire village city "
    "council mayor transport metro railway bridge highway water supply energy prices oil"
).split()
PEOPLE = [
    ("Narendra Modi", "narendramodi"),
    ("Reuters", "Reuters"),
    ("WHO", "WHO"),
    ("ISRO", "isro"),
    ("Sachin Tendulkar", "sachin_rt"),
    ("UN News", "UN_News_Centre"),
    ("BBC Breaking", "BBCBreaking"),
    ("NASA", "NASA"),
]
SYLLABLES = [
    "ka",
    "ri",
    "to",
    "man",
    "sel",
    "dor",
    "vi",
    "lu",
    "pen",
    "sa",
    "mo",
    "ter",
    "gal",
    "ne",
    "bra",
    "fi",
    "col",
    "tan",
    "ur",
    "es",
    "pro",
    "din",
    "ha",
    "wes",
    "quil",
]


def _vocabulary(size: int = 4000, seed: int = 2024) -> list[str]:
    """News words first, then made-up ones: a vocabulary of thousands, as real archives have."""
    rng = random.Random(seed)
    words = list(WORDS)
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


VOCABULARY = _vocabulary()
# Zipf-like frequencies (rank r has weight 1/(r+10)): a few words everywhere, most of them rare.
_CUMULATIVE = list(itertools.accumulate(1 / (rank + 10) for rank in range(len(VOCABULARY))))
START = date(2019, 1, 1)
DAYS = 5 * 365


@dataclass(frozen=True)
class Doc:
    """One generated input: its text, whether it is malformed on purpose, its sequence."""

    seq: int
    text: str
    malformed: bool
    update_of: int | None = None  # the seq of the article this one is a later edit of


def _sentence(rng: random.Random, words: int) -> str:
    picked = rng.choices(VOCABULARY, cum_weights=_CUMULATIVE, k=words)
    return " ".join(picked).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(8, 22)) for _ in range(rng.randint(2, 5)))


def _updated(rng: random.Random, day: date, hour: int) -> str:
    minute = rng.randint(0, 59)
    if rng.random() < 0.3:  # 12-hour clock
        clock = f"{(hour % 12) or 12}:{minute:02d} {'pm' if hour >= 12 else 'am'}"
    else:
        clock = f"{hour:02d}:{minute:02d}"
    return f"Updated: {MONTHS[day.month - 1]} {day.day:02d}, {day.year} {clock} {rng.choice(ZONES)}"


def _tweet(rng: random.Random, day: date) -> str:
    name, handle = rng.choice(PEOPLE)
    text = _sentence(rng, rng.randint(6, 18))
    return f"{text} — {name} (@{handle}) {LONG_MONTHS[day.month - 1]} {day.day}, {day.year}"


@dataclass
class _Base:
    day: date
    category: str
    lede: str
    paragraphs: list[str]
    hour: int


class Corpus:
    """Articles with realistic lengths, categories over five years, tweets, edits, bad inputs."""

    def __init__(
        self, seed: int = 42, *, malformed_share: float = 0.01, update_share: float = 0.03
    ) -> None:
        self.seed = seed
        self.malformed_share = malformed_share
        self.update_share = update_share

    def docs(self, count: int) -> Iterator[Doc]:
        """``count`` inputs, the same for the same seed."""
        rng = random.Random(self.seed)
        recent: list[tuple[int, _Base]] = []
        for seq in range(count):
            roll = rng.random()
            if roll < self.malformed_share:
                yield Doc(seq, self._malformed(rng, seq), True)
                continue
            if recent and roll < self.malformed_share + self.update_share:
                origin, base = rng.choice(recent)
                hour = min(23, base.hour + rng.randint(1, 8))
                edited = _Base(
                    base.day,
                    base.category,
                    base.lede,
                    [*base.paragraphs[:-1], _paragraph(rng)],
                    hour,
                )
                yield Doc(seq, self._render(rng, edited), False, update_of=origin)
                continue
            base = _Base(
                START + timedelta(days=rng.randrange(DAYS)),
                rng.choice(CATEGORIES),
                _paragraph(rng) + f" Ref {self.seed}-{seq}.",
                [_paragraph(rng) for _ in range(rng.randint(3, 9))],
                rng.randint(0, 20),
            )
            recent.append((seq, base))
            recent = recent[-500:]
            yield Doc(seq, self._render(rng, base), False)

    def _render(self, rng: random.Random, base: _Base) -> str:
        paragraphs = [base.lede, *base.paragraphs]
        if rng.random() < 0.25:
            paragraphs.insert(rng.randint(1, len(paragraphs)), _tweet(rng, base.day))
        lines = [f"date {base.day.isoformat()} {base.category}", ""]
        if rng.random() < 0.8:
            lines += [_updated(rng, base.day, base.hour), ""]
        return "\n".join(lines) + "\n\n".join(paragraphs) + "\n"

    def _malformed(self, rng: random.Random, seq: int) -> str:
        kind = seq % 4
        if kind == 0:
            return f"dte 2020-01-01 world\n\nBroken header {seq}.\n"
        if kind == 1:
            return f"date 2021-02-30 world\n\nImpossible date {seq}.\n"
        if kind == 2:
            return "date 2020-05-05 world\n\n   \n"
        return f"date 2020-05-05 world\nUpdated: Someday 99, 2020 25:61 XYZ\n\nBad {seq}.\n"

    def write(self, folder: Path, count: int) -> int:
        """Write ``count`` files named by sequence; returns how many are well-formed."""
        folder.mkdir(parents=True, exist_ok=True)
        good = 0
        for doc in self.docs(count):
            (folder / f"{doc.seq:07d}.txt").write_text(doc.text, encoding="utf-8")
            good += not doc.malformed
        return good
