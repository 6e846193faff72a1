"""Event streams against stand-in Gateway and Deliver services on loopback gRPC:
what is asked for, what comes out, resuming from checkpoints, and closing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import chaincode_event_pb2, events_pb2

from consortia.client import (
    ChaincodeEvent,
    DeliverError,
    FileCheckpointer,
    GatewayError,
    connect,
)
from consortia.msp.signing import SigningIdentity, verify_signature
from consortia.protoutil import block as blocks
from consortia.protoutil.envelope import unpack_envelope
from tests.component.client_fakes import Failure, FakeDeliver, FakeGateway, serve
from tests.support.identities import SampleOrg

pytestmark = pytest.mark.component


def event(tx_id: str, name: str, payload: bytes) -> chaincode_event_pb2.ChaincodeEvent:
    return chaincode_event_pb2.ChaincodeEvent(chaincode_id="market", tx_id=tx_id, event_name=name, payload=payload)


RESPONSES = [
    gateway_pb2.ChaincodeEventsResponse(block_number=3, events=[event("t1", "Placed", b"o1"), event("t2", "Placed", b"o2")]),
    gateway_pb2.ChaincodeEventsResponse(block_number=4, events=[event("t3", "Traded", b"{}")]),
]


@pytest.fixture
def user(org1: SampleOrg) -> SigningIdentity:
    return org1.identity("client", "User1@org1")


@pytest.fixture
def fake(org1: SampleOrg) -> FakeGateway:
    return FakeGateway(endorser=org1.identity("peer"), chaincode_events=list(RESPONSES))


@pytest.fixture
def deliver() -> FakeDeliver:
    chain = [blocks.new_block(n, b"", [f"tx{n}".encode()]) for n in (5, 6)]
    for block in chain:
        blocks.set_transactions_filter(block, [0])
    filtered = [events_pb2.FilteredBlock(channel_id="ch", number=n) for n in (5, 6)]
    return FakeDeliver(blocks=chain, filtered=filtered)


@pytest.fixture
def address(fake: FakeGateway, deliver: FakeDeliver) -> Iterator[str]:
    with serve(gateway=fake, deliver=deliver) as address:
        yield address


def inner(signed: gateway_pb2.SignedChaincodeEventsRequest) -> gateway_pb2.ChaincodeEventsRequest:
    return gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)


def test_chaincode_events_arrive_in_order_from_a_signed_request(fake: FakeGateway, address: str,
                                                                 user: SigningIdentity) -> None:
    with connect(address, signer=user) as gateway, gateway.get_network("ch").get_chaincode_events("market") as events:
        received = [next(events) for _ in range(3)]
    assert received == [
        ChaincodeEvent(3, "t1", "market", "Placed", b"o1"),
        ChaincodeEvent(3, "t2", "market", "Placed", b"o2"),
        ChaincodeEvent(4, "t3", "market", "Traded", b"{}"),
    ]
    (signed,) = fake.requests["ChaincodeEvents"]
    verify_signature(user.identity.public_key, signed.signature, signed.request)
    request = inner(signed)
    assert (request.channel_id, request.chaincode_id, request.identity) == ("ch", "market", user.serialize())
    assert request.start_position.WhichOneof("Type") == "next_commit"


def test_closing_a_stream_ends_a_waiting_iteration(address: str, user: SigningIdentity) -> None:
    with connect(address, signer=user) as gateway:
        events = gateway.get_network("ch").get_chaincode_events("market", start_block=3)
        for _ in range(3):
            next(events)
        closer = threading.Timer(0.3, events.close)  # the server has nothing more: next() waits
        closer.start()
        started = time.monotonic()
        assert list(events) == []
        assert time.monotonic() - started < 10
        assert events.closed


def test_closing_the_gateway_ends_its_streams(address: str, user: SigningIdentity) -> None:
    gateway = connect(address, signer=user)
    events = gateway.get_network("ch").get_chaincode_events("market")
    assert next(events).transaction_id == "t1"
    threading.Timer(0.3, gateway.close).start()
    assert [e.transaction_id for e in events] == ["t2", "t3"]  # then the end, quietly


def test_chaincode_events_resume_after_the_file_checkpoint(fake: FakeGateway, address: str, user: SigningIdentity,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    with connect(address, signer=user) as gateway:
        network = gateway.get_network("ch")
        checkpointer = FileCheckpointer(path)
        with network.get_chaincode_events("market", checkpoint=checkpointer) as events:
            for _ in range(2):
                checkpointer.checkpoint_chaincode_event(next(events))
        # A new process would read the file: resume in block 3 after t2.
        with network.get_chaincode_events("market", start_block=0, checkpoint=FileCheckpointer(path)) as events:
            next(events)
    first, resumed = (inner(r) for r in fake.requests["ChaincodeEvents"])
    assert first.start_position.WhichOneof("Type") == "next_commit" and first.after_transaction_id == ""
    assert resumed.start_position.specified.number == 3
    assert resumed.after_transaction_id == "t2"


def test_a_refused_event_stream_raises_with_the_details(fake: FakeGateway, address: str,
                                                        user: SigningIdentity) -> None:
    detail = gateway_pb2.ErrorDetail(address="peer0:7051", msp_id="Org1MSP", message="not a reader")
    fake.failures["ChaincodeEvents"] = Failure(grpc.StatusCode.PERMISSION_DENIED, "access denied", [detail])
    with connect(address, signer=user) as gateway:
        events = gateway.get_network("ch").get_chaincode_events("market")
        with pytest.raises(GatewayError) as caught:
            next(events)
    assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert "chaincode events of market on channel ch failed: access denied" in str(caught.value)
    assert "Org1MSP at peer0:7051: not a reader" in str(caught.value)
    assert list(events) == []  # a failed stream is over


def test_block_events_stream_full_blocks_from_a_signed_seek(deliver: FakeDeliver, address: str,
                                                            user: SigningIdentity) -> None:
    with connect(address, signer=user) as gateway, gateway.get_network("ch").get_block_events(start_block=5) as stream:
        received = [next(stream) for _ in range(2)]
    assert [b.header.number for b in received] == [5, 6]
    assert received[0].SerializeToString() == deliver.blocks[0].SerializeToString()
    ((method, envelope),) = deliver.requests
    assert method == "Deliver"
    verify_signature(user.identity.public_key, envelope.signature, envelope.payload)
    unpacked = unpack_envelope(envelope)
    assert (unpacked.channel_id, unpacked.header_type) == ("ch", common_pb2.DELIVER_SEEK_INFO)
    assert ab_pb2.SeekInfo.FromString(unpacked.payload.data).start.specified.number == 5


def test_filtered_block_events_use_deliver_filtered(deliver: FakeDeliver, address: str, user: SigningIdentity,
                                                    tmp_path: Path) -> None:
    checkpointer = FileCheckpointer(tmp_path / "blocks.json")
    checkpointer.checkpoint_block(4)
    with connect(address, signer=user) as gateway, \
            gateway.get_network("ch").get_filtered_block_events(checkpoint=checkpointer) as stream:
        received = [next(stream) for _ in range(2)]
    assert [(b.channel_id, b.number) for b in received] == [("ch", 5), ("ch", 6)]
    ((method, envelope),) = deliver.requests
    assert method == "DeliverFiltered"
    assert ab_pb2.SeekInfo.FromString(unpack_envelope(envelope).payload.data).start.specified.number == 5


def test_a_refused_block_stream_is_a_deliver_error(deliver: FakeDeliver, address: str, user: SigningIdentity) -> None:
    deliver.refuse = common_pb2.FORBIDDEN
    with connect(address, signer=user) as gateway:
        stream = gateway.get_network("ch").get_block_events()
        with pytest.raises(DeliverError) as caught:
            next(stream)
    assert caught.value.status == common_pb2.FORBIDDEN
    assert "refused with FORBIDDEN" in str(caught.value)
    assert stream.closed
