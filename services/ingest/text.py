"""The ingest's derived text fields: title and summary from the lede, the body's word count."""

from __future__ import annotations

import re

TITLE_MAX_CHARS = 100
SUMMARY_MAX_CHARS = 300
ELLIPSIS = "…"


def cut_text(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` chars, else cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    # Only back off to a word boundary when that keeps most of the text (one huge word otherwise).
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:-–—(\"'“‘") + ELLIPSIS


# Tokens before a period that do not end a sentence.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st sr jr gen col lt capt cpt sgt maj adm gov sen rep pres rev hon "
    "inc ltd co corp no vs etc fig jan feb mar apr jun jul aug sep sept oct nov dec mt ft".split()
)
_SENTENCE_END_RE = re.compile(r"[.!?]+[\"'”’)\]]*\s+")


def first_sentence(text: str) -> str:
    """The first sentence of single-spaced ``text`` (abbreviations and initials do not end one)."""
    match = _SENTENCE_END_RE.search(text)
    while match is not None:
        end = match.end()
        start = match.start()
        if not text[end : end + 1].islower():
            if text[start] != ".":
                return text[:end].rstrip()
            # The word before the period (the text is whitespace-collapsed: spaces only).
            word = text[text.rfind(" ", 0, start) + 1 : start].lstrip("\"'“‘(")
            # "J. Trump", "U.S. forces", "Mr. Esper": a period that is part of the word.
            if len(word) > 1 and "." not in word and word.lower() not in _ABBREVIATIONS:
                return text[:end].rstrip()
        match = _SENTENCE_END_RE.search(text, end)
    return text


def derive_title(lede: str) -> str:
    """A headline from the lede: its first sentence, at most TITLE_MAX_CHARS chars."""
    sentence = first_sentence(lede)
    # Headlines do not end with a full stop (an ellipsis or '?' and '!' stay).
    if sentence.endswith(".") and not sentence.endswith("..") and len(sentence) > 1:
        sentence = sentence[:-1]
    return cut_text(sentence, TITLE_MAX_CHARS)


def derive_summary(lede: str) -> str:
    """The lede cut at a word boundary to SUMMARY_MAX_CHARS chars."""
    return cut_text(lede, SUMMARY_MAX_CHARS)


# Lone punctuation that news text puts between words (each costs one str.count).
_NON_WORDS = (" — ", " – ")


def count_words(text: str, *, paragraphs: int | None = None) -> int:
    """Whitespace-separated tokens in ``text``, not counting lone dashes.

    ``paragraphs`` promises that ``text`` is that many paragraphs with single spaces, joined
    by blank lines (the parser's body): counting is then a few ``str.count`` calls, no split.
    """
    if paragraphs is None:
        words = text.split()
        return len(words) - sum(1 for word in words if word in ("—", "–"))
    if not text:
        return 0
    count = text.count(" ") + paragraphs
    if not text.isascii():  # no dash in ASCII text, and no test at all there
        for mark in _NON_WORDS:
            # The single-char `in` test is much cheaper than counting a three-char mark.
            if mark[1] in text:
                count -= text.count(mark)
    return count
