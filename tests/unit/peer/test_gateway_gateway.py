"""The gateway's Evaluate, Endorse and Submit (peer.gateway.gateway), and the registry of
a channel's peers and orderers they rely on (peer.gateway.registry).

The channel `ch1` is a real ChannelBundle: Org1 (two peers, one of them this gateway's
own), Org2 (two peers) and Org3 (one peer), each org's Endorsement policy its peers,
the channel's a MAJORITY of them; three orderers. Remote peers and orderers are fakes
behind the registry's `Connector`: each endorses with a real signing identity of its
org (or fails as a test tells it to), so the transactions the gateway assembles carry
real, verifiable endorsements.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import chaincode_pb2, collection_pb2, proposal_pb2, proposal_response_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.lifecycle.collections import find_config, parse_collections_json
from consortia.msp.signing import SigningIdentity, verify_signed_data
from consortia.policy import (
    ImplicitMeta,
    MetaRule,
    SignatureRule,
    parse_signature_policy,
    signature_policy_bytes,
)
from consortia.protos.v1 import channel_config_pb2 as cc
from consortia.protoutil.proposal import (
    UnpackedProposal,
    create_proposal,
    sign_proposal,
    unpack_proposal,
)
from consortia.protoutil.response import create_proposal_response
from consortia.protoutil.transaction import unpack_transaction
from peer.gateway import gateway as gateway_module
from peer.gateway.errors import Code, GatewayError
from peer.gateway.gateway import Gateway, GatewayOptions
from peer.gateway.registry import Registry, Unreachable
from peer.ledger.rwset import VALIDATION_PARAMETER, Version
from peer.ledger.statedb import VersionedValue, encode_metadata
from tests.support.bundles import organization, policy_proto
from tests.support.identities import SampleOrg, make_org
from tests.support.transactions import NsWrites, rwset_bytes

pytestmark = pytest.mark.unit

CHANNEL = "ch1"
CC = "basic"
CC_ID = chaincode_pb2.ChaincodeID(name=CC, version="1.0")
RWSET = rwset_bytes({CC: NsWrites(reads={"asset1": (3, 0)}, writes={"asset1": b"blue"})})
OTHER_RWSET = rwset_bytes({CC: NsWrites(reads={"asset1": (4, 0)}, writes={"asset1": b"blue"})})

LOCAL = "peer0.org1.test:7051"
ORG1_PEER1 = "peer1.org1.test:7051"
ORG2_PEER0 = "peer0.org2.test:9051"
ORG2_PEER1 = "peer1.org2.test:9051"
ORG3_PEER0 = "peer0.org3.test:11051"
PEERS = {LOCAL: "Org1MSP", ORG1_PEER1: "Org1MSP", ORG2_PEER0: "Org2MSP", ORG2_PEER1: "Org2MSP",
         ORG3_PEER0: "Org3MSP"}
ORDERERS = ["orderer0.test:7050", "orderer1.test:7050", "orderer2.test:7050"]


# --- the channel -----------------------------------------------------------------------


@dataclass(frozen=True)
class Orgs:
    org1: SampleOrg
    org2: SampleOrg
    org3: SampleOrg
    org4: SampleOrg  # not in the channel
    orderer: SampleOrg

    def by_msp(self, msp_id: str) -> SampleOrg:
        return {o.msp_id: o for o in (self.org1, self.org2, self.org3, self.org4, self.orderer)}[msp_id]


@pytest.fixture(scope="module")
def orgs(org1: SampleOrg, org2: SampleOrg, org3: SampleOrg) -> Orgs:
    return Orgs(org1, org2, org3, make_org("Org4MSP"), make_org("OrdererMSP"))


def channel_config(orgs: Orgs) -> cc.ChannelConfig:
    meta = ImplicitMeta(MetaRule.ANY, "Readers")
    return cc.ChannelConfig(
        channel_id=CHANNEL,
        policies={"Readers": policy_proto(meta)},
        application=cc.ApplicationConfig(
            organizations=[
                organization(orgs.org1, "Org1", [LOCAL, ORG1_PEER1], endorsement=True),
                organization(orgs.org2, "Org2", [ORG2_PEER0, ORG2_PEER1], endorsement=True),
                organization(orgs.org3, "Org3", [ORG3_PEER0], endorsement=True),
            ],
            policies={"Readers": policy_proto(meta),
                      "Endorsement": policy_proto(ImplicitMeta(MetaRule.MAJORITY, "Endorsement"))},
        ),
        orderer=cc.OrdererConfig(
            organizations=[organization(orgs.orderer, "OrdererOrg", ORDERERS, endorsement=True)],
            policies={"Readers": policy_proto(meta)},
        ),
    )


@pytest.fixture(scope="module")
def bundle(orgs: Orgs) -> ChannelBundle:
    return ChannelBundle.from_config(channel_config(orgs))


@pytest.fixture(scope="module")
def signers(orgs: Orgs) -> dict[str, SigningIdentity]:
    """Each peer's signing identity, by address."""
    return {address: orgs.by_msp(msp).identity("peer", address.split(":")[0]) for address, msp in PEERS.items()}


@pytest.fixture(scope="module")
def client(orgs: Orgs) -> SigningIdentity:
    return orgs.org1.identity("client", "user1@org1")


# --- fakes -----------------------------------------------------------------------------

Behaviour = Callable[[UnpackedProposal, SigningIdentity], proposal_response_pb2.ProposalResponse]


