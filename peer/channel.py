"""One channel on a peer: its ledger, its configuration, and the loop that keeps it current.

The loop takes verified blocks from the block puller, validates each transaction, and
commits the block with its validation codes. Validation and commit run in a worker
thread, one block at a time, so the event loop keeps serving clients meanwhile. If a
block cannot be committed (a disk error, say), nothing is marked invalid: the loop
logs, waits, and pulls again from the ledger's height.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from fabric_protos.common import common_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.channelconfig.genesis import config_from_block
from consortia.delivery import HeightNotifier
from consortia.msp.signing import SigningIdentity
from peer.blockpuller import BlockPuller, ClientTLS
from peer.committer.validator import EndorsementPolicies, TxValidator
from peer.endorser.simulator import TxSimulator
from peer.ledger.kvledger import PeerLedger
from peer.ledger.queries import LedgerQueries
from peer.ledger.statedb import StateReader

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0


class PeerChannel:
    def __init__(self, ledger: PeerLedger, signer: SigningIdentity, tls: ClientTLS | None = None,
                 policies: EndorsementPolicies | None = None, max_backoff: float = 5.0) -> None:
        self.ledger = ledger
        self.bundle = ChannelBundle.from_config(config_from_block(ledger.blocks.get(0)))
        self.channel_id = self.bundle.channel_id
        self.validator = TxValidator(self.bundle, ledger.state(), policies)
        self.notifier = HeightNotifier(ledger.height)
        self.puller = BlockPuller(self.bundle, signer, self._position, tls, max_backoff)
        self._task: asyncio.Task[None] | None = None
        self._readers: list[StateReader] = []
        # Told the keys each committed block updated (called in the committing thread).
        self.listeners: list[Callable[[str, Iterable[tuple[str, str]]], None]] = []

    @classmethod
    def open(cls, folder: Path, signer: SigningIdentity, tls: ClientTLS | None = None,
             policies: EndorsementPolicies | None = None, max_backoff: float = 5.0) -> PeerChannel:
        return cls(PeerLedger(folder), signer, tls, policies, max_backoff)

    def _position(self) -> tuple[int, bytes]:
        return self.ledger.height, self.ledger.last_header_hash()

    # BlockSource, for Deliver
    @property
    def height(self) -> int:
        return self.ledger.height

    def read(self, number: int) -> common_pb2.Block:
        return self.ledger.blocks.get(number)

    async def wait_for_height(self, height: int) -> None:
        await self.notifier.wait_for(height)

    @contextmanager
    def reader(self) -> Iterator[StateReader]:
        """A read connection of its own (pooled), which sees committed state only."""
        reader = self._readers.pop() if self._readers else self.ledger.db.reader()
        try:
            yield reader
        finally:
            self._readers.append(reader)

    @asynccontextmanager
    async def simulation(self) -> AsyncIterator[TxSimulator]:
        """A simulator over a snapshot of committed state."""
        with self.reader() as reader, reader.snapshot():
            yield TxSimulator(reader, LedgerQueries(reader, self.ledger.blocks))

    def committed(self, tx_id: str) -> tuple[int, int, int] | None:
        """(block, position, validation code) of a committed transaction, or None."""
        with self.reader() as reader:
            return reader.tx_location(tx_id)

    def commit(self, block: common_pb2.Block) -> list[int]:
        """Validate and commit one block (in the calling thread); its validation codes."""
        result = self.validator.validate(block)
        self.ledger.commit(block, result.codes, result.updates, result.history, result.tx_ids())
        for listener in self.listeners:
            listener(self.channel_id, result.updates.keys())
        return result.codes

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"commit-{self.channel_id}")

    async def _run(self) -> None:
        while True:
            try:
                async for block in self.puller.blocks():
                    codes = await asyncio.to_thread(self.commit, block)
                    self.notifier.advance(self.ledger.height)
                    valid = sum(1 for c in codes if c == 0)
                    log.info("[%s] committed block %d: %d of %d transactions valid",
                             self.channel_id, block.header.number, valid, len(codes))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("[%s] cannot commit block %d; retrying in %.0fs",
                              self.channel_id, self.ledger.height, RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for reader in self._readers:
            reader.close()
        self._readers.clear()
        self.ledger.close()
