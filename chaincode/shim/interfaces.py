"""What a chaincode is to the shim: something that answers init and invoke with a Response."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from fabric_protos.peer import proposal_response_pb2

from consortia.errors import ConsortiaError

if TYPE_CHECKING:
    from chaincode.shim.stub import ChaincodeStub

Response = proposal_response_pb2.Response

OK = 200
ERROR_THRESHOLD = 400  # Fabric treats a status of 400 and above as a failed invocation
ERROR = 500


class ChaincodeStubError(ConsortiaError):
    """The peer refused a stub call (the message is the peer's reason)."""


class Chaincode(Protocol):
    """A chaincode: `init` and `invoke`, one call per transaction, each in a greenlet of
    its own on the shim's event loop: calls interleave only while they wait for the peer."""

    def init(self, stub: ChaincodeStub) -> proposal_response_pb2.Response: ...

    def invoke(self, stub: ChaincodeStub) -> proposal_response_pb2.Response: ...


def success(payload: bytes = b"", message: str = "") -> proposal_response_pb2.Response:
    return proposal_response_pb2.Response(status=OK, payload=payload, message=message)


def error(message: str, status: int = ERROR, payload: bytes = b"") -> proposal_response_pb2.Response:
    return proposal_response_pb2.Response(status=status, message=message, payload=payload)
