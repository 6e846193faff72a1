"""Messages for one stream, written in order by one task.

A gRPC stream takes one write at a time, and each write waits for the transport. Whoever
has a message to send (a reply to a request, a transaction's next request) posts it
here and goes on, and one task writes the posted messages in order: reading the stream
and running transactions never wait for a write. Used by both ends of the chaincode
stream, the peer's handler and the chaincode shim.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Outbox(Generic[T]):
    def __init__(self, send: Callable[[T], Awaitable[None]], on_failure: Callable[[Exception], None]) -> None:
        self._send = send  # the stream's own write: only `run` calls it, one message at a time
        self._on_failure = on_failure
        self._queue: collections.deque[T] = collections.deque()
        self._idle: asyncio.Future[None] | None = None  # set while `run` waits for a message

    def post(self, message: T) -> None:
        """Queue `message`; `run` writes it after those posted before it."""
        self._queue.append(message)
        idle = self._idle
        if idle is not None and not idle.done():
            idle.set_result(None)

    async def run(self) -> None:
        """Write what is posted, in order, until cancelled. A failed write means a broken
        stream: the rest is dropped, `on_failure` hears why, and `run` returns."""
        loop = asyncio.get_running_loop()
        queue = self._queue
        while True:
            while queue:
                try:
                    await self._send(queue.popleft())
                except Exception as exc:
                    queue.clear()
                    self._on_failure(exc)
                    return
            self._idle = loop.create_future()
            await self._idle
            self._idle = None