def endorse(results: bytes = RWSET, body: bytes = b"result") -> Behaviour:
    def run(proposal: UnpackedProposal, signer: SigningIdentity) -> proposal_response_pb2.ProposalResponse:
        return create_proposal_response(proposal, results=results,
                                        response=proposal_response_pb2.Response(status=200, payload=body),
                                        chaincode_id=CC_ID, endorser=signer)
    return run


def refuse(status: int, message: str) -> Behaviour:
    """The peer answers without running the chaincode (no payload)."""
    def run(proposal: UnpackedProposal, signer: SigningIdentity) -> proposal_response_pb2.ProposalResponse:
        return proposal_response_pb2.ProposalResponse(
            version=1, response=proposal_response_pb2.Response(status=status, message=message))
    return run


def chaincode_error(message: str = "asset1 does not exist", status: int = 500) -> Behaviour:
    """The chaincode ran and failed: a response with a payload and no endorsement."""
    def run(proposal: UnpackedProposal, signer: SigningIdentity) -> proposal_response_pb2.ProposalResponse:
        response = create_proposal_response(
            proposal, results=b"", response=proposal_response_pb2.Response(status=status, message=message),
            chaincode_id=CC_ID, endorser=signer)
        response.ClearField("endorsement")
        return response
    return run


def down(message: str = "UNAVAILABLE: connection refused") -> Behaviour:
    def run(proposal: UnpackedProposal, signer: SigningIdentity) -> proposal_response_pb2.ProposalResponse:
        raise Unreachable(message)
    return run


class FakeEndorser:
    def __init__(self, address: str, signer: SigningIdentity, log: list[str]) -> None:
        self.address = address
        self.signer = signer
        self.behaviour = endorse()
        self.calls = 0
        self.evaluations = 0  # calls that asked for the result only
        self.timeouts: list[float] = []
        self.hook: Callable[[], Awaitable[None]] | None = None  # runs first on each call
        self._log = log

    async def process_proposal(self, proposal: UnpackedProposal, timeout: float, *,
                               evaluate: bool = False) -> proposal_response_pb2.ProposalResponse:
        if self.hook is not None:
            await self.hook()
        self.calls += 1
        self.evaluations += evaluate
        self.timeouts.append(timeout)
        self._log.append(self.address)
        await asyncio.sleep(0)
        return self.behaviour(proposal, self.signer)


class FakeOrderer:
    def __init__(self, address: str, log: list[str]) -> None:
        self.address = address
        self.answer: ab_pb2.BroadcastResponse | Exception = ab_pb2.BroadcastResponse(status=common_pb2.SUCCESS)
        self.received: list[common_pb2.Envelope] = []
        self._log = log

    async def broadcast(self, envelope: common_pb2.Envelope, timeout: float) -> ab_pb2.BroadcastResponse:
        self.received.append(envelope)
        self._log.append(self.address)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@dataclass
class FakeConnector:
    peers: dict[str, FakeEndorser]
    orderers: dict[str, FakeOrderer]
    endorser_roots: dict[str, bytes] = field(default_factory=dict)
    orderer_roots: dict[str, bytes] = field(default_factory=dict)

    def endorser(self, address: str, tls_roots: bytes) -> FakeEndorser:
        self.endorser_roots[address] = tls_roots
        return self.peers[address]

    def orderer(self, address: str, tls_roots: bytes) -> FakeOrderer:
        self.orderer_roots[address] = tls_roots
        return self.orderers[address]


class FakeState:
    """Committed state as the gateway reads it: only key-level policies matter here."""

    def __init__(self) -> None:
        self.key_policies: dict[tuple[str, str], SignatureRule] = {}

    def get(self, namespace: str, key: str) -> VersionedValue | None:
        rule = self.key_policies.get((namespace, key))
        if rule is None:
            return None
        metadata = encode_metadata({VALIDATION_PARAMETER: signature_policy_bytes(rule)})
        return VersionedValue(b"value", Version(1, 0), metadata)


class FakeChannel:
    def __init__(self, bundle: ChannelBundle) -> None:
        self.bundle = bundle
        self.channel_id = bundle.channel_id
        self.state = FakeState()

    @contextmanager
    def reader(self) -> Iterator[FakeState]:
        yield self.state


class FixedPolicies:
    def __init__(self) -> None:
        self.policy: SignatureRule | str = "/Channel/Application/Endorsement"
        self.asked: list[str] = []
        self.collections = collection_pb2.CollectionConfigPackage()
        self.asked_collections: list[str] = []

    def policy_for(self, namespace: str) -> SignatureRule | str:
        self.asked.append(namespace)
        return self.policy

    def collection(self, namespace: str, name: str) -> collection_pb2.StaticCollectionConfig | None:
        self.asked_collections.append(name)
        return find_config(namespace, self.collections, name)

    def defines_collections(self, namespace: str) -> bool:
        return len(self.collections.config) > 0


@dataclass
class Net:
    bundle: ChannelBundle
    client: SigningIdentity
    peers: dict[str, FakeEndorser]
    orderers: dict[str, FakeOrderer]
    connector: FakeConnector
    registry: Registry
    policies: FixedPolicies
    gateway: Gateway
    log: list[str]
    channel: FakeChannel

    def propose(self, client: SigningIdentity | None = None, channel: str = CHANNEL,
                chaincode: str = CC) -> proposal_pb2.SignedProposal:
        signer = client or self.client
        proposal, _ = create_proposal(channel, chaincode, [b"UpdateAsset", b"asset1"], signer.serialize())
        return sign_proposal(proposal, signer)

    def called(self) -> list[str]:
        return list(self.log)


