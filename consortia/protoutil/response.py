"""Proposal responses: an endorser's signed statement of what a proposal did.

    ProposalResponse{version 1, response, payload, endorsement{endorser, signature}}
      payload = ProposalResponsePayload{proposal_hash, extension = ChaincodeAction{
                  results (TxReadWriteSet), events, response, chaincode_id}}

The endorser signs payload ‖ endorser-identity; every endorser of one transaction must
have produced the same payload bytes.
"""

from __future__ import annotations

from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, proposal_pb2, proposal_response_pb2

from consortia.msp.signing import SignedData
from consortia.protoutil.envelope import decode
from consortia.protoutil.proposal import UnpackedProposal
from consortia.protoutil.signer import Signer

# Fabric's chaincode response statuses (shim.OK, shim.ERRORTHRESHOLD, shim.ERROR): a
# response from ERROR_THRESHOLD on is a failure; ERROR is a chaincode's own failure.
OK = 200
ERROR_THRESHOLD = 400
ERROR = 500


def response_payload(
    proposal: UnpackedProposal,
    *,
    results: bytes,
    response: proposal_response_pb2.Response,
    chaincode_id: chaincode_pb2.ChaincodeID,
    event: chaincode_event_pb2.ChaincodeEvent | None = None,
) -> bytes:
    """The ProposalResponsePayload bytes: what the proposal did, as endorsers sign it."""
    action = proposal_pb2.ChaincodeAction(
        results=results,
        events=event.SerializeToString() if event is not None else b"",
        response=response,
        chaincode_id=chaincode_id,
    )
    return bytes(proposal_response_pb2.ProposalResponsePayload(
        proposal_hash=proposal.hash, extension=action.SerializeToString()
    ).SerializeToString())


def create_proposal_response(
    proposal: UnpackedProposal,
    *,
    results: bytes,
    response: proposal_response_pb2.Response,
    chaincode_id: chaincode_pb2.ChaincodeID,
    endorser: Signer | None,
    event: chaincode_event_pb2.ChaincodeEvent | None = None,
) -> proposal_response_pb2.ProposalResponse:
    """Endorse: wrap the simulation results for `proposal` and sign them. With no
    `endorser`, the response carries no endorsement, for a caller that wants only the
    result (the gateway's Evaluate on its own peer)."""
    payload = response_payload(proposal, results=results, response=response, chaincode_id=chaincode_id, event=event)
    # As Fabric's endorser: the response seen by the client is the chaincode's own.
    answer = proposal_response_pb2.ProposalResponse(version=1, response=response, payload=payload)
    if endorser is not None:
        endorser_bytes = endorser.serialize()
        answer.endorsement.endorser = endorser_bytes
        answer.endorsement.signature = endorser.sign(payload + endorser_bytes)
    return answer


def endorsement_signed_data(payload: bytes, endorsement: proposal_response_pb2.Endorsement) -> SignedData:
    """What an endorsement signature covers: the response payload bytes ‖ the endorser."""
    return SignedData(
        data=payload + endorsement.endorser, identity=endorsement.endorser, signature=endorsement.signature
    )


def unpack_response_payload(
    payload: bytes,
) -> tuple[proposal_response_pb2.ProposalResponsePayload, proposal_pb2.ChaincodeAction]:
    prp = decode(proposal_response_pb2.ProposalResponsePayload, payload, "proposal response payload")
    action = decode(proposal_pb2.ChaincodeAction, prp.extension, "chaincode action")
    return prp, action
