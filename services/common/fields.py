"""Names of index fields that the indexer writes and the API reads: defined once, here."""

from __future__ import annotations

# Languages with an analyzer of their own, and the field that carries their text. Every
# article's text is also analysed as English (``text``), so a query reaches every language.
LANGUAGE_FIELDS: dict[str, str] = {"es": "text_es"}