@pytest.fixture
def net(bundle: ChannelBundle, signers: dict[str, SigningIdentity], client: SigningIdentity) -> Net:
    log: list[str] = []
    peers = {address: FakeEndorser(address, signer, log) for address, signer in signers.items()}
    orderers = {address: FakeOrderer(address, log) for address in ORDERERS}
    connector = FakeConnector(dict(peers), orderers)
    registry = Registry("Org1MSP", LOCAL, peers[LOCAL], connector)
    policies = FixedPolicies()
    channel = FakeChannel(bundle)
    gateway = Gateway({CHANNEL: channel}.get, registry, lambda channel_id: policies,  # type: ignore[arg-type,dict-item]
                      GatewayOptions(endorsement_timeout=7.0, broadcast_timeout=9.0))
    return Net(bundle, client, peers, orderers, connector, registry, policies, gateway, log, channel)


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def failure(coro: Coroutine[Any, Any, Any]) -> GatewayError:
    with pytest.raises(GatewayError) as info:
        asyncio.run(coro)
    return info.value


def said(error: GatewayError) -> list[tuple[str, str]]:
    return [(d.address, d.msp_id) for d in error.details]


# --- registry --------------------------------------------------------------------------


def test_members_come_from_the_channel_config(net: Net, orgs: Orgs) -> None:
    members = net.registry.members(net.bundle)
    assert {m: [e.address for e in es] for m, es in members.endorsers.items()} == {
        "Org1MSP": [LOCAL, ORG1_PEER1], "Org2MSP": [ORG2_PEER0, ORG2_PEER1], "Org3MSP": [ORG3_PEER0],
    }
    assert members.available() == {"Org1MSP": 2, "Org2MSP": 2, "Org3MSP": 1}
    local = members.endorsers["Org1MSP"][0]
    assert local.local and local.client is net.peers[LOCAL]
    assert not any(e.local for es in members.endorsers.values() for e in es if e is not local)
    # The local endorser is called in process, never through the connector.
    assert LOCAL not in net.connector.endorser_roots
    assert net.connector.endorser_roots[ORG2_PEER0] == orgs.org2.ca.certificate_pem
    assert net.connector.endorser_roots[ORG1_PEER1] == orgs.org1.ca.certificate_pem
    assert [(o.msp_id, o.address) for o in members.orderers] == [("OrdererMSP", a) for a in ORDERERS]
    assert net.connector.orderer_roots[ORDERERS[0]] == orgs.orderer.ca.certificate_pem


def test_members_are_cached_per_bundle_and_nodes_are_kept_across_configs(net: Net, orgs: Orgs) -> None:
    members = net.registry.members(net.bundle)
    assert net.registry.members(net.bundle) is members
    newer = ChannelBundle.from_config(channel_config(orgs))
    recomputed = net.registry.members(newer)
    assert recomputed is not members
    # The same address is the same Endorser: its load and failures carry over.
    assert recomputed.endorsers["Org2MSP"][0] is members.endorsers["Org2MSP"][0]
    assert recomputed.orderers[0] is members.orderers[0]


def test_this_peer_serves_the_channel_even_when_the_config_does_not_name_it(orgs: Orgs, net: Net) -> None:
    registry = Registry("Org1MSP", "localhost:7051", net.peers[LOCAL], net.connector)
    org1 = registry.members(net.bundle).endorsers["Org1MSP"]
    assert [e.address for e in org1] == [LOCAL, ORG1_PEER1, "localhost:7051"]
    assert [e.local for e in org1] == [False, False, True]
    assert org1[2].client is net.peers[LOCAL]


def test_consenters_are_the_orderers_when_listed(orgs: Orgs, net: Net) -> None:
    config = channel_config(orgs)
    config.orderer.consenters.append(cc.Consenter(name="o5", host="orderer5.test", port=7050, msp_id="OrdererMSP"))
    net.orderers["orderer5.test:7050"] = FakeOrderer("orderer5.test:7050", net.log)
    members = net.registry.members(ChannelBundle.from_config(config))
    assert [(o.msp_id, o.address) for o in members.orderers] == [("OrdererMSP", "orderer5.test:7050")]
    assert net.connector.orderer_roots["orderer5.test:7050"] == orgs.orderer.ca.certificate_pem


def test_ranking_prefers_healthy_then_least_loaded_then_local(net: Net) -> None:
    members = net.registry.members(net.bundle)
    local, other = members.endorsers["Org1MSP"]
    assert members.ranked("Org1MSP") == [local, other]
    local.in_flight = 1
    assert members.ranked("Org1MSP") == [other, local]
    local.in_flight = 0
    other.in_flight = 5
    local.failed_at = time.monotonic()
    assert members.ranked("Org1MSP") == [other, local]
    assert members.ranked("Org9MSP") == []


# --- evaluate --------------------------------------------------------------------------


def evaluate(net: Net, *, targets: list[str] | None = None, client: SigningIdentity | None = None,
             proposal: proposal_pb2.SignedProposal | None = None) -> Coroutine[Any, Any, gateway_pb2.EvaluateResponse]:
    request = gateway_pb2.EvaluateRequest(channel_id=CHANNEL, proposed_transaction=proposal or net.propose(client),
                                          target_organizations=targets or [])
    return net.gateway.evaluate(request)


def test_evaluate_runs_on_this_peer_when_idle_and_returns_the_signed_result(net: Net) -> None:
    net.peers[LOCAL].behaviour = endorse(body=b"asset1: blue")
    response = run(evaluate(net))
    assert response.result.status == 200
    assert response.result.payload == b"asset1: blue"
    assert net.called() == [LOCAL]
    assert net.peers[LOCAL].timeouts == [7.0]
    assert net.peers[LOCAL].evaluations == 1  # told only the result is wanted


