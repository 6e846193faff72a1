"""The channels this orderer serves: join, list, remove, and reload after a restart.

Each channel lives in `<data_dir>/channels/<channel>/`. Joining writes the genesis block
into a fresh folder under a temporary name and renames it into place, so a crash
during a join leaves either no channel or a complete one; on start, every channel
folder found is opened again.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fabric_protos.common import common_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.channelconfig.genesis import config_from_block
from consortia.errors import ConfigError, ConsortiaError
from consortia.ledger.blockstore import BlockStore
from consortia.msp.signing import SigningIdentity
from orderer.chainsupport import ChainSupport

log = logging.getLogger(__name__)

_CHANNEL_NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789.-")


class JoinError(ConsortiaError):
    """A join or remove request cannot be carried out; the message says why."""

    def __init__(self, message: str, *, exists: bool = False, not_found: bool = False) -> None:
        super().__init__(message)
        self.exists = exists
        self.not_found = not_found


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Registrar:
    def __init__(self, data_dir: Path, signer: SigningIdentity) -> None:
        self.root = data_dir / "channels"
        self.root.mkdir(parents=True, exist_ok=True)
        self.signer = signer
        self.chains: dict[str, ChainSupport] = {}

    def get(self, channel_id: str) -> ChainSupport | None:
        return self.chains.get(channel_id)

    async def load_existing(self) -> None:
        for folder in sorted(self.root.iterdir()):
            if folder.name.startswith(".") or not folder.is_dir():
                if folder.name.startswith(".join-"):
                    shutil.rmtree(folder, ignore_errors=True)  # an interrupted join
                continue
            chain = ChainSupport.open(folder, self.signer)
            self.chains[chain.channel_id] = chain
            await chain.start()

    def _check_genesis(self, block: common_pb2.Block) -> ChannelBundle:
        if block.header.number != 0:
            raise JoinError(f"the join block is block {block.header.number}; only a genesis block (0) can start a channel")
        try:
            bundle = ChannelBundle.from_config(config_from_block(block))
        except ConfigError as exc:
            raise JoinError(f"the join block is not a valid genesis block: {exc}") from exc
        channel_id = bundle.channel_id
        if not set(channel_id) <= _CHANNEL_NAME_OK or not channel_id[:1].isalpha():
            raise JoinError(f"channel name {channel_id!r} is not valid")
        if bundle.config.orderer.consensus_type != "solo":
            raise JoinError(f"channel {channel_id} uses {bundle.config.orderer.consensus_type!r} consensus, not available here")
        mine = self.signer.identity.certificate.public_bytes(serialization.Encoding.DER)
        consenters = [
            x509.load_pem_x509_certificate(c.identity).public_bytes(serialization.Encoding.DER)
            for c in bundle.config.orderer.consenters
        ]
        if mine not in consenters:
            raise JoinError(f"this orderer ({self.signer.identity.common_name}) is not a consenter of channel {channel_id}")
        return bundle

    async def join(self, block: common_pb2.Block) -> ChainSupport:
        bundle = self._check_genesis(block)
        channel_id = bundle.channel_id
        if channel_id in self.chains:
            raise JoinError(f"this orderer already serves channel {channel_id}", exists=True)
        final = self.root / channel_id
        staging = Path(tempfile.mkdtemp(prefix=".join-", dir=self.root))
        try:
            store = BlockStore(staging)
            store.append(block)
            store.close()
            _fsync_dir(staging)
            os.replace(staging, final)
            _fsync_dir(self.root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        chain = ChainSupport.open(final, self.signer)
        self.chains[channel_id] = chain
        await chain.start()
        log.info("joined channel %s", channel_id)
        return chain

    async def remove(self, channel_id: str) -> None:
        chain = self.chains.pop(channel_id, None)
        if chain is None:
            raise JoinError(f"this orderer does not serve channel {channel_id!r}", not_found=True)
        await chain.stop()
        trash = self.root / f".removed-{channel_id}"
        os.replace(self.root / channel_id, trash)
        _fsync_dir(self.root)
        shutil.rmtree(trash, ignore_errors=True)
        log.info("removed channel %s", channel_id)

    async def stop(self) -> None:
        for chain in self.chains.values():
            await chain.stop()
