"""Reaching the other member peers of a collection: push at endorsement, pull at commit.

The peers of each organization, and the TLS roots to reach them, come from the channel
configuration (as the gateway finds endorsers). An endorser pushes each collection's
write set to up to `maxPeerCount` peers of the member organizations and needs
`requiredPeerCount` of them to accept it, or the endorsement fails; a peer pulls what it
lacks from member peers, one after another, checking each write set against its hash.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeAlias

import grpc
from fabric_protos.peer import collection_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.errors import ConsortiaError
from consortia.lifecycle.collections import member_msp_ids
from consortia.msp.signing import SigningIdentity
from consortia.protos.v1 import private_data_pb2, private_data_pb2_grpc
from peer.ledger.pvtdata import CollPvtRWSet, encode_pvt
from peer.ledger.statedb import MissingPrivate
from peer.privatedata.requests import sign_request

log = logging.getLogger(__name__)

Config: TypeAlias = collection_pb2.StaticCollectionConfig
ChannelOpener = Callable[[str, bytes], grpc.aio.Channel]  # (address, TLS roots) -> a channel


class DisseminationError(ConsortiaError):
    """Too few member peers accepted a collection's private data."""


@dataclass(frozen=True)
class PeerAddress:
    msp_id: str
    address: str
    tls_roots: bytes


def member_peers(bundle: ChannelBundle, msp_ids: Iterable[str], own_address: str) -> list[PeerAddress]:
    """The peers of these organizations the channel configuration lists, this one apart."""
    wanted = set(msp_ids)
    found = []
    for org in bundle.config.application.organizations:
        if org.msp.msp_id not in wanted:
            continue
        roots = b"".join(org.msp.tls_root_certs)
        for endpoint in org.endpoints:
            address = f"{endpoint.host}:{endpoint.port}"
            if address != own_address:
                found.append(PeerAddress(org.msp.msp_id, address, roots))
    return found


class PrivateDataNetwork:
    def __init__(self, signer: SigningIdentity, open_channel: ChannelOpener, own_address: str,
                 timeout: float = 5.0) -> None:
        self.signer = signer
        self._open = open_channel
        self.own_address = own_address
        self.timeout = timeout

    def _stub(self, peer: PeerAddress) -> private_data_pb2_grpc.PrivateDataStub:
        return private_data_pb2_grpc.PrivateDataStub(self._open(peer.address, peer.tls_roots))

    # ----- dissemination --------------------------------------------------------------

    async def disseminate(self, bundle: ChannelBundle, tx_id: str, height: int,
                          sets: list[tuple[CollPvtRWSet, Config]]) -> None:
        """Push each write set (with its collection config) to member peers; raise
        DisseminationError if a collection's requiredPeerCount is not met."""
        plan: dict[PeerAddress, list[CollPvtRWSet]] = {}
        needs: list[tuple[CollPvtRWSet, int, list[PeerAddress]]] = []
        for pvt, config in sets:
            peers = member_peers(bundle, member_msp_ids(config), self.own_address)
            random.shuffle(peers)
            required = int(config.required_peer_count)
            chosen = peers[: int(config.maximum_peer_count)]
            if required > len(chosen):
                raise DisseminationError(
                    f"failed to distribute private collection {pvt.collection} of {pvt.namespace}: it needs "
                    f"{required} other member peer(s) (requiredPeerCount) and at most {len(chosen)} can be reached "
                    f"(maxPeerCount {config.maximum_peer_count}, {len(peers)} listed)")
            for peer in chosen:
                plan.setdefault(peer, []).append(pvt)
            needs.append((pvt, required, chosen))
        if not plan:
            return
        peers = list(plan)
        answers = await asyncio.gather(*(self._push(bundle.channel_id, peer, tx_id, height, plan[peer])
                                         for peer in peers))
        kept = {peer: answer for peer, answer in zip(peers, answers)}
        for pvt, required, chosen in needs:
            name = f"{pvt.namespace}/{pvt.collection}"
            accepted = sum(1 for peer in chosen if name in kept[peer])
            if accepted < required:
                raise DisseminationError(
                    f"failed to distribute private collection {pvt.collection} of {pvt.namespace}: "
                    f"{accepted} of {len(chosen)} member peer(s) accepted it, {required} required (requiredPeerCount)")

    async def _push(self, channel_id: str, peer: PeerAddress, tx_id: str, height: int,
                    sets: list[CollPvtRWSet]) -> set[str]:
        request = sign_request(self.signer, channel_id, push=private_data_pb2.PushPrivateData(
            tx_id=tx_id, endorsed_at=height, pvt_rwset=encode_pvt(sets)))
        try:
            response = await self._stub(peer).Push(request, timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            log.info("[%s] pushing private data of %s to %s failed: %s", channel_id, tx_id[:8], peer.address,
                     exc.details() or exc.code().name)
            return set()
        return set(response.kept)

    # ----- pulls ----------------------------------------------------------------------

    async def pull(self, bundle: ChannelBundle, tx_ids: dict[tuple[int, int], str],
                   wanted: list[tuple[MissingPrivate, Config]],
                   accept: Callable[[MissingPrivate, bytes], bool]) -> dict[MissingPrivate, bytes]:
        """What member peers hold of the `wanted` write sets (each with its collection
        config) that `accept` finds true to the block. `tx_ids` names each (block, tx)."""
        found: dict[MissingPrivate, bytes] = {}
        peers: dict[PeerAddress, list[MissingPrivate]] = {}
        for missing, config in wanted:
            for peer in member_peers(bundle, member_msp_ids(config), self.own_address):
                peers.setdefault(peer, []).append(missing)
        order = list(peers)
        random.shuffle(order)
        for peer in order:
            asked = [m for m in peers[peer] if m not in found]
            if not asked:
                continue
            digests = [private_data_pb2.PrivateDataDigest(
                tx_id=tx_ids.get((m.block, m.tx), ""), namespace=m.namespace, collection=m.collection,
                block=m.block, tx_num=m.tx, rwset_hash=m.digest) for m in asked]
            request = sign_request(self.signer, bundle.channel_id,
                                   pull=private_data_pb2.PullPrivateData(digests=digests))
            try:
                response = await self._stub(peer).Pull(request, timeout=self.timeout)
            except grpc.aio.AioRpcError as exc:
                log.info("[%s] pulling private data from %s failed: %s", bundle.channel_id, peer.address,
                         exc.details() or exc.code().name)
                continue
            by_key = {(m.block, m.tx, m.namespace, m.collection): m for m in asked}
            for element in response.elements:
                d = element.digest
                match = by_key.get((d.block, d.tx_num, d.namespace, d.collection))
                if match is not None and accept(match, bytes(element.rwset)):
                    found[match] = bytes(element.rwset)
        return found
