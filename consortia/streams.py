"""One writer for a gRPC stream that many coroutines send on.

A bidirectional stream must not be written from two places at once; callers put their
messages in an outbox, and the stream's request (or response) iterator drains it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Outbox(Generic[T]):
    def __init__(self) -> None:
        self._queue: asyncio.Queue[T | None] = asyncio.Queue()

    async def send(self, message: T) -> None:
        await self._queue.put(message)

    def close(self) -> None:
        """End the stream once what is queued has been sent."""
        self._queue.put_nowait(None)

    async def messages(self) -> AsyncIterator[T]:
        while (message := await self._queue.get()) is not None:
            yield message
