"""What the client builds, checked without a network: proposals, transactions, commit
status and event requests, their digests, and their offline-signing round trips."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

import grpc
import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2, proposal_response_pb2

from consortia.client import (
    CommitStatusError,
    Gateway,
    InMemoryCheckpointer,
    NoSignerError,
    connect,
    sign_digest,
)
from consortia.client.block_events import LAST_BLOCK
from consortia.errors import MessageError
from consortia.msp.signing import SigningIdentity, verify_signature
from consortia.protoutil.envelope import unpack_envelope
from consortia.protoutil.proposal import unpack_proposal
from consortia.protoutil.response import create_proposal_response
from consortia.protoutil.transaction import create_transaction_payload
from consortia.protoutil.txid import compute_tx_id
from tests.support.identities import SampleOrg
from tests.unit.client.fakes import FakeChannel, FakeRpcError

pytestmark = pytest.mark.unit


@pytest.fixture
def channel() -> FakeChannel:
    return FakeChannel()


@pytest.fixture
def gateway(channel: FakeChannel, user: SigningIdentity) -> Iterator[Gateway]:
    with connect(channel, signer=user) as gw:
        yield gw


@pytest.fixture
def offline(channel: FakeChannel, user: SigningIdentity) -> Iterator[Gateway]:
    with connect(channel, identity=user.serialize()) as gw:
        yield gw


def endorsed(request: gateway_pb2.EndorseRequest, endorser: SigningIdentity, result: bytes) -> gateway_pb2.EndorseResponse:
    proposal = unpack_proposal(request.proposed_transaction)
    response = create_proposal_response(
        proposal, results=b"", response=proposal_response_pb2.Response(status=200, payload=result),
        chaincode_id=chaincode_pb2.ChaincodeID(name=proposal.chaincode), endorser=endorser,
    )
    envelope = common_pb2.Envelope(payload=create_transaction_payload(proposal, [response]))
    return gateway_pb2.EndorseResponse(prepared_transaction=envelope)


def test_a_proposal_carries_the_call_as_fabric_lays_it_out(gateway: Gateway, user: SigningIdentity) -> None:
    contract = gateway.get_network("trading").get_contract("market", "Orders")
    proposal = contract.new_proposal("Place", ["o1", b"\x00\xff"], {"price": "100", "secret": b"\x01"}, ["Org2MSP"])
    proposed = gateway_pb2.ProposedTransaction.FromString(proposal.bytes())
    unpacked = unpack_proposal(proposal_pb2.SignedProposal(proposal_bytes=proposed.proposal.proposal_bytes,
                                                           signature=b"unchecked"))
    assert unpacked.channel_id == "trading" and unpacked.chaincode == "market"
    assert unpacked.args == [b"Orders:Place", b"o1", b"\x00\xff"]
    assert unpacked.transient == {"price": b"100", "secret": b"\x01"}
    assert unpacked.creator == user.serialize()
    assert proposal.transaction_id == unpacked.tx_id == proposed.transaction_id
    assert unpacked.tx_id == compute_tx_id(unpacked.signature_header.nonce, user.serialize())
    assert list(proposed.endorsing_organizations) == ["Org2MSP"] == proposal.endorsing_organizations
    assert proposal.digest() == hashlib.sha256(proposed.proposal.proposal_bytes).digest()
    assert proposed.proposal.signature == b""  # signed when sent, not before


def test_the_default_contract_sends_the_bare_function_name(gateway: Gateway) -> None:
    proposal = gateway.get_network("ch").get_contract("cc").new_proposal("Get")
    inner = gateway_pb2.ProposedTransaction.FromString(proposal.bytes()).proposal
    assert unpack_proposal(proposal_pb2.SignedProposal(proposal_bytes=inner.proposal_bytes, signature=b"s")).args == [b"Get"]


def test_every_proposal_has_its_own_transaction_id(gateway: Gateway) -> None:
    contract = gateway.get_network("ch").get_contract("cc")
    assert contract.new_proposal("f").transaction_id != contract.new_proposal("f").transaction_id


@pytest.mark.parametrize("args", ["one-string", b"bytes", [1], ["ok", None]])
def test_arguments_must_be_a_sequence_of_str_or_bytes(gateway: Gateway, args: object) -> None:
    with pytest.raises(TypeError, match="str or bytes"):
        gateway.get_network("ch").get_contract("cc").new_proposal("f", args)  # type: ignore[arg-type]


def test_evaluate_signs_the_proposal_bytes(gateway: Gateway, channel: FakeChannel, user: SigningIdentity) -> None:
    channel.answers["Evaluate"] = lambda request, timeout: gateway_pb2.EvaluateResponse(
        result=proposal_response_pb2.Response(status=200, payload=b"42")
    )
    contract = gateway.get_network("ch").get_contract("cc")
    assert contract.evaluate("Get", ["k"], target_organizations=["Org1MSP"]) == b"42"
    (name, request), = channel.calls
    assert name == "Evaluate" and request.channel_id == "ch" and list(request.target_organizations) == ["Org1MSP"]
    signed = request.proposed_transaction
    verify_signature(user.identity.public_key, signed.signature, signed.proposal_bytes)
    assert request.transaction_id == unpack_proposal(signed).tx_id


def test_the_transaction_result_is_read_from_the_endorsed_envelope(
    gateway: Gateway, channel: FakeChannel, org1: SampleOrg
) -> None:
    peer = org1.identity("peer")
    channel.answers["Endorse"] = lambda request, timeout: endorsed(request, peer, b"endorsed result")
    proposal = gateway.get_network("ch").get_contract("cc").new_proposal("Put", ["k", "v"])
    transaction = proposal.endorse()
    assert transaction.result == b"endorsed result"
    assert transaction.transaction_id == proposal.transaction_id and transaction.channel_id == "ch"
    prepared = gateway_pb2.PreparedTransaction.FromString(transaction.bytes())
    assert prepared.transaction_id == proposal.transaction_id
    assert transaction.digest() == hashlib.sha256(prepared.envelope.payload).digest()
    assert transaction.endorsing_organizations == ["Org1MSP"]


def test_a_proposal_may_carry_the_time_of_a_dated_scenario(gateway: Gateway) -> None:
    contract = gateway.get_network("ch").get_contract("cc")
    beijing = dt.timezone(dt.timedelta(hours=8))
    proposal = contract.new_proposal("Settle", timestamp=dt.datetime(2023, 9, 5, 15, 30, 0, 250_000, tzinfo=beijing))
    inner = gateway_pb2.ProposedTransaction.FromString(proposal.bytes()).proposal
    header = unpack_proposal(proposal_pb2.SignedProposal(proposal_bytes=inner.proposal_bytes, signature=b"s"))
    stamp = header.channel_header.timestamp
    assert (stamp.seconds, stamp.nanos) == (int(dt.datetime(2023, 9, 5, 7, 30, tzinfo=dt.UTC).timestamp()), 250_000_000)
    with pytest.raises(ValueError, match="must carry its time zone"):
        contract.new_proposal("Settle", timestamp=dt.datetime(2023, 9, 5, 15, 30))


def test_offline_signing_round_trip(offline: Gateway, channel: FakeChannel, user: SigningIdentity,
                                    org1: SampleOrg) -> None:
    peer = org1.identity("peer")
    channel.answers["Endorse"] = lambda request, timeout: endorsed(request, peer, b"done")
    channel.answers["Submit"] = lambda request, timeout: gateway_pb2.SubmitResponse()
    channel.answers["CommitStatus"] = lambda request, timeout: gateway_pb2.CommitStatusResponse(result=0, block_number=3)
    unsigned = offline.get_network("ch").get_contract("cc").new_proposal("Put", ["k"])
    with pytest.raises(NoSignerError, match="new_signed_proposal"):
        unsigned.endorse()
    assert channel.calls == []  # nothing unsigned left the client

    proposal = offline.new_signed_proposal(unsigned.bytes(), sign_digest(user.private_key, unsigned.digest()))
    assert proposal.transaction_id == unsigned.transaction_id and proposal.channel_id == "ch"
    unsigned_tx = proposal.endorse()
    with pytest.raises(NoSignerError, match="new_signed_transaction"):
        unsigned_tx.submit()
    transaction = offline.new_signed_transaction(unsigned_tx.bytes(), sign_digest(user.private_key, unsigned_tx.digest()))
    assert transaction.result == b"done"
    unsigned_commit = transaction.submit()
    with pytest.raises(NoSignerError, match="new_signed_commit"):
        unsigned_commit.get_status()
    commit = offline.new_signed_commit(unsigned_commit.bytes(), sign_digest(user.private_key, unsigned_commit.digest()))
    status = commit.get_status()
    assert (status.transaction_id, status.code_name, status.block_number, status.successful) == (
        proposal.transaction_id, "VALID", 3, True)

    calls = dict(channel.calls)
    public_key = user.identity.public_key
    signed_proposal = calls["Endorse"].proposed_transaction
    verify_signature(public_key, signed_proposal.signature, signed_proposal.proposal_bytes)
    envelope = calls["Submit"].prepared_transaction
    verify_signature(public_key, envelope.signature, envelope.payload)
    status_request = calls["CommitStatus"]
    verify_signature(public_key, status_request.signature, status_request.request)
    request = gateway_pb2.CommitStatusRequest.FromString(status_request.request)
    assert (request.transaction_id, request.channel_id, request.identity) == (
        proposal.transaction_id, "ch", user.serialize())


def test_malformed_bytes_to_rebuild_are_a_clear_error(offline: Gateway) -> None:
    with pytest.raises(MessageError, match="proposal bytes is not a valid gateway.ProposedTransaction"):
        offline.new_signed_proposal(b"\xff\xff", b"sig")


def test_chaincode_events_start_at_the_next_commit_by_default(gateway: Gateway, user: SigningIdentity) -> None:
    request = gateway.get_network("ch").new_chaincode_events_request("cc")
    signed = gateway_pb2.SignedChaincodeEventsRequest.FromString(request.bytes())
    inner = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
    assert (inner.channel_id, inner.chaincode_id, inner.identity) == ("ch", "cc", user.serialize())
    assert inner.start_position.WhichOneof("Type") == "next_commit" and inner.after_transaction_id == ""
    assert request.digest() == hashlib.sha256(signed.request).digest()


def test_chaincode_events_resume_after_the_checkpointed_transaction(gateway: Gateway) -> None:
    checkpointer = InMemoryCheckpointer()
    checkpointer.checkpoint_transaction(9, "tx-last")
    network = gateway.get_network("ch")
    for request in (network.new_chaincode_events_request("cc", start_block=2, checkpoint=checkpointer),
                    network.new_chaincode_events_request("cc", checkpoint=checkpointer)):
        inner = gateway_pb2.ChaincodeEventsRequest.FromString(
            gateway_pb2.SignedChaincodeEventsRequest.FromString(request.bytes()).request)
        assert inner.start_position.specified.number == 9 and inner.after_transaction_id == "tx-last"
    # An empty checkpoint defers to the start block.
    request = network.new_chaincode_events_request("cc", start_block=2, checkpoint=InMemoryCheckpointer())
    inner = gateway_pb2.ChaincodeEventsRequest.FromString(
        gateway_pb2.SignedChaincodeEventsRequest.FromString(request.bytes()).request)
    assert inner.start_position.specified.number == 2 and inner.after_transaction_id == ""


def seek_of(request_bytes: bytes) -> ab_pb2.SeekInfo:
    unpacked = unpack_envelope(common_pb2.Envelope.FromString(request_bytes))
    assert unpacked.header_type == common_pb2.DELIVER_SEEK_INFO
    return ab_pb2.SeekInfo.FromString(unpacked.payload.data)


def test_block_events_start_at_the_newest_block_and_never_stop(gateway: Gateway, user: SigningIdentity) -> None:
    request = gateway.get_network("ch").new_block_events_request()
    envelope = common_pb2.Envelope.FromString(request.bytes())
    verify_signature(user.identity.public_key, envelope.signature, envelope.payload)
    unpacked = unpack_envelope(envelope)
    assert unpacked.channel_id == "ch" and unpacked.creator == user.serialize()
    assert unpacked.channel_header.HasField("timestamp")  # peers refuse seek requests without one
    seek = seek_of(request.bytes())
    assert seek.start.WhichOneof("Type") == "newest"
    assert seek.stop.specified.number == LAST_BLOCK
    assert seek.behavior == ab_pb2.SeekInfo.BLOCK_UNTIL_READY


def test_block_events_resume_from_the_checkpointed_block(gateway: Gateway) -> None:
    checkpointer = InMemoryCheckpointer()
    checkpointer.checkpoint_block(4)
    network = gateway.get_network("ch")
    assert seek_of(network.new_block_events_request(start_block=1).bytes()).start.specified.number == 1
    assert seek_of(network.new_block_events_request(1, checkpointer).bytes()).start.specified.number == 5
    assert seek_of(network.new_filtered_block_events_request(checkpoint=checkpointer).bytes()).start.specified.number == 5


def test_unsigned_block_events_requests_are_signed_offline(offline: Gateway, user: SigningIdentity,
                                                          channel: FakeChannel) -> None:
    unsigned = offline.get_network("ch").new_block_events_request(start_block=0)
    assert common_pb2.Envelope.FromString(unsigned.bytes()).signature == b""
    with pytest.raises(NoSignerError, match="new_signed_block_events_request"):
        unsigned.get_events()
    signed = offline.new_signed_block_events_request(unsigned.bytes(), sign_digest(user.private_key, unsigned.digest()))
    envelope = common_pb2.Envelope.FromString(signed.bytes())
    verify_signature(user.identity.public_key, envelope.signature, envelope.payload)
    assert channel.calls == []


def test_commit_status_as_a_future_and_its_errors(gateway: Gateway, channel: FakeChannel, org1: SampleOrg) -> None:
    peer = org1.identity("peer")
    channel.answers["Endorse"] = lambda request, timeout: endorsed(request, peer, b"done")
    channel.answers["Submit"] = lambda request, timeout: gateway_pb2.SubmitResponse()
    submitted = gateway.get_network("ch").get_contract("cc").submit_async("Put", ["k"])
    channel.answers["CommitStatus"] = lambda request, timeout: gateway_pb2.CommitStatusResponse(result=11, block_number=4)
    status = submitted.status_future().result(timeout=1)
    assert (status.code_name, status.block_number, status.successful) == ("MVCC_READ_CONFLICT", 4, False)

    def late(request: object, timeout: float | None) -> None:
        raise FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "waited too long")

    channel.answers["CommitStatus"] = late
    for wait in (lambda: submitted.status_future().result(timeout=1), submitted.get_status):
        with pytest.raises(CommitStatusError) as info:
            wait()
        assert info.value.transaction_id == submitted.transaction_id
        assert info.value.code == grpc.StatusCode.DEADLINE_EXCEEDED and "waited too long" in str(info.value)


def test_a_fixed_nonce_makes_the_same_transaction_again(gateway: Gateway, user: SigningIdentity) -> None:
    contract = gateway.get_network("ch").get_contract("cc")
    nonce = bytes(range(24))
    first = contract.new_proposal("Put", ["k"], nonce=nonce)
    again = contract.new_proposal("Put", ["k"], nonce=nonce)
    assert first.transaction_id == again.transaction_id == compute_tx_id(nonce, user.serialize())
    assert contract.new_proposal("Put", ["k"]).transaction_id != first.transaction_id


def test_the_commit_status_of_any_transaction_by_its_id(gateway: Gateway, channel: FakeChannel,
                                                        user: SigningIdentity) -> None:
    channel.answers["CommitStatus"] = lambda request, timeout: gateway_pb2.CommitStatusResponse(result=0, block_number=9)
    status = gateway.get_network("ch").new_commit("feedbeef").get_status(timeout=2)
    assert (status.transaction_id, status.block_number, status.successful) == ("feedbeef", 9, True)
    signed = dict(channel.calls)["CommitStatus"]
    request = gateway_pb2.CommitStatusRequest.FromString(signed.request)
    assert (request.channel_id, request.transaction_id, request.identity) == ("ch", "feedbeef", user.serialize())
    verify_signature(user.identity.public_key, signed.signature, signed.request)