def test_evaluate_goes_to_the_least_loaded_peer_of_the_clients_org(net: Net) -> None:
    net.registry.members(net.bundle).endorsers["Org1MSP"][0].in_flight = 2
    run(evaluate(net))
    assert net.called() == [ORG1_PEER1]


def test_evaluate_for_a_client_of_another_org_goes_to_that_org(net: Net, orgs: Orgs) -> None:
    run(evaluate(net, client=orgs.org2.identity("client", "user1@org2")))
    assert net.called() == [ORG2_PEER0]


def test_evaluate_goes_to_the_target_organizations(net: Net) -> None:
    net.peers[ORG3_PEER0].behaviour = endorse(body=b"from org3")
    response = run(evaluate(net, targets=["Org3MSP"]))
    assert response.result.payload == b"from org3"
    assert net.called() == [ORG3_PEER0]


def test_evaluate_retries_an_unreachable_peer_and_tries_it_last_next_time(net: Net) -> None:
    net.peers[LOCAL].behaviour = down()
    net.peers[ORG1_PEER1].behaviour = endorse(body=b"from peer1")
    assert run(evaluate(net)).result.payload == b"from peer1"
    assert net.called() == [LOCAL, ORG1_PEER1]
    net.peers[LOCAL].behaviour = endorse()
    run(evaluate(net))
    assert net.called()[2:] == [ORG1_PEER1]


def test_evaluate_retries_a_peer_failure_without_payload(net: Net) -> None:
    net.peers[LOCAL].behaviour = refuse(500, "chaincode basic is not running")
    run(evaluate(net))
    assert net.called() == [LOCAL, ORG1_PEER1]


def test_evaluate_stops_at_a_chaincode_error(net: Net) -> None:
    net.peers[LOCAL].behaviour = down("UNAVAILABLE: connection refused")
    net.peers[ORG1_PEER1].behaviour = chaincode_error("asset1 does not exist")
    error = failure(evaluate(net, targets=["Org1MSP", "Org2MSP"]))
    assert error.code is Code.UNKNOWN
    assert "chaincode response 500, asset1 does not exist" in error.message
    assert said(error) == [(LOCAL, "Org1MSP"), (ORG1_PEER1, "Org1MSP")]
    assert [d.message for d in error.details] == ["UNAVAILABLE: connection refused",
                                                  "chaincode response 500, asset1 does not exist"]
    assert net.called() == [LOCAL, ORG1_PEER1]  # Org2 was a candidate, but never asked


def test_evaluate_stops_at_a_refusal_of_the_client(net: Net) -> None:
    net.peers[LOCAL].behaviour = refuse(403, "access denied")
    error = failure(evaluate(net))
    assert error.code is Code.FAILED_PRECONDITION
    assert said(error) == [(LOCAL, "Org1MSP")]
    assert net.called() == [LOCAL]


def test_evaluate_fails_when_every_peer_fails(net: Net) -> None:
    net.peers[LOCAL].behaviour = refuse(500, "not running")
    net.peers[ORG1_PEER1].behaviour = down("DEADLINE_EXCEEDED")
    error = failure(evaluate(net))
    assert error.code is Code.UNAVAILABLE  # the last peer's failure
    assert error.message == "failed to evaluate transaction, see attached details for more info"
    assert [(d.address, d.message) for d in error.details] == [(LOCAL, "not running"), (ORG1_PEER1, "DEADLINE_EXCEEDED")]
    assert "not running" in str(error) and ORG1_PEER1 in str(error)


def test_evaluate_fails_with_aborted_when_every_peer_says_500(net: Net) -> None:
    net.peers[LOCAL].behaviour = refuse(500, "not running")
    net.peers[ORG1_PEER1].behaviour = refuse(500, "not running either")
    error = failure(evaluate(net))
    assert error.code is Code.ABORTED
    assert [d.message for d in error.details] == ["not running", "not running either"]


def test_evaluate_with_transient_data_stays_in_the_gateway_org(net: Net, orgs: Orgs) -> None:
    client = orgs.org2.identity("client")
    proposal, _ = create_proposal(CHANNEL, CC, [b"ReadSecret"], client.serialize(), transient={"key": b"secret"})
    signed = sign_proposal(proposal, client)
    run(net.gateway.evaluate(gateway_pb2.EvaluateRequest(channel_id=CHANNEL, proposed_transaction=signed)))
    assert net.called() == [LOCAL]  # not Org2's peers, though the client is of Org2
    net.log.clear()
    run(net.gateway.evaluate(gateway_pb2.EvaluateRequest(channel_id=CHANNEL, proposed_transaction=signed,
                                                         target_organizations=["Org2MSP"])))
    assert net.called() and all(a in (ORG2_PEER0, ORG2_PEER1) for a in net.called())


def test_evaluate_for_an_org_without_peers(net: Net, orgs: Orgs) -> None:
    # The client's org runs no peer on the channel: the gateway's own org answers.
    run(evaluate(net, client=orgs.org4.identity("client")))
    assert net.called() == [LOCAL]
    net.log.clear()
    # Organizations the client names must have peers, though.
    error = failure(evaluate(net, targets=["Org9MSP"]))
    assert error.code is Code.FAILED_PRECONDITION
    assert net.called() == []


def test_evaluate_malformed_proposal(net: Net) -> None:
    error = failure(evaluate(net, proposal=proposal_pb2.SignedProposal(proposal_bytes=b"\x0a\x05ab", signature=b"s")))
    assert error.code is Code.INVALID_ARGUMENT
    assert error.message.startswith("failed to unpack transaction proposal")
    unsigned = net.propose()
    unsigned.signature = b""
    assert failure(evaluate(net, proposal=unsigned)).code is Code.INVALID_ARGUMENT
    assert net.called() == []


