"""Everything the orderer keeps for one channel, behind one object.

It ties the channel's configuration (MSPs, policies, batch settings) to its block store,
block writer and consenter, and serves as the block source of the Deliver service.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fabric_protos.common import common_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.channelconfig.genesis import config_from_block
from consortia.delivery import HeightNotifier
from consortia.errors import ConfigError
from consortia.ledger.blockstore import BlockStore
from consortia.protoutil.signer import Signer
from orderer.blockcutter import BatchLimits, BlockCutter
from orderer.blockwriter import BlockWriter
from orderer.consensus import Chain
from orderer.consensus.solo import SoloChain

log = logging.getLogger(__name__)


class ChainSupport:
    def __init__(self, store: BlockStore, signer: Signer) -> None:
        genesis = store.get(0)
        self.bundle = ChannelBundle.from_config(config_from_block(genesis))
        self.channel_id = self.bundle.channel_id
        self.store = store
        self.notifier = HeightNotifier(store.height)
        orderer = self.bundle.config.orderer
        self.absolute_max_bytes = orderer.batch_size.absolute_max_bytes
        writer = self.writer = BlockWriter(self.channel_id, store, signer, self.notifier)
        cutter = BlockCutter(
            BatchLimits(
                max_message_count=orderer.batch_size.max_message_count,
                preferred_max_bytes=orderer.batch_size.preferred_max_bytes,
            )
        )
        if orderer.consensus_type != "solo":
            raise ConfigError([f"channel {self.channel_id}: consensus type {orderer.consensus_type!r} is not available"])
        self.chain: Chain = SoloChain(self.channel_id, cutter, writer, orderer.batch_timeout_ms / 1000)

    @classmethod
    def open(cls, folder: Path, signer: Signer) -> ChainSupport:
        return cls(BlockStore(folder), signer)

    # BlockSource, for Deliver
    @property
    def height(self) -> int:
        return self.store.height

    def read(self, number: int) -> common_pb2.Block:
        return self.writer.read(number)

    async def wait_for_height(self, height: int) -> None:
        await self.notifier.wait_for(height)

    async def start(self) -> None:
        await self.chain.start()
        log.info("[%s] serving channel at height %d", self.channel_id, self.height)

    async def stop(self) -> None:
        await self.chain.stop()
        self.store.close()
