"""HTML bodies (ninjs `text/html`, `body_xhtml`) reduced to plain paragraphs, safely."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Final

# Elements that end a paragraph: their text never runs into the next block's.
_BLOCKS: Final = frozenset(
    "address article aside blockquote br caption dd div dl dt figcaption figure footer h1 h2 h3 "
    "h4 h5 h6 header hr li main nav ol p pre section table td th tr ul".split()
)
# Elements whose content is never text a reader sees: scripts, styles, embedded documents.
_HIDDEN: Final = frozenset(
    "script style template noscript head title iframe object svg math select".split()
)
_SPACE = re.compile(r"\s+")


class _Collector(HTMLParser):
    """Collects the visible text, one paragraph per block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._words: list[str] = []
        self._hidden: list[str] = []

    def _close(self) -> None:
        text = _SPACE.sub(" ", "".join(self._words)).strip()
        if text:
            self.paragraphs.append(text)
        self._words = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden.append(tag)
        elif tag in _BLOCKS and not self._hidden:
            self._close()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS and not self._hidden:
            self._close()  # <br/>, <hr/>: a self-closed hidden tag hides nothing

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            if tag == self._hidden[-1]:
                self._hidden.pop()
            return
        if tag in _BLOCKS:
            self._close()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._words.append(data)

    def finish(self) -> list[str]:
        """Flush what is pending and return the paragraphs."""
        self.close()
        self._close()
        return self.paragraphs


def html_paragraphs(markup: str) -> list[str]:
    """The paragraphs a reader would see in ``markup``: entities decoded, markup dropped."""
    collector = _Collector()
    collector.feed(markup)
    return collector.finish()
