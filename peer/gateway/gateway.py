"""Evaluate, Endorse and Submit: a client's transaction carried through the network.

Evaluate runs a proposal on one peer of the client's organization (the least loaded;
the gateway's own organization when the client's runs no peer on the channel, or when
the proposal carries transient data, which Fabric keeps within the gateway's
organization unless the client names others) and returns the chaincode's answer.

Endorse works out from the chaincode's endorsement policy which organizations must
endorse (preferring combinations that include the gateway's own), asks one peer of
each in parallel, moves to another peer of an organization when one fails, and returns
the transaction for the client to sign once the responses all agree. Fabric's gateway
asks its own organization first and the others after, because it learns from that
first answer which chaincodes and collections are involved; the policy here comes from
the chaincode definition, so nothing is gained by waiting. Once the endorsers agree on
what the transaction writes, keys that carry a policy of their own (state-based
endorsement) are looked up in committed state, and more organizations are asked if
those policies need them, so that the validator will accept what the client submits.
Endorsers that disagree (different results, or the chaincode refusing on one peer and
running on another) are most often one that has not yet committed the block the client's
previous transaction went into (Fabric's gateway has the same race when an organization
has a single peer): the gateway then asks them all again, a few times over a second at
most, before it reports what they said.

Submit hands the signed transaction to an orderer of the channel, trying the others
when one cannot take it.
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

from consortia.channelconfig.bundle import ChannelBundle
from consortia.errors import MessageError, PolicyError
from consortia.lifecycle.collections import member_msp_ids
from consortia.lifecycle.definition import DefinitionError
from consortia.policy import SignatureRule, signature_policy_from_bytes
from consortia.protoutil.envelope import enum_name
from consortia.protoutil.proposal import UnpackedProposal, unpack_proposal
from consortia.protoutil.response import unpack_response_payload
from consortia.protoutil.transaction import create_transaction_payload
from peer.channel import PeerChannel
from peer.committer.required import collection_rule, required_policies, validation_parameter
from peer.committer.validator import EndorsementPolicies
from peer.gateway.endorsement import (
    Outcome,
    classify,
    difference,
    result_response,
    unreachable,
)
from peer.gateway.errors import Code, GatewayError, detail
from peer.gateway.plan import Layout, all_of, policy_layouts, preferred, rule_layouts
from peer.gateway.registry import ChannelMembers, Endorser, Registry, Unreachable
from peer.ledger.rwset import TxRWSet, parse_rwset

log = logging.getLogger(__name__)

# Endorsement plans kept per channel (policies x peers available), as planning a wide
# policy takes milliseconds.
PLAN_CACHE_SIZE = 256
# Waits before asking again when endorsers disagree, each peer a block behind the
# other (seconds; the last failure is reported).
DISAGREEMENT_RETRIES = (0.05, 0.2, 0.6)


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
        self._plans: dict[str, tuple[ChannelBundle, dict[tuple[object, ...], list[Layout]]]] = {}

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

    # Evaluate

    async def evaluate(self, request: gateway_pb2.EvaluateRequest) -> gateway_pb2.EvaluateResponse:
        proposal = self._proposal(request.proposed_transaction)
        channel = self._channel(proposal.channel_id)
        members = self.registry.members(channel.bundle)
        if request.target_organizations:
            orgs = list(request.target_organizations)
        elif proposal.transient:  # private input stays in the gateway's own organization (as Fabric's)
            orgs = [self.registry.local_msp_id]
        else:
            orgs = [_msp_of(proposal.creator)]
        candidates = sorted((e for org in orgs for e in members.endorsers.get(org, [])), key=Endorser.preference)
        if not candidates and not request.target_organizations:  # the client's org runs no peer here: ours
            orgs = [self.registry.local_msp_id]
            candidates = members.ranked(self.registry.local_msp_id)
        if not candidates:
            raise GatewayError(Code.FAILED_PRECONDITION,
                               f"no peers of {', '.join(orgs)} are known on channel {proposal.channel_id}")
        details = []
        code = Code.UNAVAILABLE
        for endorser in candidates:
            outcome, response = await call_endorser(endorser, proposal, self.options.endorsement_timeout,
                                                    evaluate=True)
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
        for wait in (*DISAGREEMENT_RETRIES, None):
            collection = _Collection(proposal, members, self.options.endorsement_timeout)
            try:
                responses = await self._endorsements(request, proposal, channel, members, collection)
                break
            except GatewayError:
                if wait is None or not collection.disagreed:
                    raise
            log.info("[%s] %s: endorsers disagree (one may lag a block behind); asking again in %gs",
                     proposal.channel_id, proposal.tx_id[:8], wait)
            await asyncio.sleep(wait)
        try:
            payload = create_transaction_payload(proposal, responses)
        except MessageError as exc:
            raise GatewayError(Code.ABORTED, f"failed to assemble transaction: {exc}") from exc
        log.debug("[%s] %s endorsed by %d peers", proposal.channel_id, proposal.tx_id[:8], len(responses))
        return gateway_pb2.EndorseResponse(prepared_transaction=common_pb2.Envelope(payload=payload))

    async def _endorsements(self, request: gateway_pb2.EndorseRequest, proposal: UnpackedProposal,
                            channel: PeerChannel, members: ChannelMembers,
                            collection: _Collection) -> list[proposal_response_pb2.ProposalResponse]:
        """The endorsements the proposal needs, gathered into `collection`."""
        chosen = list(request.endorsing_organizations)
        if chosen:
            responses = await collection.collect(self._chosen(proposal, members, chosen))
        else:
            policies = self.policies(proposal.channel_id)
            policy = policies.policy_for(proposal.chaincode)
            allowed: set[str] | None = None
            # What the endorsers agreed the chaincode did (every response must match the first).
            agreed: TxRWSet | None = None
            if proposal.transient or policies.defines_collections(proposal.chaincode):
                # As Fabric's gateway: this peer endorses first, and what the chaincode did
                # says which collections the other endorsers must be members of.
                await collection.collect([Layout.of({self.registry.local_msp_id: 1})])
                agreed = _agreed_rwset(collection.reference)
                allowed = self._private_readers(proposal, agreed)
            responses = await collection.collect(self._plan(proposal, channel, members, [policy], allowed))
            # Keys with a policy of their own (state-based endorsement), and collections with
            # an endorsement policy of their own, may need more endorsers.
            needed = self._required(proposal, channel, agreed or _agreed_rwset(collection.reference))
            if needed is not None and needed != [policy]:
                responses = await collection.collect(self._plan(proposal, channel, members, needed, allowed))
        return responses

    def _chosen(self, proposal: UnpackedProposal, members: ChannelMembers, chosen: list[str]) -> list[Layout]:
        """The client named the organizations: one peer of each, whatever the policy says."""
        available = members.available()
        missing = [org for org in chosen if not available.get(org)]
        if missing:
            raise GatewayError(Code.UNAVAILABLE, f"no peers of {', '.join(missing)} are known on channel "
                                                 f"{proposal.channel_id}")
        return [Layout.of(dict.fromkeys(chosen, 1))]

    def _plan(self, proposal: UnpackedProposal, channel: PeerChannel, members: ChannelMembers,
              policies: list[SignatureRule | str], allowed: set[str] | None = None) -> list[Layout]:
        """The layouts satisfying all `policies` that the channel's peers (of the `allowed`
        organizations, when given) can fill, best first."""
        available = {msp: n for msp, n in members.available().items() if allowed is None or msp in allowed}
        key = (tuple(policies), tuple(sorted(available.items())))
        cached = self._plans.get(channel.channel_id)
        if cached is None or cached[0] is not channel.bundle:
            cached = self._plans[channel.channel_id] = (channel.bundle, {})
        plans = cached[1]
        usable = plans.get(key)
        if usable is None:
            options = [self._policy_layouts(channel, policy, available) for policy in policies]
            layouts = options[0] if len(options) == 1 else all_of(options, available)
            local = self.registry.local_msp_id
            # A policy that needs nobody (a meta policy over no orgs) still gets one endorsement: ours.
            layouts = [layout if layout.needs else Layout.of({local: 1}) for layout in layouts]
            usable = preferred(layouts, available, local)
            if len(plans) >= PLAN_CACHE_SIZE:
                plans.pop(next(iter(plans)))
            plans[key] = usable
        if not usable:
            described = "; ".join(_describe(policy, channel) for policy in policies)
            peers = ", ".join(f"{m}: {n}" for m, n in sorted(available.items()))
            raise GatewayError(
                Code.FAILED_PRECONDITION,
                f"no combination of the channel's peers can satisfy the endorsement policy of chaincode "
                f"{proposal.chaincode} on channel {proposal.channel_id} ({described}); peers by organization: {peers}",
            )
        return usable

    @staticmethod
    def _policy_layouts(channel: PeerChannel, policy: SignatureRule | str, available: dict[str, int]) -> list[Layout]:
        if not isinstance(policy, str):
            return rule_layouts(policy, available)
        try:
            group, found = channel.bundle.policies.get(policy)
        except PolicyError as exc:
            raise GatewayError(Code.FAILED_PRECONDITION, str(exc)) from exc
        return policy_layouts(found, group, available)

    def _private_readers(self, proposal: UnpackedProposal, rwset: TxRWSet | None) -> set[str] | None:
        """The organizations whose peers can endorse a proposal that read private data:
        members of every collection it read (None when it read none, or is unreadable)."""
        if rwset is None:
            return None
        policies = self.policies(proposal.channel_id)
        allowed: set[str] | None = None
        for ns in rwset.namespaces:
            for coll in ns.collections:
                config = policies.collection(ns.namespace, coll.collection)
                if coll.reads and config is not None:
                    members = member_msp_ids(config)
                    allowed = members if allowed is None else allowed & members
        return allowed

    def _required(self, proposal: UnpackedProposal, channel: PeerChannel,
                  rwset: TxRWSet | None) -> list[SignatureRule | str] | None:
        """The policies the validator will check for what the endorsers did, read from the
        agreed read-write set and the committed key-level policies; None when unreadable
        (the validator then decides)."""
        if rwset is None:
            return None
        try:
            with channel.reader() as state:

                def key_policy(namespace: str, key: str) -> SignatureRule | None:
                    vp = validation_parameter(state, namespace, key)
                    return signature_policy_from_bytes(vp) if vp is not None else None

                policies = self.policies(proposal.channel_id)

                def collection_policy(namespace: str, name: str) -> SignatureRule | str | None:
                    config = policies.collection(namespace, name)
                    return None if config is None else collection_rule(config)

                needed = required_policies(rwset, proposal.chaincode, policies.policy_for, key_policy,
                                           collection_policy)
        except (MessageError, PolicyError, DefinitionError) as exc:
            log.debug("[%s] %s: cannot work out key-level policies: %s", proposal.channel_id, proposal.tx_id[:8], exc)
            return None
        return list(dict.fromkeys(n.policy for n in needed))

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
            message = f"received unsuccessful response from orderer: status={enum_name(common_pb2.Status, answer.status)}, info={answer.info}"
            details.append(detail(orderer.address, orderer.msp_id, message))
            if 400 <= answer.status < 500:  # the transaction itself was refused: no point trying others
                raise GatewayError(Code.ABORTED, message, details)
        raise GatewayError(Code.UNAVAILABLE, "no orderers could successfully process transaction", details)


def _agreed_rwset(payload: bytes | None) -> TxRWSet | None:
    """The read-write set of an agreed proposal response payload; None if there is none,
    or it does not decode (the validator then decides)."""
    if payload is None:
        return None
    try:
        return parse_rwset(unpack_response_payload(payload)[1].results)
    except MessageError:
        return None


async def call_endorser(endorser: Endorser, proposal: UnpackedProposal, timeout: float, *, evaluate: bool = False,
                        ) -> tuple[Outcome, proposal_response_pb2.ProposalResponse | None]:
    """One peer's answer to a proposal, and what to make of it."""
    try:
        response = await endorser.process_proposal(proposal, timeout, evaluate=evaluate)
    except Unreachable as exc:
        log.warning("endorser %s (%s) unreachable: %s", endorser.address, endorser.msp_id, exc)
        return unreachable(str(exc)), None
    return classify(response), response


