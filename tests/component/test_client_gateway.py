"""The client against a stand-in Fabric gateway on loopback gRPC: what goes over the
wire, how failures with ErrorDetails come back, and offline signing end to end."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import grpc
import pytest
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2

from consortia.client import (
    CommitError,
    CommitStatusError,
    EndorseError,
    ErrorDetail,
    GatewayError,
    SubmitError,
    connect,
    sign_digest,
)
from consortia.msp.signing import SigningIdentity, verify_signature
from consortia.protoutil.proposal import unpack_proposal
from consortia.protoutil.transaction import unpack_transaction
from tests.component.client_fakes import Failure, FakeGateway, serve
from tests.support.identities import SampleOrg

pytestmark = pytest.mark.component

ORG2_REFUSED = gateway_pb2.ErrorDetail(address="peer0.org2.example.com:7061", msp_id="Org2MSP",
                                       message="chaincode response 500, asset o1 does not exist")


@pytest.fixture
def user(org1: SampleOrg) -> SigningIdentity:
    return org1.identity("client", "User1@org1")


@pytest.fixture
def fake(org1: SampleOrg) -> FakeGateway:
    return FakeGateway(endorser=org1.identity("peer"))


@pytest.fixture
def address(fake: FakeGateway) -> Iterator[str]:
    with serve(gateway=fake) as address:
        yield address


def test_evaluate_sends_a_signed_proposal_and_returns_the_result(fake: FakeGateway, address: str,
                                                                 user: SigningIdentity) -> None:
    fake.result = b'{"id":"o1"}'
    with connect(address, signer=user) as gateway:
        result = gateway.get_network("trading").get_contract("market").evaluate_transaction("GetOrder", "o1")
    assert result == b'{"id":"o1"}'
    (request,) = fake.requests["Evaluate"]
    proposal = unpack_proposal(request.proposed_transaction)
    verify_signature(user.identity.public_key, request.proposed_transaction.signature,
                     request.proposed_transaction.proposal_bytes)
    proposal.check_tx_id()  # sha256(nonce ‖ creator)
    assert (request.channel_id, request.transaction_id) == ("trading", proposal.tx_id)
    assert (proposal.channel_id, proposal.chaincode, proposal.args) == ("trading", "market", [b"GetOrder", b"o1"])
    assert proposal.creator == user.serialize()


def test_submit_waits_for_a_valid_commit(fake: FakeGateway, address: str, user: SigningIdentity) -> None:
    fake.result, fake.commit_block = b"placed", 12
    with connect(address, signer=user) as gateway:
        contract = gateway.get_network("trading").get_contract("market", "Orders")
        result = contract.submit("Place", ["o1", b"100"], transient={"secret": "s3"}, endorsing_organizations=["Org1MSP"])
    assert result == b"placed"
    (endorse,) = fake.requests["Endorse"]
    proposal = unpack_proposal(endorse.proposed_transaction)
    assert proposal.args == [b"Orders:Place", b"o1", b"100"] and proposal.transient == {"secret": b"s3"}
    assert list(endorse.endorsing_organizations) == ["Org1MSP"]
    (submit,) = fake.requests["Submit"]
    envelope = submit.prepared_transaction
    verify_signature(user.identity.public_key, envelope.signature, envelope.payload)
    assert unpack_transaction(envelope).tx_id == submit.transaction_id == proposal.tx_id
    (status_request,) = fake.requests["CommitStatus"]
    verify_signature(user.identity.public_key, status_request.signature, status_request.request)
    request = gateway_pb2.CommitStatusRequest.FromString(status_request.request)
    assert (request.transaction_id, request.channel_id, request.identity) == (proposal.tx_id, "trading", user.serialize())


def test_submit_async_gives_the_result_before_the_status(fake: FakeGateway, address: str,
                                                         user: SigningIdentity) -> None:
    fake.commit_block = 21
    with connect(address, signer=user) as gateway:
        submitted = gateway.get_network("ch").get_contract("cc").submit_async("Put", ["k", "v"])
        assert submitted.result == b"result" and "CommitStatus" not in fake.requests
        status = submitted.get_status()
    assert (status.transaction_id, status.code, status.code_name, status.block_number, status.successful) == (
        submitted.transaction_id, 0, "VALID", 21, True)


def test_an_invalid_commit_raises_commit_error_with_the_code_name(fake: FakeGateway, address: str,
                                                                   user: SigningIdentity) -> None:
    fake.commit_code = transaction_pb2.MVCC_READ_CONFLICT
    with connect(address, signer=user) as gateway, pytest.raises(CommitError) as caught:
        gateway.get_network("ch").get_contract("cc").submit_transaction("Put", "k", "v")
    error = caught.value
    assert error.transaction_id == fake.requests["Submit"][0].transaction_id
    assert (error.code, error.code_name) == (11, "MVCC_READ_CONFLICT")
    assert "MVCC_READ_CONFLICT" in str(error)


def test_evaluate_failure_carries_every_error_detail(fake: FakeGateway, address: str, user: SigningIdentity) -> None:
    fake.failures["Evaluate"] = Failure(grpc.StatusCode.ABORTED, "evaluate call to endorser returned error", [ORG2_REFUSED])
    with connect(address, signer=user) as gateway, pytest.raises(GatewayError) as caught:
        gateway.get_network("ch").get_contract("cc").evaluate_transaction("Get", "o1")
    error = caught.value
    assert error.code == grpc.StatusCode.ABORTED
    assert error.details == [ErrorDetail(ORG2_REFUSED.address, "Org2MSP", ORG2_REFUSED.message)]
    assert "evaluate call to endorser returned error (ABORTED)" in str(error)
    assert "Org2MSP at peer0.org2.example.com:7061: chaincode response 500, asset o1 does not exist" in str(error)


def test_endorse_failure_is_an_endorse_error(fake: FakeGateway, address: str, user: SigningIdentity) -> None:
    fake.failures["Endorse"] = Failure(grpc.StatusCode.ABORTED, "failed to endorse transaction", [ORG2_REFUSED])
    with connect(address, signer=user) as gateway, pytest.raises(EndorseError) as caught:
        gateway.get_network("ch").get_contract("cc").submit_transaction("Put", "o1")
    assert caught.value.transaction_id == fake.requests["Endorse"][0].transaction_id
    assert caught.value.details[0].msp_id == "Org2MSP"
    assert "Submit" not in fake.requests


def test_submit_failure_is_a_submit_error(fake: FakeGateway, address: str, user: SigningIdentity) -> None:
    orderer = gateway_pb2.ErrorDetail(address="orderer0:7050", msp_id="OrdererMSP", message="SERVICE_UNAVAILABLE")
    fake.failures["Submit"] = Failure(grpc.StatusCode.UNAVAILABLE, "no orderers could be reached", [orderer])
    with connect(address, signer=user) as gateway, pytest.raises(SubmitError) as caught:
        gateway.get_network("ch").get_contract("cc").submit_transaction("Put", "o1")
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert caught.value.details == [ErrorDetail("orderer0:7050", "OrdererMSP", "SERVICE_UNAVAILABLE")]
    assert "CommitStatus" not in fake.requests


def test_commit_status_failure_is_a_commit_status_error(fake: FakeGateway, address: str, user: SigningIdentity) -> None:
    fake.failures["CommitStatus"] = Failure(grpc.StatusCode.PERMISSION_DENIED, "access denied")
    with connect(address, signer=user) as gateway, pytest.raises(CommitStatusError) as caught:
        gateway.get_network("ch").get_contract("cc").submit_transaction("Put", "o1")
    assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert caught.value.transaction_id == fake.requests["Submit"][0].transaction_id


def test_a_call_that_takes_too_long_ends_with_deadline_exceeded(fake: FakeGateway, address: str,
                                                               user: SigningIdentity) -> None:
    fake.failures["Evaluate"] = Failure(grpc.StatusCode.DEADLINE_EXCEEDED, "too slow")
    with connect(address, signer=user, evaluate_timeout=5) as gateway, pytest.raises(GatewayError) as caught:
        gateway.get_network("ch").get_contract("cc").evaluate_transaction("Get")
    assert caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert f"no answer from the gateway at {address} in time" in str(caught.value)


def test_an_unreachable_gateway_is_a_clear_error(user: SigningIdentity) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    with connect(address, signer=user, evaluate_timeout=10) as gateway, pytest.raises(GatewayError) as caught:
        gateway.get_network("ch").get_contract("cc").evaluate_transaction("Get")
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert f"cannot reach the gateway at {address}" in str(caught.value)


def test_offline_signing_round_trip_over_the_wire(fake: FakeGateway, address: str, user: SigningIdentity) -> None:
    fake.result, fake.commit_block = b"offline", 5
    with connect(address, identity=user.serialize()) as gateway:
        unsigned = gateway.get_network("ch").get_contract("cc").new_proposal("Put", ["k", "v"])
        proposal = gateway.new_signed_proposal(unsigned.bytes(), sign_digest(user.private_key, unsigned.digest()))
        unsigned_tx = proposal.endorse()
        transaction = gateway.new_signed_transaction(unsigned_tx.bytes(), sign_digest(user.private_key, unsigned_tx.digest()))
        unsigned_commit = transaction.submit()
        commit = gateway.new_signed_commit(unsigned_commit.bytes(), sign_digest(user.private_key, unsigned_commit.digest()))
        status = commit.get_status()
    assert transaction.result == b"offline"
    assert (status.successful, status.block_number, status.transaction_id) == (True, 5, proposal.transaction_id)
    public_key = user.identity.public_key
    signed_proposal = fake.requests["Endorse"][0].proposed_transaction
    verify_signature(public_key, signed_proposal.signature, signed_proposal.proposal_bytes)
    envelope = fake.requests["Submit"][0].prepared_transaction
    verify_signature(public_key, envelope.signature, envelope.payload)
    status_request = fake.requests["CommitStatus"][0]
    verify_signature(public_key, status_request.signature, status_request.request)


def test_a_shared_channel_stays_open_when_a_gateway_closes(fake: FakeGateway, address: str,
                                                           user: SigningIdentity) -> None:
    with grpc.insecure_channel(address) as channel:
        with connect(channel, signer=user) as gateway:
            gateway.get_network("ch").get_contract("cc").evaluate_transaction("Get")
        with connect(channel, signer=user) as again:
            assert again.get_network("ch").get_contract("cc").evaluate_transaction("Get") == b"result"
    assert len(fake.requests["Evaluate"]) == 2
