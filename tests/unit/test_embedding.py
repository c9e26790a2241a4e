"""The word-cached pooling gives wordllama's own vectors, whatever the spacing of the text."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.embedding import WordPooler, load_model, takes_bytes
from tests.factories import make_articles

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # wordllama's 0/0 on empty text

MODEL = load_model()
POOLER = WordPooler(MODEL)

TEXTS = [
    "Floods hit Hunan province\nRescuers searched for 12 people on Tuesday.",
    "  two leading spaces and  a double one",
    " one leading space",
    "trailing space ",
    "tabs\tand\u00a0no-break spaces, l'école, Zürich, 東京 and emoji 🙂",
    "x",
]


def _reference(texts: list[str]) -> np.ndarray:
    return np.asarray(MODEL.embed(texts, norm=True, batch_size=64), dtype=np.float32)


def test_the_same_token_ids_as_the_whole_text() -> None:
    for text in TEXTS:
        assert POOLER.ids(text) == MODEL.tokenizer.encode(text, add_special_tokens=False).ids


def test_the_same_vectors_as_wordllama() -> None:
    texts = TEXTS + [f"{a.title}\n{a.body[:600]}" for a in make_articles(20)]
    np.testing.assert_allclose(POOLER.embed(texts), _reference(texts), atol=1e-5)


def test_words_seen_again_give_the_same_vector() -> None:
    first = POOLER.embed(TEXTS)
    np.testing.assert_array_equal(POOLER.embed(TEXTS), first)


def test_a_text_without_tokens_is_zeros() -> None:
    assert not POOLER.embed([""]).any()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=list("ab  .,\n\t'éß東"), max_size=40))
def test_any_spacing_tokenises_as_the_whole_text(text: str) -> None:
    assert POOLER.ids(text) == MODEL.tokenizer.encode(text, add_special_tokens=False).ids


def test_words_learnt_past_the_bound_start_the_memory_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pooler = WordPooler(MODEL)
    monkeypatch.setattr("services.common.embedding.WORDS_KEPT", 8)
    texts = ["one two three four five six", "seven eight nine ten eleven"]
    assert pooler.ids_of(texts) == [
        MODEL.tokenizer.encode(t, add_special_tokens=False).ids for t in texts
    ]
    assert len(pooler._words) <= 11


def test_the_vector_form_is_read_from_the_index_mapping() -> None:
    def index(element_type: str | None) -> dict[str, Any]:
        spec = {"type": "dense_vector"} | ({"element_type": element_type} if element_type else {})
        return {"mappings": {"properties": {"embedding": spec}}}

    assert takes_bytes({"news-v2": index("byte")})
    assert not takes_bytes({"news-v1": index(None)})  # mapping v5: floats
    assert not takes_bytes({"news-v1": index(None), "news-v2": index("byte")})
    assert not takes_bytes({})
