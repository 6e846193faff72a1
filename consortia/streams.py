"""One writer at a time on a gRPC stream that many coroutines send on.

A bidirectional stream must not be written from two places at once. Senders share a
`SerialWriter`, which takes the stream's own `write` (a call's or a servicer
context's) and lets one message through at a time, with no queue in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SerialWriter(Generic[T]):
    def __init__(self, write: Callable[[T], Awaitable[None]]) -> None:
        self._write = write
        self._lock = asyncio.Lock()

    async def send(self, message: T) -> None:
        async with self._lock:
            await self._write(message)