def test_evaluate_on_a_channel_this_peer_has_not_joined(net: Net) -> None:
    error = failure(evaluate(net, proposal=net.propose(channel="other")))
    assert error.code is Code.FAILED_PRECONDITION
    assert "'other'" in error.message


# --- endorse ---------------------------------------------------------------------------


def endorse_request(net: Net, proposal: proposal_pb2.SignedProposal | None = None,
                    orgs: list[str] | None = None) -> Coroutine[Any, Any, gateway_pb2.EndorseResponse]:
    request = gateway_pb2.EndorseRequest(channel_id=CHANNEL, proposed_transaction=proposal or net.propose(),
                                         endorsing_organizations=orgs or [])
    return net.gateway.endorse(request)


def endorsers_of(net: Net, signed: proposal_pb2.SignedProposal, response: gateway_pb2.EndorseResponse,
                 ) -> list[str]:
    """Check the prepared transaction (signed by the client) and name its endorsers."""
    prepared = response.prepared_transaction
    assert prepared.payload and not prepared.signature
    envelope = common_pb2.Envelope(payload=prepared.payload, signature=net.client.sign(prepared.payload))
    transaction = unpack_transaction(envelope)
    proposal = unpack_proposal(signed)
    assert transaction.tx_id == proposal.tx_id
    assert transaction.channel_id == CHANNEL
    (action,) = transaction.actions
    assert action.chaincode_action.results == RWSET
    assert action.chaincode_action.response.payload == b"result"
    assert action.response_payload.proposal_hash == proposal.hash
    names = []
    for signed_data in action.endorsement_signed_data():
        endorser = verify_signed_data(signed_data, net.bundle.msp_manager)  # a real, valid signature
        names.append(next(a for a, p in net.peers.items() if p.signer.serialize() == endorser.serialized))
    return names


def test_endorse_with_and_of_two_orgs_collects_one_of_each(net: Net) -> None:
    net.policies.policy = parse_signature_policy("AND('Org1MSP.peer', 'Org2MSP.peer')")
    signed = net.propose()
    response = run(endorse_request(net, signed))
    assert endorsers_of(net, signed, response) == [LOCAL, ORG2_PEER0]
    assert sorted(net.called()) == [LOCAL, ORG2_PEER0]
    assert set(net.policies.asked) == {CC}
    assert net.peers[LOCAL].evaluations == net.peers[ORG2_PEER0].evaluations == 0  # endorsements are signed


def test_a_key_with_its_own_policy_brings_in_the_orgs_it_needs(net: Net) -> None:
    """asset1, which the transaction writes, may only change with Org3's endorsement
    (state-based endorsement): after the chaincode's policy, Org3 is asked too."""
    net.policies.policy = parse_signature_policy("OR('Org1MSP.peer')")
    net.channel.state.key_policies[(CC, "asset1")] = parse_signature_policy("AND('Org1MSP.peer', 'Org3MSP.peer')")
    signed = net.propose()
    endorsers = endorsers_of(net, signed, run(endorse_request(net, signed)))
    assert sorted(endorsers) == sorted([LOCAL, ORG3_PEER0])
    assert net.called() == [LOCAL, ORG3_PEER0]  # the chaincode's policy first, then what the key adds


def test_a_key_policy_nobody_can_satisfy_is_reported(net: Net) -> None:
    net.policies.policy = parse_signature_policy("OR('Org1MSP.peer')")
    net.channel.state.key_policies[(CC, "asset1")] = parse_signature_policy("OR('Org9MSP.peer')")
    error = failure(endorse_request(net, net.propose()))
    assert error.code is Code.FAILED_PRECONDITION
    assert "Org9MSP" in error.message


def test_endorse_with_the_channel_policy_by_path(net: Net) -> None:
    # MAJORITY Endorsement of three orgs: layouts with this peer's org come first.
    signed = net.propose()
    assert endorsers_of(net, signed, run(endorse_request(net, signed))) == [LOCAL, ORG2_PEER0]
    assert net.peers[ORG3_PEER0].calls == 0


def test_endorse_fails_over_to_another_peer_of_the_org(net: Net) -> None:
    net.policies.policy = parse_signature_policy("AND('Org1MSP.peer', 'Org2MSP.peer')")
    net.peers[ORG2_PEER0].behaviour = down()
    signed = net.propose()
    assert endorsers_of(net, signed, run(endorse_request(net, signed))) == [LOCAL, ORG2_PEER1]
    assert sorted(net.called()) == [LOCAL, ORG2_PEER0, ORG2_PEER1]
    assert net.peers[ORG1_PEER1].calls == 0


def test_endorse_fails_over_to_another_layout(net: Net) -> None:
    net.peers[ORG2_PEER0].behaviour = down()
    net.peers[ORG2_PEER1].behaviour = refuse(500, "chaincode not running")
    signed = net.propose()
    assert endorsers_of(net, signed, run(endorse_request(net, signed))) == [LOCAL, ORG3_PEER0]


def test_endorse_without_this_peer_when_its_org_fails(net: Net) -> None:
    net.peers[LOCAL].behaviour = down()
    net.peers[ORG1_PEER1].behaviour = down()
    signed = net.propose()
    assert endorsers_of(net, signed, run(endorse_request(net, signed))) == [ORG2_PEER0, ORG3_PEER0]


