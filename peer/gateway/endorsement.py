"""Reading an endorser's answer: success, or a failure and whether another peer may do better.

The rules follow Fabric's gateway. A gRPC failure means the peer is unreachable: try
another. A response of status 400 or more without a payload was produced by the peer,
not the chaincode: with 500 (the chaincode is not running, say) another peer may
succeed; any other status is the client's problem (access denied, a duplicate
transaction id) and would be refused everywhere. A failing response that carries a
payload comes from the chaincode itself, and is final.
"""

from __future__ import annotations

from dataclasses import dataclass

from fabric_protos.peer import proposal_response_pb2

from consortia.errors import MessageError
from consortia.protoutil.response import ERROR, ERROR_THRESHOLD, OK, unpack_response_payload
from peer.gateway.errors import Code


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retry: bool = False
    code: Code = Code.UNKNOWN
    message: str = ""


SUCCESS = Outcome(ok=True)


def unreachable(message: str) -> Outcome:
    return Outcome(ok=False, retry=True, code=Code.UNAVAILABLE, message=message)


def classify(response: proposal_response_pb2.ProposalResponse) -> Outcome:
    status = response.response.status
    message = response.response.message
    if OK <= status < ERROR_THRESHOLD:
        return SUCCESS
    if not response.payload:
        if status == ERROR:
            return Outcome(ok=False, retry=True, code=Code.ABORTED, message=message)
        return Outcome(ok=False, retry=False, code=Code.FAILED_PRECONDITION, message=f"{status}: {message}")
    return Outcome(ok=False, retry=False, code=Code.UNKNOWN, message=f"chaincode response {status}, {message}")


def result_response(response: proposal_response_pb2.ProposalResponse) -> proposal_response_pb2.Response:
    """The chaincode's response, its payload taken from the signed action (Fabric's
    gateway prefers that one: Response.payload is not required to be the result)."""
    result = proposal_response_pb2.Response()
    result.CopyFrom(response.response)
    if response.payload:
        try:
            _, action = unpack_response_payload(response.payload)
        except MessageError:
            return result
        result.payload = action.response.payload
    return result


def difference(expected: bytes, actual: bytes) -> str:
    """Which parts of two endorsers' results differ, for a person to investigate."""
    try:
        _, first = unpack_response_payload(expected)
        _, second = unpack_response_payload(actual)
    except MessageError as exc:
        return f"a proposal response payload does not decode: {exc}"
    parts = []
    if first.results != second.results:
        parts.append("read-write sets")
    if first.response != second.response:
        parts.append(f"chaincode responses (status {first.response.status} vs {second.response.status})")
    if first.events != second.events:
        parts.append("chaincode events")
    if first.chaincode_id != second.chaincode_id:
        parts.append(f"chaincode versions ({first.chaincode_id.version} vs {second.chaincode_id.version})")
    return ", ".join(parts) or "proposal hashes"
