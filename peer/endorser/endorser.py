"""The endorser: check a signed proposal, run its chaincode, sign what it did.

Checks, each refusing with status 500 and the reason, as Fabric's endorser does: the
proposal decodes; the channel is joined here; the creator's certificate is valid now
and its signature verifies; the transaction id is sha256(nonce ‖ creator); the
proposal's timestamp is near this peer's clock (chaincode reads time from it); the
creator satisfies the channel's Writers policy; the transaction id is not already in
the ledger; the chaincode is defined on the channel (and, when its definition requires
initialization, the first transaction is the init and only the first). Then the
chaincode runs against a snapshot of committed state; `_lifecycle` runs in the peer
itself. A proposal without a channel may only call `_lifecycle`'s functions of the peer
itself (install and its queries), and only an admin of the peer's org may send it. A chaincode response of status 400 or more is returned
without endorsement (from 500 on, as Fabric does, with the unsigned payload, which
tells a gateway that the chaincode itself failed); otherwise the read-write set, event
and response are signed into the proposal response. A proposal that wrote private data
is endorsed only once its write sets are in this peer's transient store and as many
member peers as each collection's requiredPeerCount accepted them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Protocol

from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    collection_pb2,
    proposal_pb2,
    proposal_response_pb2,
)

from consortia.errors import ConsortiaError, IdentityError, MessageError, SignatureError
from consortia.lifecycle.definition import LIFECYCLE, LOCAL_FUNCTIONS
from consortia.msp.identity import Identity, Role
from consortia.msp.msp import MSP
from consortia.msp.signing import SigningIdentity, verify_signed_data
from consortia.policy.paths import APPLICATION_WRITERS
from consortia.protoutil.proposal import UnpackedProposal, unpack_proposal
from consortia.protoutil.response import (
    ERROR,
    ERROR_THRESHOLD,
    create_proposal_response,
    endorsement_signed_data,
    response_payload,
)
from peer.chaincode.collections import CollectionAccess
from peer.chaincode.handler import ChaincodeCallError
from peer.chaincode.registry import ChaincodeRegistry
from peer.channel import PeerChannel
from peer.endorser.simulator import SimulationError, TxSimulator
from peer.ledger.pvtdata import CollPvtRWSet, encode_pvt
from peer.lifecycle.definitions import Route
from peer.lifecycle.scc import ChannelCall, Lifecycle, LifecycleError
from peer.privatedata.network import DisseminationError, PrivateDataNetwork

log = logging.getLogger(__name__)


class Refused(ConsortiaError):
    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


class Definitions(Protocol):
    """Which chaincodes are defined on a channel: version, and the process that runs them."""

    def route(self, channel_id: str, chaincode: str) -> Route | None: ...

    def collection(self, channel_id: str, namespace: str,
                   name: str) -> collection_pb2.StaticCollectionConfig | None: ...


# Where a chaincode records that it was initialized (as Fabric does, in its own namespace).
INITIALIZED_KEY = "\x00\U0010ffffinitialized"
SYSTEM_VERSION = "syscc"


def refusal(status: int, message: str) -> proposal_response_pb2.ProposalResponse:
    return proposal_response_pb2.ProposalResponse(
        version=1, response=proposal_response_pb2.Response(status=status, message=message)
    )


class Endorser:
    def __init__(self, channels: Callable[[str], PeerChannel | None], signer: SigningIdentity,
                 registry: ChaincodeRegistry, definitions: Definitions, time_window: dt.timedelta | None,
                 lifecycle: Lifecycle | None = None, local_msp: MSP | None = None,
                 private_network: PrivateDataNetwork | None = None) -> None:
        self.channels = channels
        self.private_network = private_network
        self.signer = signer
        self.registry = registry
        self.definitions = definitions
        self.time_window = time_window
        self.lifecycle = lifecycle
        self.local_msp = local_msp
        # Whether the signing key is the one the certificate names: only then is every
        # endorsement this peer signs certain to verify (see MSPManager.record_own_signature).
        self._key_matches_certificate = signer.key_matches_certificate()

    async def process_proposal(self, signed: proposal_pb2.SignedProposal) -> proposal_response_pb2.ProposalResponse:
        try:
            proposal = unpack_proposal(signed)
        except MessageError as exc:
            return refusal(400, f"malformed proposal: {exc}")
        return await self.process(proposal)

    async def process(self, proposal: UnpackedProposal, *, sign: bool = True) -> proposal_response_pb2.ProposalResponse:
        """Endorse a proposal already decoded (the gateway's, for this very peer).
        `sign=False` leaves a successful response without its endorsement, for a caller
        that wants only the result (the gateway's Evaluate): signing is a tenth of the CPU
        of answering a query."""
        try:
            if not proposal.channel_id:
                return self._local(proposal)
            channel, creator = self._check(proposal)
            return await self._endorse(proposal, channel, creator, sign)
        except Refused as exc:
            log.info("[%s] proposal %s refused: %s", proposal.channel_id, proposal.tx_id[:8], exc)
            return refusal(exc.status, str(exc))

    def _local(self, proposal: UnpackedProposal) -> proposal_response_pb2.ProposalResponse:
        """A proposal to the peer itself: `_lifecycle` install and its queries."""
        args = list(proposal.spec.input.args)
        function = args[0].decode(errors="replace") if args else ""
        if proposal.chaincode != LIFECYCLE or function not in LOCAL_FUNCTIONS or self.lifecycle is None:
            raise Refused(f"a proposal without a channel may only call {LIFECYCLE} functions "
                          f"{', '.join(LOCAL_FUNCTIONS)}; got {proposal.chaincode} {function!r}", 400)
        assert self.local_msp is not None
        try:
            creator = verify_signed_data(proposal.signed_data(), self.local_msp)
            role = self.local_msp.validate(creator, dt.datetime.now(dt.timezone.utc))
            proposal.check_tx_id()
        except (IdentityError, SignatureError) as exc:
            raise Refused(f"access denied: {function} needs an admin of {self.local_msp.msp_id}: {exc}", 403) from exc
        except MessageError as exc:
            raise Refused(str(exc), 400) from exc
        if role is not Role.ADMIN:
            raise Refused(f"access denied: {function} needs an admin of {self.local_msp.msp_id}; "
                          f"{creator.common_name} is a {role.label}", 403)
        try:
            payload = self.lifecycle.local(function, args[1:])
        except LifecycleError as exc:
            log.info("%s refused: %s", function, exc)
            return refusal(exc.status, str(exc))
        log.info("%s done for %s", function, creator.common_name)
        return proposal_response_pb2.ProposalResponse(
            version=1, response=proposal_response_pb2.Response(status=200, payload=payload))

    def _check(self, proposal: UnpackedProposal) -> tuple[PeerChannel, Identity]:
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
        return channel, creator

    def _route(self, proposal: UnpackedProposal) -> Route:
        name = proposal.chaincode
        if name == LIFECYCLE:
            if self.lifecycle is None:
                raise Refused(f"{LIFECYCLE} is not available on this peer", 404)
            return Route(SYSTEM_VERSION, LIFECYCLE)
        route = self.definitions.route(proposal.channel_id, name)
        if route is None:
            raise Refused(f"chaincode {name} is not defined on channel {proposal.channel_id}", 404)
        if not route.handler:
            raise Refused(route.problem, 404)
        return route

    async def _run(self, proposal: UnpackedProposal, route: Route, simulator: TxSimulator, channel: PeerChannel,
                   creator: Identity) -> tuple[proposal_response_pb2.Response, chaincode_event_pb2.ChaincodeEvent | None]:
        """The chaincode's response and event (Refused if it could not run)."""
        name, spec_input = proposal.chaincode, proposal.spec.input
        if name == LIFECYCLE:
            assert self.lifecycle is not None
            args = list(spec_input.args)
            function = args[0].decode(errors="replace") if args else ""
            try:
                payload = self.lifecycle.invoke(function, args[1:], ChannelCall(channel.bundle, creator, simulator))
            except LifecycleError as exc:
                log.info("[%s] %s %s refused: %s", proposal.channel_id, LIFECYCLE, function, exc)
                return proposal_response_pb2.Response(status=exc.status, message=str(exc)), None
            return proposal_response_pb2.Response(status=200, payload=payload), None
        if route.init_required:
            initialized = simulator.get_state(name, INITIALIZED_KEY) == route.version.encode()
            if spec_input.is_init and initialized:
                raise Refused(f"chaincode {name} is already initialized at version {route.version}; "
                              "invoke it without --init", 400)
            if not spec_input.is_init and not initialized:
                raise Refused(f"chaincode {name} has not been initialized for version {route.version}: "
                              "the first transaction must be the init (--init)", 400)
            if spec_input.is_init:
                simulator.set_state(name, INITIALIZED_KEY, route.version.encode())
        elif spec_input.is_init and route.sequence:
            raise Refused(f"chaincode {name} does not require initialization, but was called as init", 400)
        access = CollectionAccess(self.signer.msp_id, creator.msp_id,
                                  lambda ns, coll: self.definitions.collection(proposal.channel_id, ns, coll))
        try:
            return await self.registry.execute(proposal.channel_id, name, proposal.tx_id, spec_input,
                                               proposal.signed, simulator, route.handler, access)
        except ChaincodeCallError as exc:
            raise Refused(str(exc)) from exc

    async def _endorse(self, proposal: UnpackedProposal, channel: PeerChannel,
                       creator: Identity, sign: bool = True) -> proposal_response_pb2.ProposalResponse:
        name = proposal.chaincode
        route = self._route(proposal)
        async with channel.simulation() as simulator:
            response, event = await self._run(proposal, route, simulator, channel, creator)
            chaincode_id = chaincode_pb2.ChaincodeID(name=name, version=route.version)
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
            private = simulator.private_results()
        if private:
            await self._keep_private(proposal, channel, private)
        endorsed = create_proposal_response(
            proposal, results=results, response=response, event=event, chaincode_id=chaincode_id,
            endorser=self.signer if sign else None,
        )
        if sign and self._key_matches_certificate:
            channel.bundle.msp_manager.record_own_signature(endorsement_signed_data(endorsed.payload, endorsed.endorsement))
        return endorsed

    async def _keep_private(self, proposal: UnpackedProposal, channel: PeerChannel, private: list[CollPvtRWSet]) -> None:
        """Disseminate the proposal's private write sets, then keep them until the block
        commits; Refused if too few member peers accepted them."""
        height = channel.height
        sets = []
        for pvt in private:
            config = self.definitions.collection(proposal.channel_id, pvt.namespace, pvt.collection)
            if config is None:  # the handler let no write through to an unknown collection
                raise Refused(f"collection {pvt.collection} is not defined for chaincode {pvt.namespace}")
            sets.append((pvt, config))
        if self.private_network is None:
            needy = [f"{p.namespace}/{p.collection}" for p, c in sets if c.required_peer_count > 0]
            if needy:
                raise Refused(f"failed to distribute private data of {', '.join(needy)}: this peer cannot reach others")
        else:
            try:
                await self.private_network.disseminate(channel.bundle, proposal.tx_id, height, sets)
            except DisseminationError as exc:
                raise Refused(str(exc)) from exc
        # Only an endorsement given keeps the values here (a refused one leaves nothing behind).
        channel.transient.put(proposal.tx_id, height, encode_pvt(private))