def test_endorse_by_two_peers_of_one_org(net: Net) -> None:
    net.policies.policy = parse_signature_policy("AND('Org1MSP.peer', 'Org1MSP.member')")
    signed = net.propose()
    assert endorsers_of(net, signed, run(endorse_request(net, signed))) == [LOCAL, ORG1_PEER1]


def test_one_peer_known_under_two_addresses_endorses_once(net: Net) -> None:
    # This peer listens on 0.0.0.0:7051 while the channel config names it
    # peer0.org1.test:7051 (external_address left unset): the registry sees a local
    # endorser and a remote one, both this very peer. Two endorsements by one identity
    # count once (the validator refuses the transaction), so the gateway must ask
    # another peer of the org instead of handing out a transaction bound to fail.
    registry = Registry("Org1MSP", "0.0.0.0:7051", net.peers[LOCAL], net.connector)
    policies = FixedPolicies()
    policies.policy = parse_signature_policy("AND('Org1MSP.peer', 'Org1MSP.member')")
    gateway = Gateway({CHANNEL: FakeChannel(net.bundle)}.get, registry, lambda channel_id: policies)  # type: ignore[arg-type,dict-item]
    signed = net.propose()
    response = run(gateway.endorse(gateway_pb2.EndorseRequest(channel_id=CHANNEL, proposed_transaction=signed)))
    endorsers = endorsers_of(net, signed, response)
    assert len(set(endorsers)) == len(endorsers) == 2, f"endorsed twice by one identity: {endorsers}"


def test_chaincode_error_aborts_without_trying_other_layouts(net: Net) -> None:
    net.peers[LOCAL].behaviour = chaincode_error("asset1 does not exist")
    net.peers[ORG1_PEER1].behaviour = chaincode_error("asset1 does not exist")
    error = failure(endorse_request(net))
    assert error.code is Code.ABORTED
    assert error.message == "failed to endorse transaction, see attached details for more info"
    assert (LOCAL, "Org1MSP") in said(error)
    assert all(d.message == "chaincode response 500, asset1 does not exist" for d in error.details)
    # The first layout (Org1 + Org2) was asked; the chaincode failing, nothing else was.
    assert net.peers[ORG3_PEER0].calls == 0
    assert net.peers[ORG2_PEER1].calls == 0


def test_refusal_of_the_client_aborts_without_trying_other_layouts(net: Net) -> None:
    net.peers[ORG2_PEER0].behaviour = refuse(403, "access denied")
    net.peers[ORG2_PEER1].behaviour = down()
    error = failure(endorse_request(net))
    assert error.code is Code.ABORTED
    assert ("403: access denied") in [d.message for d in error.details]
    assert net.peers[ORG3_PEER0].calls == 0


def test_endorse_asks_the_orgs_of_a_layout_in_parallel(net: Net) -> None:
    # This peer's endorsement waits until Org2's peer has been asked: asking one org
    # after the other would never finish.
    net.policies.policy = parse_signature_policy("AND('Org1MSP.peer', 'Org2MSP.peer')")
    org2_asked = asyncio.Event()

    async def signal() -> None:
        org2_asked.set()

    net.peers[LOCAL].hook = org2_asked.wait
    net.peers[ORG2_PEER0].hook = signal

    async def bounded() -> gateway_pb2.EndorseResponse:
        return await asyncio.wait_for(endorse_request(net, signed), 5.0)

    signed = net.propose()
    assert sorted(endorsers_of(net, signed, run(bounded()))) == [LOCAL, ORG2_PEER0]


def test_mismatching_results_abort(net: Net) -> None:
    net.policies.policy = parse_signature_policy("AND('Org1MSP.peer', 'Org2MSP.peer')")
    net.peers[ORG2_PEER0].behaviour = endorse(results=OTHER_RWSET)
    net.peers[ORG2_PEER1].behaviour = endorse(body=b"another result")
    error = failure(endorse_request(net))
    assert error.code is Code.ABORTED
    assert error.message == "failed to collect enough transaction endorsements, see attached details for more info"
    assert said(error) == [(ORG2_PEER0, "Org2MSP"), (ORG2_PEER1, "Org2MSP")]
    first, second = (d.message for d in error.details)
    assert first.startswith("ProposalResponsePayloads do not match")
    assert "read-write sets" in first
    assert "chaincode responses" in second


@pytest.mark.parametrize("behind", [endorse(results=OTHER_RWSET), chaincode_error("ERR_CONFLICT: no FINAL allocation")],
                         ids=["other results", "a refusal"])
def test_an_endorser_a_block_behind_is_asked_again(net: Net, behind: Behaviour) -> None:
    """The client's last transaction is committed on this peer but not yet on Org2's:
    Org2's first answer differs (other results, or its chaincode refuses what needs that
    block); asked again once it has caught up, it endorses."""
    net.policies.policy = parse_signature_policy("AND('Org1MSP.peer', 'Org2MSP.peer')")
    net.peers[ORG2_PEER1].behaviour = down()
    lagging = net.peers[ORG2_PEER0]
    lagging.behaviour = behind

    async def catch_up() -> None:
        if lagging.calls == 1:
            lagging.behaviour = endorse()

    lagging.hook = catch_up
    signed = net.propose()
    assert sorted(endorsers_of(net, signed, run(endorse_request(net, signed)))) == [LOCAL, ORG2_PEER0]
    assert lagging.calls == 2


def test_a_refusal_on_every_endorser_is_reported_at_once(net: Net) -> None:
    net.policies.policy = parse_signature_policy("AND('Org1MSP.peer', 'Org2MSP.peer')")
    for peer in net.peers.values():
        peer.behaviour = chaincode_error()
    error = failure(endorse_request(net))
    assert error.code is Code.ABORTED and "asset1 does not exist" in str(error)
    assert net.peers[LOCAL].calls == 1  # not asked again


