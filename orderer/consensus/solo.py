"""Solo consensus: one orderer, one queue, the order in which envelopes arrive.

A single task takes envelopes off a bounded queue, feeds the block cutter, and writes
each batch it cuts; when the batch timeout of the pending batch expires it cuts
whatever is pending. Broadcast handlers wait when the queue is full, which is how a
busy orderer slows its clients down instead of running out of memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from orderer.blockcutter import BlockCutter
from orderer.blockwriter import BlockWriter

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000


_STOP = None


class SoloChain:
    def __init__(self, channel_id: str, cutter: BlockCutter, writer: BlockWriter, batch_timeout: float) -> None:
        self.channel_id = channel_id
        self.cutter = cutter
        self.writer = writer
        self.batch_timeout = batch_timeout
        self._queue: asyncio.Queue[tuple[bytes, int] | None] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def ready(self) -> bool:
        return not self._stopping and self._task is not None and not self._task.done()

    async def order(self, envelope: bytes, size: int) -> None:
        await self._queue.put((envelope, size))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"solo-{self.channel_id}")

    async def stop(self) -> None:
        """Write every envelope already accepted, then end the ordering task."""
        if self._task is None:
            return
        self._stopping = True
        if not self._task.done():
            await self._queue.put(_STOP)
        with contextlib.suppress(Exception):
            await self._task
        self._task = None

    async def _next(self) -> tuple[bytes, int] | None | TimeoutError:
        """The next queued item, or TimeoutError when the pending batch's time is up."""
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            pass
        if self.cutter.pending_since is None:
            return await self._queue.get()
        try:
            # pending_since is on the event loop's clock (see _run), as timeout_at expects.
            async with asyncio.timeout_at(self.cutter.pending_since + self.batch_timeout):
                return await self._queue.get()
        except TimeoutError as expired:
            return expired

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                item = await self._next()
                if isinstance(item, TimeoutError) or item is _STOP:
                    if batch := self.cutter.cut():
                        await self.writer.write(batch)
                    if item is _STOP:
                        return
                    continue
                envelope, size = item
                for batch in self.cutter.ordered(envelope, size, loop.time()):
                    await self.writer.write(batch)
        except Exception:
            log.exception("[%s] solo ordering stopped: cannot write blocks", self.channel_id)
            raise
