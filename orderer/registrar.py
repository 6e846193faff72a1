"""The channels this orderer serves: join, list, remove, and reload after a restart."""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fabric_protos.common import common_pb2

from consortia.ledger.blockstore import BlockStore
from consortia.ledger.channelfolders import ChannelFolders, JoinError, genesis_bundle
from consortia.msp.signing import SigningIdentity
from orderer.chainsupport import ChainSupport

log = logging.getLogger(__name__)


class Registrar:
    def __init__(self, data_dir: Path, signer: SigningIdentity) -> None:
        self.folders = ChannelFolders(data_dir)
        self.signer = signer
        self.chains: dict[str, ChainSupport] = {}

    def get(self, channel_id: str) -> ChainSupport | None:
        return self.chains.get(channel_id)

    async def load_existing(self) -> None:
        for folder in self.folders.existing():
            chain = ChainSupport.open(folder, self.signer)
            self.chains[chain.channel_id] = chain
            await chain.start()

    def _check_genesis(self, block: common_pb2.Block) -> str:
        bundle = genesis_bundle(block)
        channel_id = bundle.channel_id
        if bundle.config.orderer.consensus_type != "solo":
            raise JoinError(f"channel {channel_id} uses {bundle.config.orderer.consensus_type!r} consensus, not available here")
        mine = self.signer.identity.certificate.public_bytes(serialization.Encoding.DER)
        consenters = [
            x509.load_pem_x509_certificate(c.identity).public_bytes(serialization.Encoding.DER)
            for c in bundle.config.orderer.consenters
        ]
        if mine not in consenters:
            raise JoinError(f"this orderer ({self.signer.identity.common_name}) is not a consenter of channel {channel_id}")
        return channel_id

    async def join(self, block: common_pb2.Block) -> tuple[str, int]:
        channel_id = self._check_genesis(block)
        if channel_id in self.chains:
            raise JoinError(f"this orderer already serves channel {channel_id}", exists=True)

        def write_genesis(folder: Path) -> None:
            store = BlockStore(folder)
            store.append(block)
            store.close()

        chain = ChainSupport.open(self.folders.create(channel_id, write_genesis), self.signer)
        self.chains[channel_id] = chain
        await chain.start()
        log.info("joined channel %s", channel_id)
        return channel_id, chain.height

    def channels(self) -> list[tuple[str, int]]:
        return [(name, chain.height) for name, chain in sorted(self.chains.items())]

    async def remove(self, channel_id: str) -> int:
        chain = self.chains.pop(channel_id, None)
        if chain is None:
            raise JoinError(f"this orderer does not serve channel {channel_id!r}", not_found=True)
        height = chain.height
        await chain.stop()
        self.folders.remove(channel_id)
        log.info("removed channel %s", channel_id)
        return height

    async def stop(self) -> None:
        for chain in self.chains.values():
            await chain.stop()
