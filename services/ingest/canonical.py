"""Text made canonical before it is parsed, and a body split into its paragraphs.

Canonical, in the seed format and in every JSON field alike (body, title, category): CRLF and
CR become LF, then control characters go (C0 and C1 but tab and LF, and DEL): those Python
splits words at (VT, FF, FS, GS, RS, US, NEL) become a space, every other one is removed;
then NFC. So an id never depends on invisible bytes, and the published JSON cannot balloon
(JSON escapes a control character into 6 bytes).
"""

from __future__ import annotations

import re
import unicodedata

from services.common.article import is_collapsed

_PARAGRAPH_SPLIT_RE = re.compile(r"\n\s*\n")
# Control characters but tab and LF (CR is made LF before): the rule of the module docstring.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_TABLE = {
    code: " " if chr(code) in "\x0b\x0c\x1c\x1d\x1e\x1f\x85" else None
    for code in (*range(0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))
}


def collapse(text: str) -> str:
    """``text`` on one line with single spaces."""
    return " ".join(text.split())


def _without_controls(text: str) -> str:
    """``text`` without control characters (but tab and LF), word-splitting ones as spaces."""
    # One scan finds none in almost every text; translate() only runs when there are some.
    return text.translate(_CONTROL_TABLE) if _CONTROL_RE.search(text) else text


def canonical(text: str) -> str:
    """LF line ends, no control characters and NFC: CRLF, NFD (macOS) text parse and hash alike."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _without_controls(text)
    # normalize() hands NFC text back as it is after a quick check of its own, which measures
    # ~30% faster than asking is_normalized() first.
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def split_body(text: str, start: int = 0) -> tuple[str, list[str]]:
    """The body of ``text[start:]`` and its paragraphs, split at blank lines and collapsed."""
    # Whitespace around the body (the Updated line's end, the file's last newline) means
    # nothing: it would be an empty paragraph or the edge of the first or last one.
    body = text[start:].strip()  # text[0:] is text itself: no copy
    if not body:
        return "", []
    parts = body.split("\n\n")
    # One test of the whole body, not one per paragraph: joined by spaces, the parts are all
    # one line with single spaces (none empty) exactly when the result is collapsed. Almost
    # every article's are, and then the body is already final.
    if is_collapsed(" ".join(parts)):
        return body, parts
    paragraphs = _paragraphs(body)
    return "\n\n".join(paragraphs), paragraphs


def _paragraphs(text: str) -> list[str]:
    """Paragraphs of ``text`` split at blank lines, each one line with single spaces."""
    # str.split at "\n\n" is much faster than the regex, which only splits what is left.
    paragraphs = []
    for part in text.split("\n\n"):
        if not part:
            continue
        if is_collapsed(part):
            paragraphs.append(part)
        elif "\n" in part:
            # Blank lines holding spaces, a third newline, wrapped or indented lines.
            paragraphs.extend(filter(None, map(collapse, _PARAGRAPH_SPLIT_RE.split(part))))
        else:
            collapsed = collapse(part)  # tabs, runs of spaces, odd Unicode spaces
            if collapsed:
                paragraphs.append(collapsed)
    return paragraphs
