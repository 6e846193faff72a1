"""The endorser: check a signed proposal, run its chaincode, sign what it did.

Checks, each refusing with status 500 and the reason, as Fabric's endorser does: the
proposal decodes; the channel is joined here; the creator's certificate is valid now
and its signature verifies; the transaction id is sha256(nonce ‖ creator); the
proposal's timestamp is near this peer's clock (chaincode reads time from it); the
creator satisfies the channel's Writers policy; the transaction id is not already in
the ledger; the chaincode is defined on the channel. Then the chaincode runs against
a snapshot of committed state. A chaincode response of status 400 or more is returned
without endorsement (from 500 on, as Fabric does, with the unsigned payload, which
tells a gateway that the chaincode itself failed); otherwise the read-write set, event
and response are signed into the proposal response.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Protocol

from fabric_protos.peer import chaincode_pb2, proposal_pb2, proposal_response_pb2

from consortia.errors import ConsortiaError, IdentityError, MessageError, SignatureError
from consortia.msp.signing import SigningIdentity, verify_signed_data
from consortia.policy.paths import APPLICATION_WRITERS
from consortia.protoutil.proposal import UnpackedProposal, unpack_proposal
from consortia.protoutil.response import ERROR, ERROR_THRESHOLD, create_proposal_response, response_payload
from peer.chaincode.handler import ChaincodeCallError
from peer.chaincode.registry import ChaincodeRegistry
from peer.channel import PeerChannel
from peer.endorser.simulator import SimulationError

log = logging.getLogger(__name__)


class Refused(ConsortiaError):
    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


class Definitions(Protocol):
    """Which chaincodes are defined on a channel, at which version."""

    def version(self, channel_id: str, chaincode: str) -> str | None: ...


def refusal(status: int, message: str) -> proposal_response_pb2.ProposalResponse:
    return proposal_response_pb2.ProposalResponse(
        version=1, response=proposal_response_pb2.Response(status=status, message=message)
    )


class Endorser:
    def __init__(self, channels: Callable[[str], PeerChannel | None], signer: SigningIdentity,
                 registry: ChaincodeRegistry, definitions: Definitions, time_window: dt.timedelta | None) -> None:
        self.channels = channels
        self.signer = signer
        self.registry = registry
        self.definitions = definitions
        self.time_window = time_window

    async def process_proposal(self, signed: proposal_pb2.SignedProposal) -> proposal_response_pb2.ProposalResponse:
        try:
            proposal = unpack_proposal(signed)
        except MessageError as exc:
            return refusal(400, f"malformed proposal: {exc}")
        return await self.process(proposal)

    async def process(self, proposal: UnpackedProposal) -> proposal_response_pb2.ProposalResponse:
        """Endorse a proposal already decoded (the gateway's, for this very peer)."""
        try:
            channel = self._check(proposal)
            return await self._endorse(proposal, channel)
        except Refused as exc:
            log.info("[%s] proposal %s refused: %s", proposal.channel_id, proposal.tx_id[:8], exc)
            return refusal(exc.status, str(exc))

    def _check(self, proposal: UnpackedProposal) -> PeerChannel:
        channel = self.channels(proposal.channel_id)
        if channel is None:
            raise Refused(f"channel '{proposal.channel_id}' not found on this peer", 404)
        bundle = channel.bundle
        now = dt.datetime.now(dt.timezone.utc)
        try:
            creator = verify_signed_data(proposal.signed_data(), bundle.msp_manager)
            bundle.msp_manager.validate(creator, now)
        except (IdentityError, SignatureError) as exc:
            raise Refused(f"access denied: creator of the proposal: {exc}", 403) from exc
        try:
            proposal.check_tx_id()
        except MessageError as exc:
            raise Refused(str(exc), 400) from exc
        if self.time_window:
            sent = proposal.channel_header.timestamp.ToDatetime(tzinfo=dt.timezone.utc)
            if abs(now - sent) > self.time_window:
                raise Refused(f"proposal timestamp {sent.isoformat()} is more than {self.time_window} "
                              f"from this peer's clock ({now.isoformat()})", 400)
        verdict = bundle.policies.evaluate(APPLICATION_WRITERS, [creator])
        if not verdict:
            raise Refused(f"access denied: {verdict.reason}", 403)
        if channel.committed(proposal.tx_id) is not None:
            raise Refused(f"duplicate transaction found [{proposal.tx_id}]", 409)
        return channel

    async def _endorse(self, proposal: UnpackedProposal, channel: PeerChannel) -> proposal_response_pb2.ProposalResponse:
        name = proposal.chaincode
        version = self.definitions.version(proposal.channel_id, name)
        if version is None:
            raise Refused(f"chaincode {name} is not defined on channel {proposal.channel_id}", 404)
        async with channel.simulation() as simulator:
            try:
                response, event = await self.registry.execute(
                    proposal.channel_id, name, proposal.tx_id, proposal.spec.input, proposal.signed, simulator
                )
            except ChaincodeCallError as exc:
                raise Refused(str(exc)) from exc
            chaincode_id = chaincode_pb2.ChaincodeID(name=name, version=version)
            if response.status >= ERROR_THRESHOLD:
                log.info("[%s] chaincode %s answered %d: %s", proposal.channel_id, name, response.status, response.message)
                failed = proposal_response_pb2.ProposalResponse(version=1, response=response)
                if response.status >= ERROR:
                    try:
                        results = simulator.results()
                    except SimulationError:
                        results = b""
                    failed.payload = response_payload(proposal, results=results, response=response,
                                                      chaincode_id=chaincode_id, event=event)
                return failed
            try:
                results = simulator.results()
            except SimulationError as exc:
                raise Refused(str(exc)) from exc
        return create_proposal_response(
            proposal, results=results, response=response, event=event, chaincode_id=chaincode_id, endorser=self.signer,
        )
