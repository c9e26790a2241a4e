"""Article embeddings: wordllama's static model from its installed wheel, off the event loop.

The model (``l2_supercat``, 256 dimensions, 16 MB) ships inside the ``wordllama`` wheel, so
nothing is downloaded at run time. Embedding is a table lookup and a mean per text (no
network, no GPU). Words repeat, so each word's tokens are kept once found: 40 µs of CPU an
article once warm, against 390 µs through wordllama's padded batches, for the same vectors.
Batches still run on a worker thread of their own, so the caller's event loop keeps serving.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from services.common.errors import ConfigError
from services.common.fields import EMBEDDING
from services.common.lifecycle import AsyncScoped

if TYPE_CHECKING:
    import numpy.typing as npt

DIMS = 256
MODEL = "l2_supercat_256"
# What is embedded of an article: its title and the start of its body. The lede and the first
# paragraph say what a story is; the rest adds cost, not meaning: tokens are the cost (1,000
# bench-corpus articles: 1.1 s at 1,500 characters, 0.35 s at 600, same-story separation on
# seeds/stories/ unchanged).
MAX_CHARS = 600


def embed_text(title: str, body: str) -> str:
    """The text an article's embedding is computed from: title, then the start of the body."""
    return f"{title}\n{body[:MAX_CHARS]}"


# Words whose tokens are kept; past it the memory starts again (a news vocabulary's working
# set is far smaller, so this only bounds hostile or unusual input).
WORDS_KEPT = 200_000
NO_IDS = np.zeros(0, dtype=np.int16)


