"""consortia.client.aio without a network: it sends what the synchronous API sends,
signed alike, and fails with the same errors."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_response_pb2

from consortia.client import (
    CommitError,
    CommitStatusError,
    EndorseError,
    GatewayError,
    aio,
)
from consortia.errors import ConsortiaError
from consortia.msp.signing import SigningIdentity, verify_signature
from consortia.protoutil.proposal import unpack_proposal
from tests.support.identities import SampleOrg
from tests.unit.client.fakes import FakeAioChannel, FakeRpcError
from tests.unit.client.test_messages import endorsed

pytestmark = pytest.mark.unit


@pytest.fixture
def channel() -> FakeAioChannel:
    return FakeAioChannel()


def test_submit_signs_every_message_and_reports_the_commit(channel: FakeAioChannel, user: SigningIdentity,
                                                           org1: SampleOrg) -> None:
    peer = org1.identity("peer")
    channel.answers["Endorse"] = lambda request, timeout: endorsed(request, peer, b"done")
    channel.answers["Submit"] = lambda request, timeout: gateway_pb2.SubmitResponse()
    channel.answers["CommitStatus"] = lambda request, timeout: gateway_pb2.CommitStatusResponse(result=0, block_number=7)

    async def scenario() -> tuple[bytes, str]:
        async with aio.connect(channel, signer=user) as gateway:
            contract = gateway.get_network("ch").get_contract("cc", "Orders")
            submitted = await contract.submit_async("Put", ["k", b"\x00"], {"secret": "s"})
            status = await submitted.get_status()
            assert (status.code_name, status.block_number, status.successful) == ("VALID", 7, True)
            assert await contract.submit_transaction("Put", "k2") == b"done"
            return submitted.result, submitted.transaction_id

    result, tx_id = asyncio.run(scenario())
    assert result == b"done"
    assert not getattr(channel, "closed", False)  # a channel handed in stays open
    names = [name for name, _ in channel.calls]
    assert names == ["Endorse", "Submit", "CommitStatus"] * 2
    endorse, submit, status_request = (request for _, request in channel.calls[:3])
    public_key = user.identity.public_key
    signed = endorse.proposed_transaction
    verify_signature(public_key, signed.signature, signed.proposal_bytes)
    unpacked = unpack_proposal(signed)
    assert unpacked.args == [b"Orders:Put", b"k", b"\x00"] and unpacked.transient == {"secret": b"s"}
    assert endorse.transaction_id == submit.transaction_id == unpacked.tx_id == tx_id
    verify_signature(public_key, submit.prepared_transaction.signature, submit.prepared_transaction.payload)
    verify_signature(public_key, status_request.signature, status_request.request)
    request = gateway_pb2.CommitStatusRequest.FromString(status_request.request)
    assert (request.transaction_id, request.channel_id, request.identity) == (tx_id, "ch", user.serialize())


def test_evaluate_sends_the_signed_proposal_to_the_organizations_asked(channel: FakeAioChannel,
                                                                       user: SigningIdentity) -> None:
    channel.answers["Evaluate"] = lambda request, timeout: gateway_pb2.EvaluateResponse(
        result=proposal_response_pb2.Response(status=200, payload=b"42"))
    gateway = aio.connect(channel, signer=user)
    contract = gateway.get_network("ch").get_contract("cc")
    assert asyncio.run(contract.evaluate("Get", ["k"], target_organizations=["Org1MSP"])) == b"42"
    (name, request), = channel.calls
    assert name == "Evaluate" and list(request.target_organizations) == ["Org1MSP"]
    signed = request.proposed_transaction
    verify_signature(user.identity.public_key, signed.signature, signed.proposal_bytes)


def test_each_failure_is_the_synchronous_api_s_error(channel: FakeAioChannel, user: SigningIdentity,
                                                     org1: SampleOrg) -> None:
    def unreachable(request: object, timeout: float | None) -> None:
        raise FakeRpcError(grpc.StatusCode.UNAVAILABLE, "connection refused")

    def late(request: object, timeout: float | None) -> None:
        raise FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "waited too long")

    contract = aio.connect(channel, signer=user).get_network("ch").get_contract("cc")
    channel.answers["Evaluate"] = unreachable
    with pytest.raises(GatewayError, match="cannot reach the gateway at the given channel: connection refused"):
        asyncio.run(contract.evaluate_transaction("Get", "k"))
    channel.answers["Endorse"] = unreachable
    with pytest.raises(EndorseError) as endorse:
        asyncio.run(contract.submit_transaction("Put", "k"))
    assert endorse.value.code == grpc.StatusCode.UNAVAILABLE and endorse.value.transaction_id

    channel.answers["Endorse"] = lambda request, timeout: endorsed(request, org1.identity("peer"), b"")
    channel.answers["Submit"] = lambda request, timeout: gateway_pb2.SubmitResponse()
    channel.answers["CommitStatus"] = lambda request, timeout: gateway_pb2.CommitStatusResponse(result=11, block_number=4)
    with pytest.raises(CommitError) as invalid:
        asyncio.run(contract.submit_transaction("Put", "k"))
    assert invalid.value.code_name == "MVCC_READ_CONFLICT"
    channel.answers["CommitStatus"] = late
    with pytest.raises(CommitStatusError) as status:
        asyncio.run(contract.submit_transaction("Put", "k"))
    assert status.value.code == grpc.StatusCode.DEADLINE_EXCEEDED and "waited too long" in str(status.value)


@pytest.mark.parametrize(("settings", "message"), [
    ({"address": ""}, "no gateway address given"),
    ({"address": "127.0.0.1:7051", "client_cert": b"cert"}, "mutual TLS needs both"),
    ({"address": "127.0.0.1:7051", "client_cert": b"cert", "client_key": b"key"}, "without the peer's TLS CA"),
])
def test_connect_refuses_settings_that_do_not_fit(user: SigningIdentity, settings: dict[str, object],
                                                  message: str) -> None:
    with pytest.raises(ConsortiaError, match=message):
        aio.connect(signer=user, **settings)  # type: ignore[arg-type]
