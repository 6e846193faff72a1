"""Turning a batch into the next block: number, previous hash, signature, disk.

The writer is the only code that appends to a channel's block store. A block is
durable (fsynced) before waiters are told about it, so no deliver client ever receives a
block the orderer could lose in a crash.
"""

from __future__ import annotations

import asyncio
import logging

from fabric_protos.common import common_pb2

from consortia.delivery import HeightNotifier
from consortia.ledger.blockstore import BlockStore
from consortia.protoutil import block as blocks
from consortia.protoutil.signer import Signer

log = logging.getLogger(__name__)


RECENT_BLOCKS = 8


class BlockWriter:
    """Writes blocks, and keeps the last few in memory: deliver clients following the
    chain ask for exactly those, and need not read and parse them back from disk."""

    def __init__(self, channel_id: str, store: BlockStore, signer: Signer, notifier: HeightNotifier) -> None:
        self.channel_id = channel_id
        self.store = store
        self.signer = signer
        self.notifier = notifier
        last = store.last()
        if last is None:
            raise ValueError(f"channel {channel_id} has no genesis block")
        self._previous_hash = blocks.header_hash(last.header)
        self._last_config = blocks.last_config_index(last) if last.header.number > 0 else 0
        self._recent: dict[int, common_pb2.Block] = {}

    def read(self, number: int) -> common_pb2.Block:
        """Block `number`, from memory when it is recent (callers must not modify it)."""
        recent = self._recent.get(number)
        return recent if recent is not None else self.store.get(number)

    def next_block(self, batch: list[bytes]) -> common_pb2.Block:
        block = blocks.new_block(self.store.height, self._previous_hash, batch)
        blocks.sign_block(block, self.signer, last_config_index=self._last_config)
        return block

    async def write(self, batch: list[bytes]) -> common_pb2.Block:
        """Make, sign and durably store the next block; then wake deliver waiters."""
        block = self.next_block(batch)
        await asyncio.to_thread(self.store.append, block)
        self._previous_hash = blocks.header_hash(block.header)
        self._recent[block.header.number] = block
        self._recent.pop(block.header.number - RECENT_BLOCKS, None)
        self.notifier.advance(self.store.height)
        log.info("[%s] wrote block %d with %d envelopes", self.channel_id, block.header.number, len(batch))
        return block
