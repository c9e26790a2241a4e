"""Resources a ``with`` block starts and stops, however the block is left."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self


class Scoped(ABC):
    """Started on entering a ``with`` block, stopped on leaving it, by an exception too."""

    @abstractmethod
    def _start(self) -> object:
        """What entering the block does; its result is not the block's target (``self`` is)."""

    @abstractmethod
    def _stop(self) -> object:
        """What leaving the block does."""

    def __enter__(self) -> Self:
        self._start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop()


class AsyncScoped(ABC):
    """Started on entering an ``async with`` block, stopped on leaving it, by an exception too."""

    @abstractmethod
    async def _start(self) -> object:
        """What entering the block does; its result is not the block's target (``self`` is)."""

    @abstractmethod
    async def _stop(self) -> object:
        """What leaving the block does."""

    async def __aenter__(self) -> Self:
        await self._start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stop()
