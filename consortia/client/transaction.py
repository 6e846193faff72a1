"""An endorsed transaction, ready to be signed and submitted for ordering.

The gateway returns the transaction envelope prepared from its endorsements; the
client signs the envelope's payload as the proposal's creator and submits it. The
transaction function's result is read from inside the envelope (the chaincode response
the endorsers signed), so it is known before the transaction commits.
"""

from __future__ import annotations

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.msp import identities_pb2

from consortia.client.commit import SubmittedTransaction, commit_status_request
from consortia.client.connection import Connection
from consortia.client.errors import SubmitError, transaction_error
from consortia.client.signing import digest
from consortia.errors import MessageError
from consortia.protoutil.transaction import unpack_transaction


class Transaction:
    """An endorsed transaction (Fabric's `gateway.PreparedTransaction`)."""

    def __init__(self, connection: Connection, prepared: gateway_pb2.PreparedTransaction) -> None:
        unpacked = unpack_transaction(prepared.envelope)
        if prepared.transaction_id and prepared.transaction_id != unpacked.tx_id:
            raise MessageError(
                f"prepared transaction says its id is {prepared.transaction_id} but its envelope carries {unpacked.tx_id}"
            )
        self._connection = connection
        self._prepared = prepared
        self._transaction_id = unpacked.tx_id
        self._channel_id = unpacked.channel_id
        self._result = bytes(unpacked.actions[0].chaincode_action.response.payload)
        self._endorsements = unpacked.actions[0].endorsements

    @property
    def transaction_id(self) -> str:
        return self._transaction_id

    @property
    def channel_id(self) -> str:
        return self._channel_id

    @property
    def result(self) -> bytes:
        """What the transaction function returned, as the endorsers signed it."""
        return self._result

    @property
    def endorsing_organizations(self) -> list[str]:
        """The MSP ids of the peers that endorsed it, in the envelope's order."""
        return [identities_pb2.SerializedIdentity.FromString(e.endorser).mspid for e in self._endorsements]

    def digest(self) -> bytes:
        """What an offline signer signs: the SHA-256 of the envelope's payload."""
        return digest(self._prepared.envelope.payload)

    def submit(self, timeout: float | None = None) -> SubmittedTransaction:
        """Sign (if not signed yet) and send the transaction for ordering.

        Returns once an orderer accepted it; `get_status()` on the result waits for the
        commit. SubmitError with what the orderers answered otherwise.
        """
        request = self.submit_request()
        # Built before submitting, so that nothing can fail after the orderer has it.
        submitted = self.submitted()
        try:
            self._connection.gateway.Submit(request, timeout=timeout or self._connection.timeouts.submit)
        except grpc.RpcError as exc:
            raise self.submit_error(exc) from exc
        return submitted

    # The steps of submit() around the gRPC call, which consortia.client.aio makes
    # with asyncio.

    def submit_request(self) -> gateway_pb2.SubmitRequest:
        """The Submit request, the envelope signed (NoSignerError if unsigned and no signer)."""
        envelope = self._prepared.envelope
        if not envelope.signature:
            envelope.signature = self._connection.identity.sign(
                envelope.payload,
                "rebuild the transaction with gateway.new_signed_transaction(transaction.bytes(), signature)",
            )
        return gateway_pb2.SubmitRequest(
            transaction_id=self._transaction_id, channel_id=self._channel_id, prepared_transaction=envelope
        )

    def submit_error(self, error: grpc.RpcError) -> SubmitError:
        return transaction_error(SubmitError, error, self._connection.address, self._transaction_id)

    def submitted(self) -> SubmittedTransaction:
        """This transaction once an orderer has it: its result, and its commit status to ask for."""
        status_request = commit_status_request(self._channel_id, self._transaction_id, self._connection.creator)
        return SubmittedTransaction(self._connection, status_request, self._transaction_id, self._channel_id,
                                    self._result)

    def bytes(self) -> bytes:
        """The serialized `gateway.PreparedTransaction`, for offline signing."""
        return bytes(self._prepared.SerializeToString())
