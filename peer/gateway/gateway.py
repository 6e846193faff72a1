"""Evaluate, Endorse and Submit: a client's transaction carried through the network.

Evaluate runs a proposal on one peer of the client's organization (the least loaded)
and returns the chaincode's answer. Endorse works out from the chaincode's endorsement
policy which organizations must endorse (preferring combinations that include the
gateway's own), asks one peer of each in parallel, moves to another peer of an
organization when one fails, and returns the transaction for the client to sign once
the responses all agree. Fabric's gateway asks its own organization first and the
others after, because it learns from that first answer which chaincodes and
collections are involved; the policy here comes from the chaincode definition, so
nothing is gained by waiting. Submit hands the signed transaction to an orderer of the channel, trying the
others when one cannot take it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2
from google.protobuf.message import DecodeError

from consortia.errors import MessageError, PolicyError
from consortia.policy import SignatureRule
from consortia.protoutil.proposal import UnpackedProposal, unpack_proposal
from consortia.protoutil.transaction import create_transaction_payload
from peer.channel import PeerChannel
from peer.committer.validator import EndorsementPolicies
from peer.gateway.endorsement import Outcome, classify, difference, result_response, unreachable
from peer.gateway.errors import Code, GatewayError, detail
from peer.gateway.plan import Layout, policy_layouts, preferred, rule_layouts
from peer.gateway.registry import ChannelMembers, Endorser, Registry, Unreachable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GatewayOptions:
    # Longest wait for one peer's endorsement, or one orderer's answer.
    endorsement_timeout: float = 30.0
    broadcast_timeout: float = 30.0


class Gateway:
    def __init__(self, channels: Callable[[str], PeerChannel | None], registry: Registry,
                 policies: Callable[[str], EndorsementPolicies], options: GatewayOptions = GatewayOptions()) -> None:
        self.channels = channels
        self.registry = registry
        self.policies = policies
        self.options = options

    def _channel(self, channel_id: str) -> PeerChannel:
        channel = self.channels(channel_id)
        if channel is None:
            raise GatewayError(Code.FAILED_PRECONDITION, f"channel {channel_id!r} is not joined by this peer")
        return channel

    def _proposal(self, signed: proposal_pb2.SignedProposal) -> UnpackedProposal:
        try:
            return unpack_proposal(signed)
        except MessageError as exc:
            raise GatewayError(Code.INVALID_ARGUMENT, f"failed to unpack transaction proposal: {exc}") from exc

    async def _call(self, endorser: Endorser, signed: proposal_pb2.SignedProposal,
                    ) -> tuple[Outcome, proposal_response_pb2.ProposalResponse | None]:
        try:
            response = await endorser.process_proposal(signed, self.options.endorsement_timeout)
        except Unreachable as exc:
            log.warning("endorser %s (%s) unreachable: %s", endorser.address, endorser.msp_id, exc)
            return unreachable(str(exc)), None
        return classify(response), response

    # Evaluate

    async def evaluate(self, request: gateway_pb2.EvaluateRequest) -> gateway_pb2.EvaluateResponse:
        proposal = self._proposal(request.proposed_transaction)
        channel = self._channel(proposal.channel_id)
        members = self.registry.members(channel.bundle)
        orgs = list(request.target_organizations) or [_msp_of(proposal.creator)]
        candidates = sorted((e for org in orgs for e in members.endorsers.get(org, [])), key=Endorser.preference)
        if not candidates:
            raise GatewayError(Code.FAILED_PRECONDITION,
                               f"no peers of {', '.join(orgs)} are known on channel {proposal.channel_id}")
        details = []
        code = Code.UNAVAILABLE
        for endorser in candidates:
            outcome, response = await self._call(endorser, request.proposed_transaction)
            if outcome.ok and response is not None:
                return gateway_pb2.EvaluateResponse(result=result_response(response))
            details.append(detail(endorser.address, endorser.msp_id, outcome.message))
            code = outcome.code
            if not outcome.retry:
                raise GatewayError(code, f"evaluate call to endorser returned error: {outcome.message}", details)
        raise GatewayError(code, "failed to evaluate transaction, see attached details for more info", details)

    # Endorse

    async def endorse(self, request: gateway_pb2.EndorseRequest) -> gateway_pb2.EndorseResponse:
        proposal = self._proposal(request.proposed_transaction)
        channel = self._channel(proposal.channel_id)
        members = self.registry.members(channel.bundle)
        layouts = self._layouts(proposal, channel, members, list(request.endorsing_organizations))
        collection = _Collection(self, proposal.signed, members)
        for layout in layouts:
            await asyncio.gather(*(collection.fill(org, count) for org, count in layout.needs))
            responses = collection.responses(layout)
            if responses is not None:
                try:
                    payload = create_transaction_payload(proposal, responses)
                except MessageError as exc:
                    raise GatewayError(Code.ABORTED, f"failed to assemble transaction: {exc}") from exc
                log.debug("[%s] %s endorsed by %s", proposal.channel_id, proposal.tx_id[:8], layout)
                return gateway_pb2.EndorseResponse(prepared_transaction=common_pb2.Envelope(payload=payload))
            if collection.final:  # the chaincode failed, or the client was refused: so would it elsewhere
                raise GatewayError(Code.ABORTED, "failed to endorse transaction, see attached details for more info",
                                   collection.details)
        raise GatewayError(Code.ABORTED,
                           "failed to collect enough transaction endorsements, see attached details for more info",
                           collection.details)

    def _layouts(self, proposal: UnpackedProposal, channel: PeerChannel, members: ChannelMembers,
                 chosen: list[str]) -> list[Layout]:
        available = members.available()
        if chosen:
            missing = [org for org in chosen if not available.get(org)]
            if missing:
                raise GatewayError(Code.UNAVAILABLE, f"no peers of {', '.join(missing)} are known on channel "
                                                     f"{proposal.channel_id}")
            return [Layout.of(dict.fromkeys(chosen, 1))]
        policy = self.policies(proposal.channel_id).policy_for(proposal.chaincode)
        described = _describe(policy, channel)
        if isinstance(policy, str):
            try:
                group, found = channel.bundle.policies.get(policy)
            except PolicyError as exc:
                raise GatewayError(Code.FAILED_PRECONDITION, str(exc)) from exc
            layouts = policy_layouts(found, group)
        else:
            layouts = rule_layouts(policy)
        usable = preferred(layouts, available, self.registry.local_msp_id)
        if not usable:
            peers = ", ".join(f"{m}: {n}" for m, n in sorted(available.items()))
            raise GatewayError(
                Code.FAILED_PRECONDITION,
                f"no combination of the channel's peers can satisfy the endorsement policy of chaincode "
                f"{proposal.chaincode} on channel {proposal.channel_id} ({described}); peers by organization: {peers}",
            )
        return usable

    # Submit

    async def submit(self, request: gateway_pb2.SubmitRequest) -> gateway_pb2.SubmitResponse:
        if not request.HasField("prepared_transaction") or not request.prepared_transaction.payload:
            raise GatewayError(Code.INVALID_ARGUMENT, "a prepared transaction is required")
        if not request.prepared_transaction.signature:
            raise GatewayError(Code.INVALID_ARGUMENT, "prepared transaction must be signed")
        channel = self._channel(request.channel_id)
        orderers = self.registry.members(channel.bundle).orderers
        if not orderers:
            raise GatewayError(Code.UNAVAILABLE, "no orderer nodes available")
        details = []
        for orderer in random.sample(orderers, len(orderers)):
            try:
                answer = await orderer.client.broadcast(request.prepared_transaction, self.options.broadcast_timeout)
            except Unreachable as exc:
                log.warning("[%s] orderer %s unreachable: %s", request.channel_id, orderer.address, exc)
                details.append(detail(orderer.address, orderer.msp_id, str(exc)))
                continue
            if answer.status == common_pb2.SUCCESS:
                log.debug("[%s] %s sent to orderer %s", request.channel_id, request.transaction_id[:8], orderer.address)
                return gateway_pb2.SubmitResponse()
            message = (f"received unsuccessful response from orderer: status={common_pb2.Status.Name(answer.status)}, "
                       f"info={answer.info}")
            details.append(detail(orderer.address, orderer.msp_id, message))
            if 400 <= answer.status < 500:  # the transaction itself was refused: no point trying others
                raise GatewayError(Code.ABORTED, message, details)
        raise GatewayError(Code.UNAVAILABLE, "no orderers could successfully process transaction", details)


@dataclass
class _Collection:
    """Endorsements gathered for one proposal, across the layouts tried."""

    gateway: Gateway
    signed: proposal_pb2.SignedProposal
    members: ChannelMembers
    good: dict[str, list[proposal_response_pb2.ProposalResponse]] = field(default_factory=dict)
    details: list[gateway_pb2.ErrorDetail] = field(default_factory=list)
    tried: set[str] = field(default_factory=set)
    reference: bytes | None = None
    # A failure no other peer would avoid (the chaincode itself failed, access denied).
    final: bool = False

    async def fill(self, msp_id: str, count: int) -> None:
        """Ask peers of `msp_id`, best first, one at a time, until `count` have endorsed."""
        for endorser in self.members.ranked(msp_id):
            if len(self.good.get(msp_id, [])) >= count:
                return
            if endorser.address in self.tried:
                continue
            self.tried.add(endorser.address)
            outcome, response = await self.gateway._call(endorser, self.signed)
            if not outcome.ok or response is None:
                self.final = self.final or not outcome.retry
                self.details.append(detail(endorser.address, endorser.msp_id, outcome.message))
                continue
            if self.reference is None:
                self.reference = response.payload
            elif response.payload != self.reference:
                message = (f"ProposalResponsePayloads do not match: this endorser's {difference(self.reference, response.payload)} "
                           f"differ from the first endorser's")
                self.details.append(detail(endorser.address, endorser.msp_id, message))
                continue
            self.good.setdefault(msp_id, []).append(response)

    def responses(self, layout: Layout) -> list[proposal_response_pb2.ProposalResponse] | None:
        chosen = []
        for msp_id, count in layout.needs:
            have = self.good.get(msp_id, [])
            if len(have) < count:
                return None
            chosen.extend(have[:count])
        return chosen


def _msp_of(creator: bytes) -> str:
    try:
        return str(identities_pb2.SerializedIdentity.FromString(creator).mspid)
    except DecodeError as exc:
        raise GatewayError(Code.INVALID_ARGUMENT, f"the proposal's creator is not a serialized identity: {exc}") from exc


def _describe(policy: SignatureRule | str, channel: PeerChannel) -> str:
    if not isinstance(policy, str):
        return str(policy)
    try:
        return f"{policy}: {channel.bundle.policies.get(policy)[1]}"
    except PolicyError:
        return policy
