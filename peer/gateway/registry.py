"""The peers and orderers a gateway can call on a channel, known from its configuration.

Every application organization of a channel lists its peers' endpoints, and the
orderer section its ordering nodes, with the TLS roots to reach them (Fabric learns
the same from discovery). This peer calls its own endorser in process; the others
over gRPC. Each peer's calls in flight are counted, so an evaluation goes to the
least-loaded peer, and a peer that just failed is tried last for a while.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import proposal_response_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.errors import ConsortiaError
from consortia.protoutil.proposal import UnpackedProposal

# How long a peer that failed is put behind the others.
FAILURE_PENALTY_SECONDS = 10.0


class Unreachable(ConsortiaError):
    """A node could not be called (connection refused, timed out, stream broken)."""


class EndorserClient(Protocol):
    async def process_proposal(self, proposal: UnpackedProposal, timeout: float, *,
                               evaluate: bool = False) -> proposal_response_pb2.ProposalResponse:
        """Endorse `proposal`. `evaluate`: only its result is wanted (Gateway.Evaluate),
        so an endorser that can may leave the response unsigned."""


class OrdererClient(Protocol):
    async def broadcast(self, envelope: common_pb2.Envelope, timeout: float) -> ab_pb2.BroadcastResponse: ...


class Connector(Protocol):
    """Makes clients for remote nodes (TLS roots: PEM certificates, empty for plaintext)."""

    def endorser(self, address: str, tls_roots: bytes) -> EndorserClient: ...

    def orderer(self, address: str, tls_roots: bytes) -> OrdererClient: ...


@dataclass(eq=False)
class Endorser:
    msp_id: str
    address: str
    client: EndorserClient
    local: bool = False
    in_flight: int = 0
    failed_at: float = float("-inf")

    def recently_failed(self) -> bool:
        return time.monotonic() - self.failed_at < FAILURE_PENALTY_SECONDS

    def preference(self) -> tuple[bool, int, bool]:
        """Sort key: healthy first, then least loaded, then this peer itself."""
        return self.recently_failed(), self.in_flight, not self.local

    async def process_proposal(self, proposal: UnpackedProposal, timeout: float, *,
                               evaluate: bool = False) -> proposal_response_pb2.ProposalResponse:
        self.in_flight += 1
        try:
            return await self.client.process_proposal(proposal, timeout, evaluate=evaluate)
        except Unreachable:
            self.failed_at = time.monotonic()
            raise
        finally:
            self.in_flight -= 1


@dataclass(frozen=True)
class Orderer:
    msp_id: str
    address: str
    client: OrdererClient


@dataclass(frozen=True)
class ChannelMembers:
    """Who serves one channel: endorsing peers by MSP id, and the orderers."""

    endorsers: dict[str, list[Endorser]]
    orderers: list[Orderer]

    def ranked(self, msp_id: str) -> list[Endorser]:
        return sorted(self.endorsers.get(msp_id, []), key=Endorser.preference)

    def available(self) -> dict[str, int]:
        return {msp_id: len(peers) for msp_id, peers in self.endorsers.items()}


class Registry:
    def __init__(self, local_msp_id: str, local_address: str, local: EndorserClient, connector: Connector) -> None:
        self.local_msp_id = local_msp_id
        self.local_address = local_address
        self._local = local
        self._connector = connector
        self._endorsers: dict[str, Endorser] = {}
        self._orderers: dict[str, Orderer] = {}
        self._members: dict[str, tuple[ChannelBundle, ChannelMembers]] = {}

    def members(self, bundle: ChannelBundle) -> ChannelMembers:
        """The channel's peers and orderers (recomputed when its configuration changes)."""
        cached = self._members.get(bundle.channel_id)
        if cached is not None and cached[0] is bundle:
            return cached[1]
        endorsers: dict[str, list[Endorser]] = {}
        for org in bundle.config.application.organizations:
            msp_id = org.msp.msp_id
            roots = b"".join(org.msp.tls_root_certs)
            for endpoint in org.endpoints:
                address = f"{endpoint.host}:{endpoint.port}"
                endorsers.setdefault(msp_id, []).append(self._endorser(msp_id, address, roots))
        # This peer serves the channel whether or not the configuration names its address.
        own = endorsers.setdefault(self.local_msp_id, [])
        if not any(e.local for e in own):
            own.append(self._endorser(self.local_msp_id, self.local_address, b""))
        orderer_config = bundle.config.orderer
        roots_by_msp = {org.msp.msp_id: b"".join(org.msp.tls_root_certs) for org in orderer_config.organizations}
        all_roots = b"".join(roots_by_msp.values())
        if orderer_config.consenters:
            places = [(c.msp_id, f"{c.host}:{c.port}") for c in orderer_config.consenters]
        else:
            places = [(org.msp.msp_id, f"{e.host}:{e.port}") for org in orderer_config.organizations
                      for e in org.endpoints]
        orderers = [self._orderer(msp_id, address, roots_by_msp.get(msp_id) or all_roots)
                    for msp_id, address in places]
        members = ChannelMembers(endorsers, orderers)
        self._members[bundle.channel_id] = (bundle, members)
        return members

    def _endorser(self, msp_id: str, address: str, roots: bytes) -> Endorser:
        found = self._endorsers.get(address)
        if found is None:
            if address == self.local_address and msp_id == self.local_msp_id:
                found = Endorser(msp_id, address, self._local, local=True)
            else:
                found = Endorser(msp_id, address, self._connector.endorser(address, roots))
            self._endorsers[address] = found
        return found

    def _orderer(self, msp_id: str, address: str, roots: bytes) -> Orderer:
        found = self._orderers.get(address)
        if found is None:
            found = self._orderers[address] = Orderer(msp_id, address, self._connector.orderer(address, roots))
        return found
