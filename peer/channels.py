"""The channels a peer has joined: join, list, remove, and reload after a restart."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from fabric_protos.common import common_pb2

from consortia.ledger.channelfolders import ChannelSet, JoinError, genesis_bundle
from consortia.msp.signing import SigningIdentity
from peer.blockpuller import ClientTLS
from peer.channel import PeerChannel
from peer.committer.validator import EndorsementPolicies, TxValidator
from peer.ledger.kvledger import PeerLedger
from peer.lifecycle.definitions import LedgerCollections
from peer.privatedata.network import PrivateDataNetwork


class ChannelManager(ChannelSet[PeerChannel]):
    not_served = "this peer has not joined channel {!r}"
    already_served = "this peer already joined channel {}"

    def __init__(self, data_dir: Path, signer: SigningIdentity, tls: ClientTLS | None = None,
                 max_backoff: float = 5.0, policies: Callable[[str], EndorsementPolicies] | None = None,
                 listener: Callable[[str, Iterable[tuple[str, str]]], None] | None = None) -> None:
        def open_channel(folder: Path) -> PeerChannel:
            endorsement = policies(folder.name) if policies is not None else None
            channel = PeerChannel.open(folder, signer, tls, endorsement, max_backoff,
                                       LedgerCollections(signer.msp_id))
            channel.private_network = self.private_network
            if listener is not None:
                channel.listeners.append(listener)
            return channel

        self.private_network: PrivateDataNetwork | None = None  # given to each channel opened
        super().__init__(data_dir, open_channel)
        self.signer = signer

    async def join(self, block: common_pb2.Block) -> tuple[str, int]:
        bundle = genesis_bundle(block)
        channel_id = bundle.channel_id
        mine = self.signer.msp_id
        if mine not in bundle.application_msp_ids:
            raise JoinError(f"this peer's organization {mine} is not a member of channel {channel_id} "
                            f"(members: {', '.join(bundle.application_msp_ids)})")

        def commit_genesis(folder: Path) -> None:
            ledger = PeerLedger(folder)
            try:
                result = TxValidator(bundle, ledger.state()).validate(block)  # genesis: no policies involved
                ledger.commit(block, result.codes, result.updates, result.history)
            finally:
                ledger.close()

        return await self.add(channel_id, commit_genesis)
