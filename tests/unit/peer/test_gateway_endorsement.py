"""Reading an endorser's answer (peer.gateway.endorsement): success, a failure another
peer may avoid, or a final one; the chaincode's result; how two endorsers' results differ.

Responses are real: a client's signed proposal, endorsed by a peer's signing identity.
"""

from __future__ import annotations

import pytest
from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, proposal_response_pb2

from consortia.msp.signing import SigningIdentity
from consortia.protoutil.proposal import (
    UnpackedProposal,
    create_proposal,
    sign_proposal,
    unpack_proposal,
)
from consortia.protoutil.response import create_proposal_response, response_payload
from peer.gateway.endorsement import (
    SUCCESS,
    classify,
    difference,
    result_response,
    unreachable,
)
from peer.gateway.errors import Code
from tests.support.identities import SampleOrg
from tests.support.transactions import NsWrites, rwset_bytes

pytestmark = pytest.mark.unit

CC = "basic"
RWSET = rwset_bytes({CC: NsWrites(writes={"asset1": b"blue"})})
OTHER_RWSET = rwset_bytes({CC: NsWrites(writes={"asset1": b"red"})})
CC_ID = chaincode_pb2.ChaincodeID(name=CC, version="1.0")


@pytest.fixture(scope="module")
def proposal(org1: SampleOrg) -> UnpackedProposal:
    client = org1.identity("client", "user1")
    unsigned, _ = create_proposal("ch1", CC, [b"ReadAsset", b"asset1"], client.serialize())
    return unpack_proposal(sign_proposal(unsigned, client))


@pytest.fixture(scope="module")
def peer(org1: SampleOrg) -> SigningIdentity:
    return org1.identity("peer", "peer0")


def endorsed(proposal: UnpackedProposal, peer: SigningIdentity, status: int = 200, message: str = "",
             payload: bytes = b"result") -> proposal_response_pb2.ProposalResponse:
    return create_proposal_response(
        proposal, results=RWSET, response=proposal_response_pb2.Response(status=status, message=message, payload=payload),
        chaincode_id=CC_ID, endorser=peer,
    )


def refused(status: int, message: str) -> proposal_response_pb2.ProposalResponse:
    """What a peer answers when it refuses before running the chaincode: no payload."""
    return proposal_response_pb2.ProposalResponse(
        version=1, response=proposal_response_pb2.Response(status=status, message=message)
    )


# --- classify --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 399])
def test_success(proposal: UnpackedProposal, peer: SigningIdentity, status: int) -> None:
    assert classify(endorsed(proposal, peer, status)) == SUCCESS
    assert SUCCESS.ok


def test_peer_failure_500_without_payload_may_succeed_elsewhere() -> None:
    outcome = classify(refused(500, "chaincode basic is not running"))
    assert not outcome.ok
    assert outcome.retry
    assert outcome.code is Code.ABORTED
    assert outcome.message == "chaincode basic is not running"


@pytest.mark.parametrize(("status", "message"), [(403, "access denied"), (409, "duplicate transaction id"),
                                                 (400, "bad proposal")])
def test_peer_refusal_of_the_client_is_final(status: int, message: str) -> None:
    outcome = classify(refused(status, message))
    assert not outcome.ok
    assert not outcome.retry
    assert outcome.code is Code.FAILED_PRECONDITION
    assert outcome.message == f"{status}: {message}"


@pytest.mark.parametrize("status", [400, 404, 500])
def test_chaincode_error_with_a_payload_is_final(proposal: UnpackedProposal, peer: SigningIdentity,
                                                  status: int) -> None:
    response = endorsed(proposal, peer, status, "asset1 does not exist", payload=b"")
    response.ClearField("endorsement")
    outcome = classify(response)
    assert not outcome.ok
    assert not outcome.retry
    assert outcome.code is Code.UNKNOWN
    assert outcome.message == f"chaincode response {status}, asset1 does not exist"


