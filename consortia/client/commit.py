"""Waiting for a submitted transaction to commit, and what became of it.

Ordering a transaction is not committing it: every peer validates it in its block
(endorsement policy, MVCC read versions, duplicate id ...) and records a validation
code. `Commit.get_status()` asks the gateway's peer for that code, waiting until the
transaction's block is committed there. The request is signed by the client, because
whether a transaction exists is itself channel data only members may read.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2

from consortia.client.connection import Connection
from consortia.client.errors import (
    CommitStatusError,
    transaction_error,
    validation_code_name,
)
from consortia.client.signing import digest


@dataclass(frozen=True)
class Status:
    """The outcome of a committed transaction."""

    transaction_id: str
    # The TxValidationCode number, and its Fabric name (VALID, MVCC_READ_CONFLICT, ...).
    code: int
    code_name: str
    block_number: int
    successful: bool


def status_of(transaction_id: str, code: int, block_number: int) -> Status:
    """The Status of a transaction that committed in `block_number` with validation `code`."""
    return Status(transaction_id=transaction_id, code=code, code_name=validation_code_name(code),
                  block_number=block_number, successful=code == transaction_pb2.VALID)


def commit_status_request(channel_id: str, transaction_id: str, creator: bytes) -> gateway_pb2.SignedCommitStatusRequest:
    """An unsigned request for the commit status of `transaction_id`."""
    request = gateway_pb2.CommitStatusRequest(transaction_id=transaction_id, channel_id=channel_id, identity=creator)
    return gateway_pb2.SignedCommitStatusRequest(request=request.SerializeToString())


class Commit:
    """Access to the commit status of one transaction."""

    def __init__(self, connection: Connection, signed_request: gateway_pb2.SignedCommitStatusRequest,
                 transaction_id: str, channel_id: str) -> None:
        self._connection = connection
        self._signed = signed_request
        self._transaction_id = transaction_id
        self._channel_id = channel_id

    @property
    def transaction_id(self) -> str:
        return self._transaction_id

    @property
    def channel_id(self) -> str:
        return self._channel_id

    def digest(self) -> bytes:
        """What an offline signer signs: the SHA-256 of the commit status request bytes."""
        return digest(self._signed.request)

    def get_status(self, timeout: float | None = None) -> Status:
        """The transaction's validation code, waiting until its block commits on the peer.

        CommitStatusError if the gateway cannot answer within `timeout` seconds (default:
        the gateway's commit status timeout). A transaction that committed as invalid is
        a Status with `successful` False, not an error.
        """
        return self.status_future(timeout).result()

    def status_future(self, timeout: float | None = None) -> Future[Status]:
        """`get_status()` without waiting: a future of its Status (or CommitStatusError).

        For a client with many transactions in flight: their waits share the gRPC
        channel's own thread instead of taking a thread each.
        """
        answer: Future[Status] = Future()
        call = self._connection.gateway.CommitStatus.future(
            self.status_request(), timeout=timeout or self._connection.timeouts.commit_status
        )
        call.add_done_callback(lambda done: self._settle(done, answer))
        return answer

    def _settle(self, call: Any, answer: Future[Status]) -> None:
        """Turn the finished gRPC call into the Status, or the error, of `answer`."""
        try:
            response = call.result()
        except grpc.RpcError as exc:
            error = self.status_error(exc)
            error.__cause__ = exc
            answer.set_exception(error)
            return
        except Exception as exc:  # noqa: BLE001 - cancelled, or anything else: the caller sees it
            answer.set_exception(exc)
            return
        answer.set_result(self.status_from(response))

    # The steps of get_status() around the gRPC call, which consortia.client.aio
    # makes with asyncio.

    def status_request(self) -> gateway_pb2.SignedCommitStatusRequest:
        """The signed CommitStatus request (NoSignerError if unsigned and no signer)."""
        if not self._signed.signature:
            self._signed.signature = self._connection.identity.sign(
                self._signed.request, "rebuild the commit with gateway.new_signed_commit(commit.bytes(), signature)"
            )
        return self._signed

    def status_error(self, error: grpc.RpcError) -> CommitStatusError:
        return transaction_error(CommitStatusError, error, self._connection.address, self._transaction_id)

    def status_from(self, response: gateway_pb2.CommitStatusResponse) -> Status:
        """The Status the gateway's answer reports."""
        return status_of(self._transaction_id, int(response.result), int(response.block_number))

    def bytes(self) -> bytes:
        """The serialized `gateway.SignedCommitStatusRequest`, for offline signing."""
        return bytes(self._signed.SerializeToString())


class SubmittedTransaction(Commit):
    """A transaction handed to the orderer: its result now, its commit status later."""

    def __init__(self, connection: Connection, signed_request: gateway_pb2.SignedCommitStatusRequest,
                 transaction_id: str, channel_id: str, result: bytes) -> None:
        super().__init__(connection, signed_request, transaction_id, channel_id)
        self._result = result

    @property
    def result(self) -> bytes:
        """What the transaction function returned when endorsed."""
        return self._result
