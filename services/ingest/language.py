"""A guess of an article's language: stop words first, else the script of its letters."""

from __future__ import annotations

import re

_STOP_WORDS: dict[str, str] = {
    "en": "the and of to in is that for it was on with as by at from this be are have has "
    "not but they which were their been would will its after said",
    "es": "el la los las de del que y en un una por con para es se al lo como más pero sus "
    "fue está también no",
    "fr": "le la les des du de et est un une que qui dans pour pas sur au aux avec ce sont "
    "été par il elle",
    "de": "der die das und ist nicht ein eine zu den mit sich des auf für im dem von auch "
    "wird nach bei",
    "it": "il lo la gli le di che è e un una per non con del della sono nel alla anche dei stato",
    "pt": "o a os as de do da que e em um uma para com não por mais dos das foi está ao",
    "nl": "de het een en van is dat op te in voor niet met zijn er aan ook als bij",
}
# Each stop word votes for every language it belongs to.
_STOP_INDEX: dict[str, tuple[str, ...]] = {}
for _lang, _words in _STOP_WORDS.items():
    for _word in _words.split():
        _STOP_INDEX[_word] = (*_STOP_INDEX.get(_word, ()), _lang)
_STOP_KEYS = frozenset(_STOP_INDEX)

# Scripts that name their language outright: (first, last code point, language).
_SCRIPTS = (
    (0x0900, 0x097F, "hi"),
    (0x0980, 0x09FF, "bn"),
    (0x0B80, 0x0BFF, "ta"),
    (0x0600, 0x06FF, "ar"),
    (0x0400, 0x04FF, "ru"),
    (0x0370, 0x03FF, "el"),
    (0x0590, 0x05FF, "he"),
    (0x0E00, 0x0E7F, "th"),
    (0xAC00, 0xD7AF, "ko"),
    (0x3040, 0x30FF, "ja"),
    (0x4E00, 0x9FFF, "zh"),
)
_SCRIPT_RE = re.compile(
    "[" + "".join(f"{chr(first)}-{chr(last)}" for first, last, _ in _SCRIPTS) + "]"
)
_LANGUAGE_SAMPLE_CHARS = 300


def detect_language(text: str) -> str:
    """ISO 639-1 guess from stop words, else the script, of the first few hundred chars; 'en'."""
    sample = text[:_LANGUAGE_SAMPLE_CHARS].lower()
    scores: dict[str, int] = {}
    # Distinct stop words present, found by one C-level set intersection; stop words rarely
    # carry punctuation, so plain split tokens are good enough.
    for word in _STOP_KEYS.intersection(sample.split()):
        for lang in _STOP_INDEX[word]:
            scores[lang] = scores.get(lang, 0) + 1
    if scores:
        # Sorted first: ties must not depend on set order, which varies between processes.
        best = max(sorted(scores), key=scores.__getitem__)
        if scores[best] >= 3:
            return best if scores[best] > scores.get("en", 0) else "en"
    # Few Latin stop words: a non-Latin script may name the language outright.
    if not sample.isascii() and _SCRIPT_RE.search(sample):
        return _script_language(sample) or "en"
    return "en"


def _script_language(sample: str) -> str | None:
    counts: dict[str, int] = {}
    letters = 0
    for char in sample:
        if not char.isalpha():
            continue
        letters += 1
        point = ord(char)
        for first, last, lang in _SCRIPTS:
            if first <= point <= last:
                counts[lang] = counts.get(lang, 0) + 1
                break
    if not counts:  # code points of a script matched, but none of them was a letter
        return None
    script, count = max(counts.items(), key=lambda item: item[1])
    # Kana mixed with kanji is Japanese, not Chinese.
    if script == "zh" and counts.get("ja", 0) * 10 >= count:
        script, count = "ja", count + counts["ja"]
    return script if count * 2 >= letters else None
