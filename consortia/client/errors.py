"""How a client call fails, in the shape of the Fabric Gateway client API.

A Fabric gateway answers every failure with a gRPC status. Its message says what went
wrong at the gateway; its details (the `grpc-status-details-bin` trailer, a
`google.rpc.Status` whose details are `gateway.ErrorDetail`s packed as `Any`) say what
each endorser or orderer the gateway asked answered, and where it runs. Those details
are usually the part a person needs ("chaincode response 500, asset X does not exist"
from a peer of Org2MSP), so every error here prints them.

    GatewayError          any failed gateway call (Evaluate, events, ...)
     TransactionError     one that belongs to a transaction; carries its id
      EndorseError        Endorse failed
      SubmitError         Submit (to the orderer) failed
      CommitStatusError   CommitStatus failed
    CommitError           the transaction was ordered but committed as invalid
    DeliverError          a block event stream was refused (a common.Status)
    NoSignerError         a message needs a signature and the gateway has no signer
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2
from google.protobuf.message import DecodeError
from google.rpc import status_pb2

from consortia.errors import ConsortiaError
from consortia.protoutil.envelope import enum_name

STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class ErrorDetail:
    """What one endorser or orderer said about a failed request (Fabric's `gateway.ErrorDetail`)."""

    address: str
    msp_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.msp_id or 'unknown MSP'} at {self.address or 'unknown address'}: {self.message}"


class GatewayError(ConsortiaError):
    """A gateway call failed with gRPC status `code`; `details` say what each node answered."""

    def __init__(self, message: str, code: grpc.StatusCode, details: Sequence[ErrorDetail] = ()) -> None:
        self.message = message
        self.code = code
        self.details = list(details)
        super().__init__(message)

    def __str__(self) -> str:
        text = f"{self.message} ({self.code.name})"
        if self.details:
            text += "".join(f"\n  - {detail}" for detail in self.details)
        return text


class TransactionError(GatewayError):
    """A gateway failure in the life of one transaction, which a person will want to look up."""

    action = "call"

    def __init__(self, message: str, code: grpc.StatusCode, details: Sequence[ErrorDetail] = (),
                 *, transaction_id: str) -> None:
        self.transaction_id = transaction_id
        super().__init__(message, code, details)

    def __str__(self) -> str:
        head, _, rest = super().__str__().partition("\n")
        return f"{self.action} of transaction {self.transaction_id} failed: {head}" + (f"\n{rest}" if rest else "")


class EndorseError(TransactionError):
    """The gateway could not collect the endorsements the transaction needs."""

    action = "endorsement"


class SubmitError(TransactionError):
    """The gateway could not hand the endorsed transaction to an orderer."""

    action = "submission"


class CommitStatusError(TransactionError):
    """The gateway could not say whether, or how, the transaction committed."""

    action = "commit status"


def validation_code_name(code: int) -> str:
    """Fabric's name of a `TxValidationCode` (e.g. MVCC_READ_CONFLICT), even for unknown numbers."""
    return enum_name(transaction_pb2.TxValidationCode, code, f"UNKNOWN_VALIDATION_CODE_{code}")


class CommitError(ConsortiaError):
    """The transaction was ordered into a block but every peer marked it invalid.

    Nothing it wrote is in the world state. `code` is the `TxValidationCode` number and
    `code_name` its Fabric name; MVCC_READ_CONFLICT, for one, means that another
    transaction changed what this one read, and retrying is usually right.
    """

    def __init__(self, transaction_id: str, code: int, code_name: str | None = None) -> None:
        self.transaction_id = transaction_id
        self.code = code
        self.code_name = code_name or validation_code_name(code)
        super().__init__(
            f"transaction {transaction_id} failed to commit with status code {code} ({self.code_name})"
        )


class DeliverError(ConsortiaError):
    """The peer ended a block event stream with `status` (a `common.Status`) instead of blocks."""

    def __init__(self, channel_id: str, status: int) -> None:
        self.channel_id = channel_id
        self.status = status
        self.status_name = enum_name(common_pb2.Status, status, f"STATUS_{status}")
        reason = {
            common_pb2.FORBIDDEN: ": the identity is not allowed to read the channel (its Readers policy)",
            common_pb2.NOT_FOUND: ": the peer has not joined this channel",
            common_pb2.BAD_REQUEST: ": the peer could not accept the request",
        }.get(status, "")
        super().__init__(f"block events on channel {channel_id!r} refused with {self.status_name}{reason}")


class NoSignerError(ConsortiaError):
    """A message must be signed and the gateway was connected with an identity only.

    The message names how to sign offline: sign the object's `digest()` with the
    identity's key and rebuild it with the matching `gateway.new_signed_...` method.
    """


def error_details(error: grpc.RpcError) -> list[ErrorDetail]:
    """The `gateway.ErrorDetail`s in a gRPC error's `grpc-status-details-bin` trailer."""
    trailing = getattr(error, "trailing_metadata", None)
    metadata = trailing() if callable(trailing) else None
    found: list[ErrorDetail] = []
    for key, value in metadata or ():
        if key != STATUS_DETAILS_KEY:
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except DecodeError:
            continue  # a malformed trailer must not hide the status code and message
        for packed in status.details:
            if packed.Is(gateway_pb2.ErrorDetail.DESCRIPTOR):
                detail = gateway_pb2.ErrorDetail()
                packed.Unpack(detail)
                found.append(ErrorDetail(address=detail.address, msp_id=detail.msp_id, message=detail.message))
    return found


def status_of(error: grpc.RpcError) -> tuple[grpc.StatusCode, str]:
    """The status code and message of a gRPC error (UNKNOWN when it carries none)."""
    code_of = getattr(error, "code", None)
    details_of = getattr(error, "details", None)
    code = code_of() if callable(code_of) else None
    message = details_of() if callable(details_of) else None
    return (code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN), str(message or error)


def gateway_error(error: grpc.RpcError, what: str, address: str) -> GatewayError:
    """Turn a failed `what` call (e.g. "evaluate") into a GatewayError a person can act on."""
    code, message = status_of(error)
    return GatewayError(f"{what} failed: {_describe(address, code, message)}", code, error_details(error))


E = TypeVar("E", bound=TransactionError)


def transaction_error(cls: type[E], error: grpc.RpcError, address: str, transaction_id: str) -> E:
    """Turn a failed Endorse, Submit or CommitStatus call into `cls`."""
    code, message = status_of(error)
    return cls(_describe(address, code, message), code, error_details(error), transaction_id=transaction_id)


def _describe(address: str, code: grpc.StatusCode, message: str) -> str:
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"cannot reach the gateway at {address}: {message}"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"no answer from the gateway at {address} in time: {message}"
    return message
