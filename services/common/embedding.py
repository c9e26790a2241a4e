"""Article embeddings: wordllama's static model from its installed wheel, off the event loop.

The model (``l2_supercat``, 256 dimensions, 16 MB) ships inside the ``wordllama`` wheel, so
nothing is downloaded at run time. Embedding is a table lookup and a mean per text (no
network, no GPU); it still costs about a millisecond per article, so batches run on one
worker thread of their own and the caller's event loop keeps serving.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.common.errors import ConfigError
from services.common.lifecycle import AsyncScoped

if TYPE_CHECKING:
    import numpy as np
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
        self._model: Any = None
        self._pool: ThreadPoolExecutor | None = None
        # Lazy: the model is loaded by the first embedding (the API, where only hybrid
        # searches need it, pays its memory only once one is asked for).
        self.lazy = lazy

    async def _start(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        if not self.lazy:
            loop = asyncio.get_running_loop()
            self._model = await loop.run_in_executor(self._pool, load_model)

    async def _stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def embed_now(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """The vectors of ``texts``, computed on the calling thread (for a worker or a test)."""
        if self._model is None:
            self._model = load_model()
        vectors: npt.NDArray[np.float32] = self._model.embed(texts, norm=True, batch_size=64)
        return vectors

    async def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """The vectors of ``texts``, computed on the worker thread."""
        assert self._pool is not None, "use inside `async with Embedder()`"
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.embed_now, texts)
