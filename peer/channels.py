"""The channels a peer has joined: join, list, remove, and reload after a restart."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from fabric_protos.common import common_pb2

from consortia.ledger.channelfolders import ChannelFolders, JoinError, genesis_bundle
from consortia.msp.signing import SigningIdentity
from peer.blockpuller import ClientTLS
from peer.channel import PeerChannel
from peer.committer.validator import EndorsementPolicies, TxValidator
from peer.ledger.kvledger import PeerLedger

log = logging.getLogger(__name__)


class ChannelManager:
    def __init__(self, data_dir: Path, signer: SigningIdentity, tls: ClientTLS | None = None,
                 max_backoff: float = 5.0, policies: Callable[[str], EndorsementPolicies] | None = None) -> None:
        self.folders = ChannelFolders(data_dir)
        self.signer = signer
        self.tls = tls
        self.policies = policies
        self.max_backoff = max_backoff
        self.joined: dict[str, PeerChannel] = {}

    def get(self, channel_id: str) -> PeerChannel | None:
        return self.joined.get(channel_id)

    def _open(self, folder: Path) -> PeerChannel:
        policies = self.policies(folder.name) if self.policies is not None else None
        return PeerChannel.open(folder, self.signer, self.tls, policies, self.max_backoff)

    async def load_existing(self) -> None:
        for folder in self.folders.existing():
            channel = self._open(folder)
            self.joined[channel.channel_id] = channel
            await channel.start()

    async def join(self, block: common_pb2.Block) -> tuple[str, int]:
        bundle = genesis_bundle(block)
        channel_id = bundle.channel_id
        mine = self.signer.msp_id
        if mine not in bundle.application_msp_ids:
            raise JoinError(f"this peer's organization {mine} is not a member of channel {channel_id} "
                            f"(members: {', '.join(bundle.application_msp_ids)})")
        if channel_id in self.joined:
            raise JoinError(f"this peer already joined channel {channel_id}", exists=True)

        def commit_genesis(folder: Path) -> None:
            ledger = PeerLedger(folder)
            try:
                result = TxValidator(bundle, ledger.state()).validate(block)  # genesis: no policies involved
                ledger.commit(block, result.codes, result.updates, result.history)
            finally:
                ledger.close()

        channel = self._open(self.folders.create(channel_id, commit_genesis))
        self.joined[channel_id] = channel
        await channel.start()
        log.info("joined channel %s", channel_id)
        return channel_id, channel.height

    def channels(self) -> list[tuple[str, int]]:
        return [(name, channel.height) for name, channel in sorted(self.joined.items())]

    async def remove(self, channel_id: str) -> int:
        channel = self.joined.pop(channel_id, None)
        if channel is None:
            raise JoinError(f"this peer has not joined channel {channel_id!r}", not_found=True)
        height = channel.height
        await channel.stop()
        self.folders.remove(channel_id)
        log.info("removed channel %s", channel_id)
        return height

    async def stop(self) -> None:
        for channel in self.joined.values():
            await channel.stop()
