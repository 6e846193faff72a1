"""Errors: gRPC statuses with Fabric's ErrorDetails become messages a person can act on."""

from __future__ import annotations

import grpc
import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2
from google.rpc import status_pb2

from consortia.client import (
    CommitError,
    DeliverError,
    EndorseError,
    ErrorDetail,
    GatewayError,
    SubmitError,
)
from consortia.client.errors import (
    error_details,
    gateway_error,
    transaction_error,
    validation_code_name,
)
from consortia.errors import ConsortiaError
from tests.unit.client.fakes import FakeRpcError

pytestmark = pytest.mark.unit


def details_trailer(*details: gateway_pb2.ErrorDetail, extra: bool = False) -> list[tuple[str, bytes]]:
    status = status_pb2.Status(code=10, message="failed")
    for detail in details:
        status.details.add().Pack(detail)
    if extra:  # a detail of another type is skipped, not misread
        status.details.add().Pack(status_pb2.Status(message="other"))
    return [("some-header", b"x"), ("grpc-status-details-bin", status.SerializeToString())]


ORG2 = gateway_pb2.ErrorDetail(address="peer0.org2:7061", msp_id="Org2MSP", message="chaincode response 500, no asset")
ORG3 = gateway_pb2.ErrorDetail(address="peer0.org3:7071", msp_id="Org3MSP", message="access denied")


def test_error_details_are_read_from_the_status_trailer() -> None:
    error = FakeRpcError(grpc.StatusCode.ABORTED, "failed", details_trailer(ORG2, ORG3, extra=True))
    assert error_details(error) == [
        ErrorDetail("peer0.org2:7061", "Org2MSP", "chaincode response 500, no asset"),
        ErrorDetail("peer0.org3:7071", "Org3MSP", "access denied"),
    ]


def test_no_or_malformed_trailer_gives_no_details() -> None:
    assert error_details(FakeRpcError(grpc.StatusCode.UNKNOWN, "x")) == []
    garbage = [("grpc-status-details-bin", b"\xff\xff\xff")]
    assert error_details(FakeRpcError(grpc.StatusCode.UNKNOWN, "x", garbage)) == []


def test_a_gateway_error_prints_its_code_and_every_detail() -> None:
    error = gateway_error(
        FakeRpcError(grpc.StatusCode.ABORTED, "failed to evaluate", details_trailer(ORG2, ORG3)), "evaluate", "a:1"
    )
    assert isinstance(error, GatewayError) and isinstance(error, ConsortiaError)
    assert error.code == grpc.StatusCode.ABORTED
    assert str(error) == (
        "evaluate failed: failed to evaluate (ABORTED)\n"
        "  - Org2MSP at peer0.org2:7061: chaincode response 500, no asset\n"
        "  - Org3MSP at peer0.org3:7071: access denied"
    )


def test_an_unreachable_gateway_names_its_address() -> None:
    error = gateway_error(FakeRpcError(grpc.StatusCode.UNAVAILABLE, "connection refused"), "evaluate", "127.0.0.1:9")
    assert str(error) == "evaluate failed: cannot reach the gateway at 127.0.0.1:9: connection refused (UNAVAILABLE)"


def test_transaction_errors_carry_the_transaction_id() -> None:
    rpc = FakeRpcError(grpc.StatusCode.ABORTED, "failed to endorse transaction", details_trailer(ORG2))
    error = transaction_error(EndorseError, rpc, "a:1", "tx42")
    assert error.transaction_id == "tx42" and error.details == [ErrorDetail(ORG2.address, ORG2.msp_id, ORG2.message)]
    assert str(error) == (
        "endorsement of transaction tx42 failed: failed to endorse transaction (ABORTED)\n"
        "  - Org2MSP at peer0.org2:7061: chaincode response 500, no asset"
    )
    submit = transaction_error(SubmitError, FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "late"), "a:1", "tx9")
    assert str(submit) == "submission of transaction tx9 failed: no answer from the gateway at a:1 in time: late (DEADLINE_EXCEEDED)"


def test_commit_error_names_the_validation_code() -> None:
    error = CommitError("tx7", transaction_pb2.MVCC_READ_CONFLICT)
    assert (error.code, error.code_name) == (11, "MVCC_READ_CONFLICT")
    assert str(error) == "transaction tx7 failed to commit with status code 11 (MVCC_READ_CONFLICT)"


def test_unknown_validation_codes_still_get_a_name() -> None:
    assert validation_code_name(transaction_pb2.ENDORSEMENT_POLICY_FAILURE) == "ENDORSEMENT_POLICY_FAILURE"
    assert validation_code_name(200) == "UNKNOWN_VALIDATION_CODE_200"


def test_deliver_error_explains_the_refusal() -> None:
    error = DeliverError("trading", common_pb2.FORBIDDEN)
    assert error.status_name == "FORBIDDEN"
    assert "block events on channel 'trading' refused with FORBIDDEN" in str(error)
    assert "Readers policy" in str(error)
