"""Which watched files are complete: size and mtime unchanged for a quiet period."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from services.ingest.readers import Signature


class QuietFiles:
    """Files seen changing; each is due once its signature stayed the same for ``quiet_s``.

    A writer appending in pieces changes the size or mtime at every piece, which restarts
    the period: the file is read once, after the last piece, not once per piece.
    """

    def __init__(self, quiet_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.quiet_s = quiet_s
        self._clock = clock
        self._files: dict[Path, tuple[Signature, float]] = {}

    def __len__(self) -> int:
        return len(self._files)

    def note(self, path: Path, signature: Signature) -> None:
        """Record what ``path`` looks like now; a different signature restarts its period."""
        known = self._files.get(path)
        if known is None or known[0] != signature:
            self._files[path] = (signature, self._clock())

    def forget(self, path: Path) -> None:
        """Stop tracking ``path`` (read, deleted, or not a file to read)."""
        self._files.pop(path, None)

    def due(self) -> list[Path]:
        """Paths unchanged for the whole quiet period, in name order."""
        now = self._clock()
        return sorted(p for p, (_, seen) in self._files.items() if now - seen >= self.quiet_s)

    def still(self, path: Path, signature: Signature) -> bool:
        """Whether ``path`` still has the signature it was quiet with (re-checked before reading).

        When it changed, the new signature is noted and its quiet period starts again.
        """
        known = self._files.get(path)
        if known is not None and known[0] == signature:
            return True
        self.note(path, signature)
        return False

    def wait_s(self) -> float | None:
        """Seconds until the next file is due (0 when one is), None when nothing is tracked."""
        if not self._files:
            return None
        now = self._clock()
        return max(0.0, min(seen + self.quiet_s - now for _, seen in self._files.values()))