def test_endorse_by_the_organizations_the_client_chose(net: Net) -> None:
    net.policies.policy = parse_signature_policy("AND('Org1MSP.peer', 'Org2MSP.peer')")
    signed = net.propose()
    response = run(endorse_request(net, signed, orgs=["Org2MSP", "Org3MSP"]))
    assert sorted(endorsers_of(net, signed, response)) == [ORG2_PEER0, ORG3_PEER0]
    assert net.peers[LOCAL].calls == 0
    assert net.policies.asked == []  # the client answers for the policy


def test_endorse_by_an_organization_without_peers(net: Net) -> None:
    error = failure(endorse_request(net, orgs=["Org2MSP", "Org9MSP"]))
    assert error.code is Code.UNAVAILABLE
    assert "Org9MSP" in error.message
    assert net.called() == []


@pytest.mark.parametrize("policy", ["AND('Org1MSP.peer', 'Org4MSP.peer')", "'Org1MSP.admin'",
                                    "AND('Org3MSP.peer', 'Org3MSP.member')"])
def test_unsatisfiable_policy(net: Net, policy: str) -> None:
    net.policies.policy = parse_signature_policy(policy)
    error = failure(endorse_request(net))
    assert error.code is Code.FAILED_PRECONDITION
    assert f"chaincode {CC} on channel {CHANNEL}" in error.message
    assert "Org3MSP: 1" in error.message
    assert net.called() == []


def test_unknown_policy_path(net: Net) -> None:
    net.policies.policy = "/Channel/Application/Nonexistent"
    error = failure(endorse_request(net))
    assert error.code is Code.FAILED_PRECONDITION
    assert "Nonexistent" in error.message


def test_endorse_malformed_proposal(net: Net) -> None:
    error = failure(endorse_request(net, proposal_pb2.SignedProposal(proposal_bytes=b"\x0a\x05ab", signature=b"s")))
    assert error.code is Code.INVALID_ARGUMENT
    assert net.called() == []


def test_endorse_on_a_channel_this_peer_has_not_joined(net: Net) -> None:
    error = failure(endorse_request(net, net.propose(channel="other")))
    assert error.code is Code.FAILED_PRECONDITION
    assert net.called() == []


def test_endorse_fails_when_no_layout_can_be_filled(net: Net) -> None:
    for address in (ORG2_PEER0, ORG2_PEER1, ORG3_PEER0):
        net.peers[address].behaviour = down(f"{address} is down")
    error = failure(endorse_request(net))
    assert error.code is Code.ABORTED
    assert sorted(d.address for d in error.details) == sorted([ORG2_PEER0, ORG2_PEER1, ORG3_PEER0])
    assert net.peers[ORG2_PEER0].calls == 1  # each peer asked once, across the layouts


# --- submit ----------------------------------------------------------------------------


