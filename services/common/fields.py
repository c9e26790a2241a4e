"""Names of index fields that the indexer writes and the API reads: defined once, here."""

from __future__ import annotations

# Languages with an analyzer of their own, and the field that carries their text. Every
# article's text is also analysed as English (``text``), so a query reaches every language.
LANGUAGE_FIELDS: dict[str, str] = {"es": "text_es"}

# Copies of one story (rewrites, wire copies, regional editions) share a story id: the id of
# the first article of the story the indexer saw. An article's own versions keep theirs.
STORY_ID = "story_id"
# The article's embedding (services/common/embedding.py), a dense_vector searched with knn.
EMBEDDING = "embedding"
# The indexer process that gave a document its story: each reads only the others' writes back.
INDEXED_BY = "indexed_by"
