"""What changed from one version of an article to the next: headline and a word-level summary."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Final

# Word diffs are quadratic in the worst case: paragraphs are matched first, and words are
# compared only inside the paragraphs that differ, each side cut to this many words.
_MAX_WORDS: Final = 2000


@dataclass(frozen=True)
class BodyChange:
    """Words added and removed, and paragraphs touched, between two bodies."""

    words_added: int
    words_removed: int
    paragraphs_changed: int

    @property
    def summary(self) -> str:
        """For a reader: "+12 / -3 words in 2 paragraphs", or "no change to the body"."""
        if not (self.words_added or self.words_removed or self.paragraphs_changed):
            return "no change to the body"
        noun = "paragraph" if self.paragraphs_changed == 1 else "paragraphs"
        return (
            f"+{self.words_added} / -{self.words_removed} words in {self.paragraphs_changed} {noun}"
        )


def _words_between(before: list[str], after: list[str]) -> tuple[int, int]:
    old = " ".join(before).split()[:_MAX_WORDS]
    new = " ".join(after).split()[:_MAX_WORDS]
    added = removed = 0
    matcher = SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed += i2 - i1
        if tag in ("replace", "insert"):
            added += j2 - j1
    return added, removed


def body_change(before: str, after: str) -> BodyChange:
    """How ``after`` differs from ``before`` (paragraphs separated by blank lines)."""
    old = [p for p in before.split("\n\n") if p.strip()]
    new = [p for p in after.split("\n\n") if p.strip()]
    added = removed = touched = 0
    for tag, i1, i2, j1, j2 in SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        plus, minus = _words_between(old[i1:i2], new[j1:j2])
        added, removed = added + plus, removed + minus
        touched += max(i2 - i1, j2 - j1)
    return BodyChange(added, removed, touched)
