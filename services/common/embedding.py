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
        space = self._tokenizer.token_to_id("\u2581")
        if space is None:
            raise ConfigError("the embedding model's tokenizer has no word-start token")
        self._space = [space]
        self._words: dict[str, list[int]] = {}

    def ids(self, text: str) -> list[int]:
        """The token ids of ``text``, as the tokenizer gives them for the whole text."""
        if not text:
            return []
        if "  " in text or text.startswith(" "):
            whole: list[int] = self._tokenizer.encode(text, add_special_tokens=False).ids
            return whole
        words = text.split(" ")
        new = [w for w in set(words) if w not in self._words]
        if new:
            if len(self._words) + len(new) > WORDS_KEPT:
                self._words.clear()
            encoded = self._tokenizer.encode_batch(new, add_special_tokens=False)
            for word, found in zip(new, encoded, strict=True):
                self._words[word] = found.ids or self._space
        out: list[int] = []
        for word in words:
            out += self._words[word]
        return out

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Unit-length mean token vectors of ``texts`` (a text without tokens: zeros)."""
        vectors = np.zeros((len(texts), self._table.shape[1]), dtype=np.float32)
        last = self._table.shape[0] - 1
        for n, text in enumerate(texts):
            ids = np.clip(np.asarray(self.ids(text), dtype=np.int64), 0, last)
            if ids.size:
                vectors[n] = self._table[ids].sum(axis=0)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        return vectors


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
