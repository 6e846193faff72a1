"""A transaction proposal: a call of a chaincode function, signed by its creator.

A proposal can be evaluated (run on a peer, nothing recorded: a query) or endorsed
(run on enough peers to satisfy the endorsement policy, giving a `Transaction` to
submit). Its transaction id is hex SHA-256(nonce ‖ creator), fixed when it is made.
"""

from __future__ import annotations

import grpc
from fabric_protos.gateway import gateway_pb2

from consortia.client.connection import Connection
from consortia.client.errors import (
    EndorseError,
    GatewayError,
    gateway_error,
    transaction_error,
)
from consortia.client.signing import digest
from consortia.client.transaction import Transaction


class Proposal:
    """A proposal (Fabric's `gateway.ProposedTransaction`) on channel `channel_id`."""

    def __init__(self, connection: Connection, channel_id: str, proposed: gateway_pb2.ProposedTransaction) -> None:
        self._connection = connection
        self._channel_id = channel_id
        self._proposed = proposed

    @property
    def transaction_id(self) -> str:
        return str(self._proposed.transaction_id)

    @property
    def channel_id(self) -> str:
        return self._channel_id

    @property
    def endorsing_organizations(self) -> list[str]:
        return list(self._proposed.endorsing_organizations)

    def digest(self) -> bytes:
        """What an offline signer signs: the SHA-256 of the proposal bytes."""
        return digest(self._proposed.proposal.proposal_bytes)

    def evaluate(self, timeout: float | None = None) -> bytes:
        """Run the function on a peer and return its result; nothing is recorded.

        The gateway picks the peer (one of `endorsing_organizations` when given).
        GatewayError with what the peers answered when it fails.
        """
        request = self.evaluate_request()
        try:
            response = self._connection.gateway.Evaluate(request, timeout=timeout or self._connection.timeouts.evaluate)
        except grpc.RpcError as exc:
            raise self.evaluate_error(exc) from exc
        return bytes(response.result.payload)

    def endorse(self, timeout: float | None = None) -> Transaction:
        """Collect the endorsements the chaincode's policy needs; EndorseError otherwise."""
        request = self.endorse_request()
        try:
            response = self._connection.gateway.Endorse(request, timeout=timeout or self._connection.timeouts.endorse)
        except grpc.RpcError as exc:
            raise self.endorse_error(exc) from exc
        return self.endorsed(response)

    # The steps of evaluate() and endorse() around the gRPC call, which
    # consortia.client.aio makes with asyncio.

    def evaluate_request(self) -> gateway_pb2.EvaluateRequest:
        """The signed Evaluate request (NoSignerError if unsigned and no signer)."""
        self._sign()
        return gateway_pb2.EvaluateRequest(
            transaction_id=self.transaction_id,
            channel_id=self._channel_id,
            proposed_transaction=self._proposed.proposal,
            target_organizations=self._proposed.endorsing_organizations,
        )

    def evaluate_error(self, error: grpc.RpcError) -> GatewayError:
        return gateway_error(error, f"evaluate of transaction {self.transaction_id}", self._connection.address)

    def endorse_request(self) -> gateway_pb2.EndorseRequest:
        """The signed Endorse request (NoSignerError if unsigned and no signer)."""
        self._sign()
        return gateway_pb2.EndorseRequest(
            transaction_id=self.transaction_id,
            channel_id=self._channel_id,
            proposed_transaction=self._proposed.proposal,
            endorsing_organizations=self._proposed.endorsing_organizations,
        )

    def endorse_error(self, error: grpc.RpcError) -> EndorseError:
        return transaction_error(EndorseError, error, self._connection.address, self.transaction_id)

    def endorsed(self, response: gateway_pb2.EndorseResponse) -> Transaction:
        """The transaction the gateway prepared from the endorsements."""
        prepared = gateway_pb2.PreparedTransaction(
            transaction_id=self.transaction_id, envelope=response.prepared_transaction
        )
        return Transaction(self._connection, prepared)

    def _sign(self) -> None:
        signed = self._proposed.proposal
        if not signed.signature:
            signed.signature = self._connection.identity.sign(
                signed.proposal_bytes, "rebuild the proposal with gateway.new_signed_proposal(proposal.bytes(), signature)"
            )

    def bytes(self) -> bytes:
        """The serialized `gateway.ProposedTransaction`, for offline signing."""
        return bytes(self._proposed.SerializeToString())
