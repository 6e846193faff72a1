"""How the gateway fails: a gRPC status code by name, a message, and what each
endorser or orderer said (Fabric's `gateway.ErrorDetail`), so a client sees which
node refused and why."""

from __future__ import annotations

import enum
from collections.abc import Sequence

from fabric_protos.gateway import gateway_pb2

from consortia.errors import ConsortiaError


class Code(enum.Enum):
    """The gRPC status codes the gateway answers with (names as in grpc.StatusCode)."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    ABORTED = "ABORTED"
    UNAVAILABLE = "UNAVAILABLE"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    UNKNOWN = "UNKNOWN"


class GatewayError(ConsortiaError):
    def __init__(self, code: Code, message: str, details: Sequence[gateway_pb2.ErrorDetail] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = list(details)

    def __str__(self) -> str:
        if not self.details:
            return self.message
        said = "; ".join(f"{d.msp_id} {d.address}: {d.message}" for d in self.details)
        return f"{self.message} ({said})"


def detail(address: str, msp_id: str, message: str) -> gateway_pb2.ErrorDetail:
    return gateway_pb2.ErrorDetail(address=address, msp_id=msp_id, message=message)