class WordPooler:
    """The mean of a text's token vectors, tokenising each distinct word once.

    The tokenizer (Llama's BPE, spaces made into a leading ``▁``, no pre-tokenizer) has no
    token with ``▁`` after another character, so no merge crosses a single space and a text
    is the concatenation of its space-separated words' tokens, an empty word being ``▁``.
    Runs of spaces, or a leading one, can merge ``▁``s: such texts are tokenised whole.
    """

    def __init__(self, model: Any) -> None:
        from tokenizers import Tokenizer

        self._table: npt.NDArray[np.float32] = model.embedding
        self._tokenizer = Tokenizer.from_str(model.tokenizer.to_str())
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        # Ids are kept as 16-bit integers, and every id must be a row of the table.
        if not self._tokenizer.get_vocab_size() <= min(len(self._table), 2**15):
            raise ConfigError("the embedding model's tokenizer does not fit its table")
        self._words: dict[str, bytes] = {}

    def ids(self, text: str) -> list[int]:
        """The token ids of ``text``, as the tokenizer gives them for the whole text."""
        return self.ids_of([text])[0]

    def ids_of(self, texts: list[str]) -> list[list[int]]:
        """The token ids of each text; the words never seen are learnt once for the batch."""
        return [ids.tolist() for ids in self._token_ids(texts)]

    def _token_ids(self, texts: list[str]) -> list[npt.NDArray[np.int16]]:
        found = [NO_IDS] * len(texts)
        plain: list[tuple[int, list[str]]] = []
        for n, text in enumerate(texts):
            if not text:
                continue
            if "  " in text or text.startswith(" "):
                whole = self._tokenizer.encode(text, add_special_tokens=False).ids
                found[n] = np.array(whole, dtype=np.int16)
            else:
                plain.append((n, text.split(" ")))
        # The batch's words at once, in C: a set union and a difference with the known ones.
        every: set[str] = set().union(*(words for _, words in plain))
        unseen = every.difference(self._words)
        if unseen:
            if len(self._words) + len(unseen) > WORDS_KEPT:
                self._words.clear()  # then every word of the batch is to learn again
                unseen = every
            self._learn(unseen)
        # Each word's ids are kept as bytes: a text's ids are then one join, done in C.
        known = self._words.__getitem__
        for n, words in plain:
            found[n] = np.frombuffer(b"".join(map(known, words)), dtype=np.int16)
        return found

    def _learn(self, words: set[str]) -> None:
        # The BPE model alone, on the word as the normaliser leaves it (a leading "▁"): the
        # same ids as a whole encoding, at a quarter of its cost (no offsets, no threads).
        model = self._tokenizer.model
        for word in words:
            ids = [token.id for token in model.tokenize("\u2581" + word)]
            self._words[word] = np.array(ids, dtype=np.int16).tobytes()

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Unit-length mean token vectors of ``texts`` (a text without tokens: zeros)."""
        vectors = np.zeros((len(texts), self._table.shape[1]), dtype=np.float32)
        for n, rows in enumerate(self._token_ids(texts)):
            if rows.size:
                # One gather and one sum per text: numpy's segmented sum (reduceat) over rows
                # was four times slower than this loop.
                vectors[n] = self._table.take(rows, axis=0).sum(axis=0)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        return vectors


def quantized(vectors: Any) -> npt.NDArray[np.int8]:
    """Vectors (one, or rows) as signed bytes, each's largest component scaled to ±127.

    That is their stored form. Cosines are what stories and related lists compare, and a
    scale per vector leaves them as they were but for rounding (under 0.005 for these
    vectors); a byte vector costs Elasticsearch a quarter of the memory of floats and no
    quantisation of its own. A vector of zeros stays zeros.
    """
    floats = np.asarray(vectors, dtype=np.float32)
    if not floats.size:
        return np.zeros(floats.shape, dtype=np.int8)
    peaks = np.abs(floats).max(axis=-1, keepdims=True)
    scaled = np.divide(floats * 127.0, peaks, out=np.zeros_like(floats), where=peaks > 0)
    out: npt.NDArray[np.int8] = np.rint(scaled).astype(np.int8)
    return out


def unit(stored: Any) -> npt.NDArray[np.float32] | None:
    """A stored vector (floats, bytes as ints, or bytes in hex) as a unit vector; None if zero."""
    try:
        if isinstance(stored, str):
            raw = np.frombuffer(bytes.fromhex(stored), dtype=np.int8).astype(np.float32)
        else:
            raw = np.asarray(stored, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    norm = float(np.linalg.norm(raw)) if raw.ndim == 1 and raw.size else 0.0
    if not norm or not np.isfinite(norm):
        return None
    out: npt.NDArray[np.float32] = raw / norm
    return out


def takes_bytes(mappings: dict[str, Any]) -> bool:
    """Whether every index of a get-mapping reply takes embeddings as bytes (mapping v6 on).

    The indexer writes, and the API queries, vectors in the form the index takes: an index
    of mapping v5 (floats) keeps working until a reindex.
    """
    types = [
        m.get("mappings", {}).get("properties", {}).get(EMBEDDING, {}).get("element_type")
        for m in mappings.values()
    ]
    return bool(types) and all(t == "byte" for t in types)


def load_model() -> Any:
    """wordllama's 256-dimension model from the installed package; ConfigError when absent."""
    try:
        import wordllama
        from wordllama import WordLlama
    except ImportError as exc:
        raise ConfigError("embeddings need the wordllama package: pip install wordllama") from exc
    # The package's own folder holds the weights and the tokenizer: as the cache directory it
    # makes the loader find both there (its project-root lookup misses the tokenizer).
    package = Path(wordllama.__file__).parent
    return WordLlama.load(dim=DIMS, disable_download=True, cache_dir=package)


class Embedder(AsyncScoped):
    """Embeds batches of texts on a worker thread: unit-length float32 vectors of DIMS."""

    def __init__(self, *, lazy: bool = False) -> None:
        self._model: WordPooler | None = None
        self._pool: ThreadPoolExecutor | None = None
        # Lazy: the model is loaded by the first embedding (the API, where only hybrid
        # searches need it, pays its memory only once one is asked for).
        self.lazy = lazy

    async def _start(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        if not self.lazy:
            loop = asyncio.get_running_loop()
            self._model = WordPooler(await loop.run_in_executor(self._pool, load_model))

    async def _stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def embed_now(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """The vectors of ``texts``, computed on the calling thread (for a worker or a test)."""
        if self._model is None:
            self._model = WordPooler(load_model())
        return self._model.embed(texts)

    async def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """The vectors of ``texts``, computed on the worker thread."""
        assert self._pool is not None, "use inside `async with Embedder()`"
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.embed_now, texts)