@dataclass
class _Collection:
    """Endorsements gathered for one proposal, across the layouts tried."""

    proposal: UnpackedProposal
    members: ChannelMembers
    timeout: float
    good: dict[str, list[proposal_response_pb2.ProposalResponse]] = field(default_factory=dict)
    details: list[gateway_pb2.ErrorDetail] = field(default_factory=list)
    tried: set[str] = field(default_factory=set)
    endorsers: set[bytes] = field(default_factory=set)
    reference: bytes | None = None
    # A failure no other peer would avoid (the chaincode itself failed, access denied).
    final: bool = False
    # Some endorser's answer differed from the first one's.
    mismatched: bool = False

    async def collect(self, layouts: list[Layout]) -> list[proposal_response_pb2.ProposalResponse]:
        """Endorsements filling the first layout that can be filled; GatewayError if none."""
        for layout in layouts:
            await asyncio.gather(*(self.fill(org, count) for org, count in layout.needs))
            responses = self.responses(layout)
            if responses is not None:
                return responses
            if self.final:  # the chaincode failed, or the client was refused: so would it elsewhere
                raise GatewayError(Code.ABORTED, "failed to endorse transaction, see attached details for more info",
                                   self.details)
        raise GatewayError(Code.ABORTED,
                           "failed to collect enough transaction endorsements, see attached details for more info",
                           self.details)

    async def fill(self, msp_id: str, count: int) -> None:
        """Ask peers of `msp_id`, best first, one at a time, until `count` have endorsed."""
        for endorser in self.members.ranked(msp_id):
            if len(self.good.get(msp_id, [])) >= count or self.final:
                return
            if endorser.address in self.tried:
                continue
            self.tried.add(endorser.address)
            outcome, response = await call_endorser(endorser, self.proposal, self.timeout)
            if not outcome.ok or response is None:
                self.final = self.final or not outcome.retry
                self.details.append(detail(endorser.address, endorser.msp_id, outcome.message))
                continue
            if response.endorsement.endorser in self.endorsers:
                # One peer known under two addresses: an identity counts once (Fabric's rule).
                log.debug("endorser %s answered as a peer that already endorsed", endorser.address)
                continue
            if self.reference is None:
                self.reference = response.payload
            elif response.payload != self.reference:
                message = (f"ProposalResponsePayloads do not match: this endorser's {difference(self.reference, response.payload)} "
                           f"differ from the first endorser's")
                self.details.append(detail(endorser.address, endorser.msp_id, message))
                self.mismatched = True
                continue
            self.endorsers.add(response.endorsement.endorser)
            self.good.setdefault(msp_id, []).append(response)

    @property
    def disagreed(self) -> bool:
        """Endorsers answered differently: their results differ, or the chaincode refused
        on one peer and ran on another (as one that lacks a block refuses what needs it)."""
        return self.mismatched or (self.final and bool(self.good))

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