def test_status_below_200_is_a_failure() -> None:
    outcome = classify(refused(0, ""))
    assert not outcome.ok and not outcome.retry


def test_unreachable_outcome_is_retried() -> None:
    outcome = unreachable("connection refused")
    assert not outcome.ok and outcome.retry
    assert outcome.code is Code.UNAVAILABLE
    assert outcome.message == "connection refused"


# --- result_response -------------------------------------------------------------------


def test_result_comes_from_the_signed_chaincode_action(proposal: UnpackedProposal, peer: SigningIdentity) -> None:
    response = endorsed(proposal, peer, 200, "fine", payload=b"the result")
    response.response.payload = b"something else"
    result = result_response(response)
    assert result.payload == b"the result"
    assert result.status == 200
    assert result.message == "fine"
    # The response given in is left alone.
    assert response.response.payload == b"something else"


def test_result_without_a_payload_is_the_response_as_is() -> None:
    response = refused(200, "ok")
    response.response.payload = b"outer"
    assert result_response(response) == response.response


def test_result_with_an_undecodable_payload_is_the_response_as_is() -> None:
    response = refused(200, "ok")
    response.response.payload = b"outer"
    response.payload = b"\x0a\x05ab"  # announces 5 bytes, carries 2
    assert result_response(response).payload == b"outer"


# --- difference ------------------------------------------------------------------------


def payload(proposal: UnpackedProposal, *, results: bytes = RWSET, status: int = 200, body: bytes = b"r",
            event: bytes | None = None, version: str = "1.0") -> bytes:
    chaincode_event = (chaincode_event_pb2.ChaincodeEvent(chaincode_id=CC, tx_id=proposal.tx_id, event_name="e",
                                                          payload=event) if event is not None else None)
    return response_payload(proposal, results=results, response=proposal_response_pb2.Response(status=status, payload=body),
                            chaincode_id=chaincode_pb2.ChaincodeID(name=CC, version=version), event=chaincode_event)


def test_difference_names_read_write_sets(proposal: UnpackedProposal) -> None:
    assert difference(payload(proposal), payload(proposal, results=OTHER_RWSET)) == "read-write sets"


def test_difference_names_responses(proposal: UnpackedProposal) -> None:
    assert difference(payload(proposal), payload(proposal, status=201)) == "chaincode responses (status 200 vs 201)"
    assert difference(payload(proposal), payload(proposal, body=b"other")) == "chaincode responses (status 200 vs 200)"


def test_difference_names_events(proposal: UnpackedProposal) -> None:
    assert difference(payload(proposal, event=b"a"), payload(proposal, event=b"b")) == "chaincode events"
    assert difference(payload(proposal), payload(proposal, event=b"b")) == "chaincode events"


def test_difference_names_versions(proposal: UnpackedProposal) -> None:
    assert difference(payload(proposal), payload(proposal, version="2.0")) == "chaincode versions (1.0 vs 2.0)"


def test_difference_names_every_part_that_differs(proposal: UnpackedProposal) -> None:
    found = difference(payload(proposal), payload(proposal, results=OTHER_RWSET, status=500, event=b"x"))
    assert found == "read-write sets, chaincode responses (status 200 vs 500), chaincode events"


def test_same_action_for_another_proposal_differs_in_its_hash(proposal: UnpackedProposal, org1: SampleOrg) -> None:
    client = org1.identity("client", "user2")
    unsigned, _ = create_proposal("ch1", CC, [b"ReadAsset", b"asset1"], client.serialize())
    other = unpack_proposal(sign_proposal(unsigned, client))
    assert difference(payload(proposal), payload(other)) == "proposal hashes"


def test_difference_of_an_undecodable_payload(proposal: UnpackedProposal) -> None:
    found = difference(payload(proposal), b"\x0a\x05ab")
    assert found.startswith("a proposal response payload does not decode")
