"""Commit statuses read off one filtered-block stream, for asyncio clients with many
transactions in flight.

A Fabric gateway client learns each transaction's outcome with a CommitStatus call: one
signed request, one signature check and one call on the gateway per transaction. A
client that keeps dozens in flight can instead read the gateway peer's filtered blocks
(DeliverFiltered, the stream Fabric's earlier SDKs used for the same purpose): each block
lists its transactions' ids and validation codes, so one stream answers them all. The
answer is the same, since both come from the gateway's own peer once it has committed
the block.

The watch registers a transaction before it is submitted, and starts only once the
stream has delivered the peer's newest block, so every block a registered transaction
can commit in comes after that point. If the stream ends or fails (the peer restarts),
the transactions still waiting get their status from CommitStatus instead, as do those
submitted until the watch has opened a new stream: it tries again after a pause that
doubles up to half a minute, for as long as it is open. A long-running client thus goes
back to the stream by itself once the peer is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType

from fabric_protos.peer import events_pb2

from consortia.client.commit import Status, status_of
from consortia.client.stream import AsyncEventStream
from consortia.errors import ConsortiaError
from consortia.tasks import cancel_and_wait

log = logging.getLogger(__name__)

# What a waiting transaction gets when the stream ended before its block: ask the gateway.
Expected = asyncio.Future[Status | None]

FIRST_RETRY = 1.0  # seconds before the first attempt to open a new stream
MAX_RETRY = 30.0


class CommitWatch:
    """Answers the commit status of the transactions submitted through one `Network`
    while it is open (`async with network.watch_commits():`)."""

    def __init__(self, channel_id: str, open_stream: Callable[[], AsyncEventStream[events_pb2.FilteredBlock]],
                 start_timeout: float) -> None:
        self._channel_id = channel_id
        self._open_stream = open_stream
        self._start_timeout = start_timeout
        self._stream: AsyncEventStream[events_pb2.FilteredBlock] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._resumer: asyncio.Task[None] | None = None
        self._stopped = False
        self._waiting: dict[str, Expected] = {}

    @property
    def watching(self) -> bool:
        """Whether the stream is open: only then are transactions registered."""
        return self._reader is not None and not self._reader.done()

    async def start(self) -> None:
        """Open the stream and wait for the peer's newest block (GatewayError or
        DeliverError if the peer refuses it). After the stream ends, the watch opens a
        new one by itself; calling start() then does it at once."""
        if self.watching:
            raise ConsortiaError(f"commits on channel {self._channel_id} are already being watched")
        await self._stop_resuming()
        self._stopped = False
        await self._open()

    async def _open(self) -> None:
        stream = self._open_stream()
        try:
            async with asyncio.timeout(self._start_timeout):
                newest = await anext(stream, None)
        except TimeoutError:
            stream.close()
            raise ConsortiaError(f"the peer sent no block of channel {self._channel_id} within "
                                 f"{self._start_timeout:g}s") from None
        except BaseException:
            stream.close()
            raise
        if newest is None:
            raise ConsortiaError(f"the peer ended the block stream of channel {self._channel_id} at once")
        self._stream = stream
        self._reader = asyncio.create_task(self._read(stream))

    async def stop(self) -> None:
        """Close the stream; the transactions still waiting ask the gateway instead."""
        self._stopped = True
        try:
            await self._stop_resuming()  # first: it may be opening a new stream
        finally:
            stream, reader = self._stream, self._reader
            self._stream = self._reader = None
            if stream is not None:
                stream.close()
            self._release()
            await cancel_and_wait(reader)

    @property
    def pending(self) -> int:
        """How many submitted transactions wait for their block."""
        return len(self._waiting)

    def expect(self, transaction_id: str) -> Expected | None:
        """A future of `transaction_id`'s status, if watching; call before submitting it."""
        if not self.watching:
            return None
        expected: Expected = asyncio.get_running_loop().create_future()
        self._waiting[transaction_id] = expected
        return expected

    def forget(self, transaction_id: str) -> None:
        """Stop waiting for a transaction that was not submitted after all."""
        self._waiting.pop(transaction_id, None)

    async def _read(self, stream: AsyncEventStream[events_pb2.FilteredBlock]) -> None:
        try:
            async for block in stream:
                for tx in block.filtered_transactions:
                    # The first occurrence of an id is its outcome; a later one is a duplicate.
                    expected = self._waiting.pop(tx.txid, None)
                    if expected is not None and not expected.done():
                        expected.set_result(status_of(tx.txid, int(tx.tx_validation_code), int(block.number)))
            log.info("the block stream of channel %s ended; commit statuses come from the gateway until it "
                     "is open again", self._channel_id)
        except Exception as exc:  # noqa: BLE001 - any failure of the stream: fall back, and say why
            log.warning("the block stream of channel %s failed (%s); commit statuses come from the gateway "
                        "until it is open again", self._channel_id, exc)
        self._release()
        if not self._stopped:
            self._resumer = asyncio.create_task(self._resume())

    async def _resume(self) -> None:
        """Open a new stream after a pause that doubles with each failure."""
        pause = FIRST_RETRY
        while True:
            await asyncio.sleep(pause)
            try:
                await self._open()
            except Exception as exc:  # noqa: BLE001 - the peer may still be away: try again later
                pause = min(MAX_RETRY, pause * 2)
                log.info("the block stream of channel %s is not back yet (%s); trying again in %gs",
                         self._channel_id, exc, pause)
            else:
                log.info("the block stream of channel %s is open again", self._channel_id)
                return

    async def _stop_resuming(self) -> None:
        resumer, self._resumer = self._resumer, None
        await cancel_and_wait(resumer)

    def _release(self) -> None:
        waiting, self._waiting = self._waiting, {}
        for expected in waiting.values():
            if not expected.done():
                expected.set_result(None)

    async def __aenter__(self) -> CommitWatch:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()
