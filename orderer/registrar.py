"""The channels this orderer serves: join, list, remove, and reload after a restart."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fabric_protos.common import common_pb2

from consortia.ledger.blockstore import BlockStore
from consortia.ledger.channelfolders import ChannelSet, JoinError, genesis_bundle
from consortia.msp.signing import SigningIdentity
from orderer.chainsupport import ChainSupport


class Registrar(ChannelSet[ChainSupport]):
    not_served = "this orderer does not serve channel {!r}"
    already_served = "this orderer already serves channel {}"

    def __init__(self, data_dir: Path, signer: SigningIdentity) -> None:
        super().__init__(data_dir, lambda folder: ChainSupport.open(folder, signer))
        self.signer = signer

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

        def write_genesis(folder: Path) -> None:
            store = BlockStore(folder)
            store.append(block)
            store.close()

        return await self.add(channel_id, write_genesis)
