"""The shim refuses query arguments Fabric's shims refuse, before asking the peer."""

from __future__ import annotations

import pytest
from fabric_protos.peer import chaincode_pb2
from fabric_protos.peer.chaincode_shim_pb2 import ChaincodeMessage as Message

from chaincode.shim.interfaces import ChaincodeStubError
from chaincode.shim.stub import ChaincodeStub

pytestmark = pytest.mark.unit


class _NoPeer:
    """Any question to the peer fails the test: every refusal here comes first."""

    def call(self, *_: object) -> None:
        raise AssertionError("the stub asked the peer")


@pytest.fixture
def stub() -> ChaincodeStub:
    message = Message(type=Message.TRANSACTION, txid="tx1", channel_id="ch",
                      payload=chaincode_pb2.ChaincodeInput(args=[b"fn"]).SerializeToString())
    return ChaincodeStub(_NoPeer(), message)  # type: ignore[arg-type]


@pytest.mark.parametrize("page_size", [0, -5])
def test_every_paginated_query_needs_a_positive_page_size(stub: ChaincodeStub, page_size: int) -> None:
    expected = f"page size must be positive, found {page_size}"
    with pytest.raises(ChaincodeStubError, match=expected):
        stub.get_state_by_range_with_pagination("a", "b", page_size)
    with pytest.raises(ChaincodeStubError, match=expected):
        stub.get_state_by_partial_composite_key_with_pagination("asset", ["x"], page_size)
    with pytest.raises(ChaincodeStubError, match=expected):
        stub.get_query_result_with_pagination('{"selector": {}}', page_size)


def test_range_bounds_are_simple_keys_with_or_without_pages(stub: ChaincodeStub) -> None:
    composite = stub.create_composite_key("asset", ["x"])
    for call in (lambda: stub.get_state_by_range(composite, ""),
                 lambda: stub.get_state_by_range_with_pagination("", composite, 10)):
        with pytest.raises(ChaincodeStubError, match="range bounds must not be composite keys"):
            call()
