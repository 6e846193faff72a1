"""Endorser transactions: a proposal and its endorsements, signed by the client.

    Envelope{payload, signature}
      Payload{header (the proposal's header bytes), data = Transaction{actions[
        TransactionAction{header = the signature header bytes,
                          payload = ChaincodeActionPayload{
                              chaincode_proposal_payload (transient map removed),
                              action = ChaincodeEndorsedAction{proposal_response_payload,
                                                               endorsements[]}}}]}}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)

from consortia.errors import MessageError
from consortia.msp.signing import SignedData
from consortia.protoutil.envelope import UnpackedEnvelope, decode, unpack_envelope
from consortia.protoutil.proposal import UnpackedProposal, payload_without_transient
from consortia.protoutil.response import ERROR_THRESHOLD, OK, endorsement_signed_data, unpack_response_payload
from consortia.protoutil.signer import Signer


def create_transaction_payload(
    proposal: UnpackedProposal, responses: Sequence[proposal_response_pb2.ProposalResponse]
) -> bytes:
    """Assemble the unsigned transaction payload from matching, successful responses."""
    if not responses:
        raise MessageError("at least one proposal response is needed to make a transaction")
    first = responses[0].payload
    for index, response in enumerate(responses):
        status = response.response.status
        if status < OK or status >= ERROR_THRESHOLD:
            raise MessageError(
                f"proposal response {index} failed with status {status}: {response.response.message}"
            )
        if response.payload != first:
            raise MessageError(
                f"proposal response {index} differs from response 0: endorsers computed different results"
            )
        if not response.HasField("endorsement"):
            raise MessageError(f"proposal response {index} carries no endorsement")
    action_payload = transaction_pb2.ChaincodeActionPayload(
        chaincode_proposal_payload=payload_without_transient(proposal.payload),
        action=transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=first, endorsements=[r.endorsement for r in responses]
        ),
    )
    transaction = transaction_pb2.Transaction(
        actions=[
            transaction_pb2.TransactionAction(
                header=proposal.header.signature_header, payload=action_payload.SerializeToString()
            )
        ]
    )
    return bytes(common_pb2.Payload(header=proposal.header, data=transaction.SerializeToString()).SerializeToString())


def create_signed_transaction(
    proposal: UnpackedProposal,
    responses: Sequence[proposal_response_pb2.ProposalResponse],
    signer: Signer,
) -> common_pb2.Envelope:
    """The envelope a client submits for ordering; it must sign as the proposal's creator."""
    if signer.serialize() != proposal.creator:
        raise MessageError("the transaction must be signed by the identity that created the proposal")
    payload = create_transaction_payload(proposal, responses)
    return common_pb2.Envelope(payload=payload, signature=signer.sign(payload))


@dataclass(frozen=True)
class UnpackedAction:
    """One action of an endorser transaction, decoded."""

    header: common_pb2.SignatureHeader
    action_payload: transaction_pb2.ChaincodeActionPayload
    proposal_payload: proposal_pb2.ChaincodeProposalPayload
    response_payload: proposal_response_pb2.ProposalResponsePayload
    chaincode_action: proposal_pb2.ChaincodeAction

    @property
    def endorsements(self) -> list[proposal_response_pb2.Endorsement]:
        return list(self.action_payload.action.endorsements)

    @property
    def chaincode_name(self) -> str:
        return str(self.chaincode_action.chaincode_id.name)

    def endorsement_signed_data(self) -> list[SignedData]:
        payload = self.action_payload.action.proposal_response_payload
        return [endorsement_signed_data(payload, e) for e in self.action_payload.action.endorsements]

    def read_write_set(self) -> rwset_pb2.TxReadWriteSet:
        return decode(rwset_pb2.TxReadWriteSet, self.chaincode_action.results, "transaction read-write set")

    def event(self) -> chaincode_event_pb2.ChaincodeEvent | None:
        if not self.chaincode_action.events:
            return None
        return decode(chaincode_event_pb2.ChaincodeEvent, self.chaincode_action.events, "chaincode event")


@dataclass(frozen=True)
class UnpackedTransaction:
    """An endorser transaction envelope decoded through all its layers."""

    envelope: UnpackedEnvelope
    transaction: transaction_pb2.Transaction
    actions: tuple[UnpackedAction, ...]

    @property
    def tx_id(self) -> str:
        return self.envelope.tx_id

    @property
    def channel_id(self) -> str:
        return self.envelope.channel_id


def unpack_action(action: transaction_pb2.TransactionAction, index: int = 0) -> UnpackedAction:
    where = f"transaction action {index}"
    header = decode(common_pb2.SignatureHeader, action.header, f"{where} header")
    action_payload = decode(transaction_pb2.ChaincodeActionPayload, action.payload, f"{where} payload")
    if not action_payload.HasField("action"):
        raise MessageError(f"{where} has no endorsed action")
    proposal_payload = decode(
        proposal_pb2.ChaincodeProposalPayload, action_payload.chaincode_proposal_payload, f"{where} proposal payload"
    )
    response_payload, chaincode_action = unpack_response_payload(action_payload.action.proposal_response_payload)
    return UnpackedAction(
        header=header,
        action_payload=action_payload,
        proposal_payload=proposal_payload,
        response_payload=response_payload,
        chaincode_action=chaincode_action,
    )


def unpack_transaction(envelope: common_pb2.Envelope | bytes) -> UnpackedTransaction:
    """Decode an ENDORSER_TRANSACTION envelope; MessageError names the bad layer."""
    unpacked = unpack_envelope(envelope)
    if unpacked.header_type != common_pb2.ENDORSER_TRANSACTION:
        raise MessageError(f"envelope header type is {unpacked.header_type}; expected ENDORSER_TRANSACTION (3)")
    transaction = decode(transaction_pb2.Transaction, unpacked.payload.data, "transaction")
    if not transaction.actions:
        raise MessageError("transaction has no actions")
    actions = tuple(unpack_action(a, i) for i, a in enumerate(transaction.actions))
    return UnpackedTransaction(envelope=unpacked, transaction=transaction, actions=actions)