@pytest.fixture
def in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Orderers tried in configuration order instead of a random one."""
    monkeypatch.setattr(gateway_module.random, "sample", lambda population, k: list(population)[:k])


def submit(net: Net, envelope: common_pb2.Envelope | None = None,
           channel: str = CHANNEL) -> Coroutine[Any, Any, gateway_pb2.SubmitResponse]:
    if envelope is None:
        envelope = common_pb2.Envelope(payload=b"a prepared transaction", signature=b"the client's signature")
    return net.gateway.submit(gateway_pb2.SubmitRequest(transaction_id="tx1", channel_id=channel,
                                                        prepared_transaction=envelope))


def test_submit_sends_the_signed_transaction_to_one_orderer(net: Net) -> None:
    envelope = common_pb2.Envelope(payload=b"payload", signature=b"signature")
    assert run(submit(net, envelope)) == gateway_pb2.SubmitResponse()
    assert len(net.called()) == 1
    (sent,) = net.orderers[net.called()[0]].received
    assert sent == envelope


def test_submit_needs_a_signed_transaction(net: Net) -> None:
    error = failure(submit(net, common_pb2.Envelope(payload=b"payload")))
    assert error.code is Code.INVALID_ARGUMENT
    assert "signed" in error.message
    assert failure(submit(net, common_pb2.Envelope(signature=b"s"))).code is Code.INVALID_ARGUMENT
    assert failure(net.gateway.submit(gateway_pb2.SubmitRequest(channel_id=CHANNEL))).code is Code.INVALID_ARGUMENT
    assert net.called() == []


@pytest.mark.usefixtures("in_order")
def test_submit_moves_on_from_an_unreachable_orderer(net: Net) -> None:
    net.orderers[ORDERERS[0]].answer = Unreachable("UNAVAILABLE: connection refused")
    run(submit(net))
    assert net.called() == ORDERERS[:2]


@pytest.mark.usefixtures("in_order")
def test_submit_moves_on_from_an_orderer_that_cannot_take_it(net: Net) -> None:
    net.orderers[ORDERERS[0]].answer = ab_pb2.BroadcastResponse(status=common_pb2.SERVICE_UNAVAILABLE, info="no leader")
    run(submit(net))
    assert net.called() == ORDERERS[:2]


@pytest.mark.usefixtures("in_order")
@pytest.mark.parametrize("status", [common_pb2.BAD_REQUEST, common_pb2.FORBIDDEN, common_pb2.REQUEST_ENTITY_TOO_LARGE])
def test_submit_refused_by_an_orderer_is_not_tried_elsewhere(net: Net, status: int) -> None:
    net.orderers[ORDERERS[0]].answer = ab_pb2.BroadcastResponse(status=status, info="the transaction is bad")
    error = failure(submit(net))
    assert error.code is Code.ABORTED
    name = common_pb2.Status.Name(status)
    assert error.message == f"received unsuccessful response from orderer: status={name}, info=the transaction is bad"
    assert said(error) == [(ORDERERS[0], "OrdererMSP")]
    assert net.called() == ORDERERS[:1]


def test_submit_fails_when_every_orderer_fails(net: Net) -> None:
    net.orderers[ORDERERS[0]].answer = Unreachable("UNAVAILABLE: connection refused")
    net.orderers[ORDERERS[1]].answer = ab_pb2.BroadcastResponse(status=common_pb2.SERVICE_UNAVAILABLE, info="no leader")
    net.orderers[ORDERERS[2]].answer = Unreachable("DEADLINE_EXCEEDED")
    error = failure(submit(net))
    assert error.code is Code.UNAVAILABLE
    assert error.message == "no orderers could successfully process transaction"
    assert sorted(said(error)) == [(a, "OrdererMSP") for a in ORDERERS]
    messages = {d.address: d.message for d in error.details}
    assert messages[ORDERERS[0]] == "UNAVAILABLE: connection refused"
    assert "SERVICE_UNAVAILABLE" in messages[ORDERERS[1]] and "no leader" in messages[ORDERERS[1]]
    assert sorted(net.called()) == ORDERERS


def test_submit_tries_orderers_in_random_order(net: Net) -> None:
    firsts = set()
    for _ in range(60):
        net.log.clear()
        run(submit(net))
        firsts.add(net.called()[0])
    assert firsts == set(ORDERERS)


@pytest.mark.usefixtures("in_order")
def test_submit_with_an_orderer_status_outside_the_enum(net: Net) -> None:
    # A misbehaving orderer may answer any number; that is its failure, reported as
    # such, and not an internal error of the gateway.
    net.orderers[ORDERERS[0]].answer = ab_pb2.BroadcastResponse(status=502, info="bad gateway")
    run(submit(net))
    assert net.called() == ORDERERS[:2]


def test_submit_on_a_channel_this_peer_has_not_joined(net: Net) -> None:
    error = failure(submit(net, channel="other"))
    assert error.code is Code.FAILED_PRECONDITION
    assert net.called() == []


# --- private data ------------------------------------------------------------------------


def private_rwset(collection: str, *, read: bool) -> bytes:
    """A read-write set that read (or only wrote) key `k` of `collection` of the chaincode."""
    key_hash = b"\x01" * 32
    hashed = kv_rwset_pb2.HashedRWSet(
        hashed_reads=[kv_rwset_pb2.KVReadHash(key_hash=key_hash)] if read else [],
        hashed_writes=[kv_rwset_pb2.KVWriteHash(key_hash=key_hash, value_hash=b"\x02" * 32)])
    return bytes(rwset_pb2.TxReadWriteSet(ns_rwset=[rwset_pb2.NsReadWriteSet(
        namespace=CC, collection_hashed_rwset=[rwset_pb2.CollectionHashedReadWriteSet(
            collection_name=collection, hashed_rwset=hashed.SerializeToString(), pvt_rwset_hash=b"\x03" * 32)])],
    ).SerializeToString())


COLLECTIONS = parse_collections_json(json.dumps([
    {"name": "org13", "policy": "OR('Org1MSP.member', 'Org3MSP.member')", "requiredPeerCount": 0, "maxPeerCount": 1},
    {"name": "guarded", "policy": "OR('Org1MSP.member', 'Org2MSP.member')", "requiredPeerCount": 0,
     "maxPeerCount": 1, "endorsementPolicy": {"signaturePolicy": "OR('Org3MSP.peer')"}},
]))


def with_collections(net: Net, results: bytes) -> None:
    net.policies.collections = COLLECTIONS
    for peer in net.peers.values():
        peer.behaviour = endorse(results)


def test_a_private_read_is_endorsed_here_first_then_only_by_members_of_the_collection(net: Net) -> None:
    """Either Org2 or Org3 may join Org1 by the chaincode's policy; the chaincode read
    collection org13, which Org2 is not a member of (its peers could not read it)."""
    net.policies.policy = parse_signature_policy("OutOf(2, 'Org1MSP.peer', 'Org2MSP.peer', 'Org3MSP.peer')")
    with_collections(net, private_rwset("org13", read=True))
    run(endorse_request(net, net.propose()))
    assert net.called() == [LOCAL, ORG3_PEER0]


def test_a_private_write_alone_does_not_restrict_the_endorsers(net: Net) -> None:
    net.policies.policy = parse_signature_policy("AND('Org1MSP.peer', 'Org2MSP.peer')")
    with_collections(net, private_rwset("org13", read=False))
    run(endorse_request(net, net.propose()))
    assert net.called() == [LOCAL, ORG2_PEER0]


def test_a_collection_with_its_own_endorsement_policy_brings_in_the_orgs_it_needs(net: Net) -> None:
    net.policies.policy = parse_signature_policy("OR('Org1MSP.peer')")
    with_collections(net, private_rwset("guarded", read=False))
    run(endorse_request(net, net.propose()))
    assert net.called() == [LOCAL, ORG3_PEER0]


def test_without_collections_or_transient_data_the_plan_comes_first(net: Net) -> None:
    net.policies.policy = parse_signature_policy("AND('Org1MSP.peer', 'Org2MSP.peer')")
    run(endorse_request(net, net.propose()))
    assert sorted(net.called()) == [LOCAL, ORG2_PEER0]
    assert net.policies.asked_collections == []
