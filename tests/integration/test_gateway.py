"""gateway.Gateway on real peers of two organizations, called as Fabric's clients call it
(the network: tests/support/gatewaynet.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import grpc
import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2
from google.rpc import status_pb2

from consortia.msp.identity import deserialize_identity
from consortia.protoutil.transaction import unpack_transaction
from tests.support.gatewaynet import GatewayNet

pytestmark = pytest.mark.integration

Code = transaction_pb2.TxValidationCode


@pytest.fixture(scope="module", params=["plaintext", "tls", "mutual-tls"])
def gw(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayNet]:
    """The same network without TLS, with TLS, and with mutual TLS on every endpoint
    (peers then reach each other and the orderer over mutual TLS too)."""
    net = GatewayNet(tmp_path_factory.mktemp(f"gateway-{request.param}"), tls=request.param != "plaintext",
                     mutual_tls=request.param == "mutual-tls")
    yield net
    net.stop()


def failure(call: object) -> tuple[grpc.StatusCode, str, list[gateway_pb2.ErrorDetail]]:
    """Run a call expected to fail: its status code, message, and ErrorDetails."""
    with pytest.raises(grpc.RpcError) as info:
        call()  # type: ignore[operator]
    error = info.value
    details = []
    for key, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin":
            for packed in status_pb2.Status.FromString(value).details:
                item = gateway_pb2.ErrorDetail()
                assert packed.Unpack(item)
                details.append(item)
    return error.code(), error.details(), details  # type: ignore[attr-defined]


def endorsers_of(envelope: common_pb2.Envelope) -> set[str]:
    return {msp_id for msp_id, _ in endorsing_peers(envelope)}


def endorsing_peers(envelope: common_pb2.Envelope) -> set[tuple[str, str]]:
    action = unpack_transaction(envelope).actions[0]
    return {(i.msp_id, i.common_name) for i in (deserialize_identity(e.endorser) for e in action.endorsements)}


def test_submit_endorses_on_both_orgs_and_commits(gw: GatewayNet) -> None:
    tx_id, envelope = gw.endorse("put", "color", "green")
    # Org2's endorsement comes from its second peer: the first cannot be reached.
    assert endorsing_peers(envelope) == {("Org1MSP", "peer0.org1.example.com"), ("Org2MSP", "peer1.org2.example.com")}
    # The prepared transaction is the proposal's: same tx id, and its result is readable.
    unpacked = unpack_transaction(envelope)
    assert unpacked.tx_id == tx_id
    gw.submit(tx_id, envelope)
    status = gw.commit_status(tx_id)
    assert status.result == Code.VALID and status.block_number >= 1
    assert gw.evaluate("get", "color") == b"green"
    # Asked again after the commit, the status comes straight from the ledger.
    assert gw.commit_status(tx_id) == status
    down = gw.net.peer("Org2MSP", "peer0").address
    assert f"endorser {down} (Org2MSP) unreachable" in gw.peer1.node.tail(3000)


def test_evaluate_returns_the_chaincode_result_without_ordering(gw: GatewayNet) -> None:
    result = gw.evaluate("incr", "evaluated-only")
    assert result == b"1"
    assert gw.evaluate("get", "evaluated-only") == b""  # nothing was committed


def test_chaincode_error_reaches_the_client(gw: GatewayNet) -> None:
    code, message, details = failure(lambda: gw.evaluate("fail", "contract"))
    assert code == grpc.StatusCode.UNKNOWN
    assert "chaincode response 500" in message and "the probe was asked to fail" in message
    assert details and details[0].msp_id == "Org1MSP"
    code, message, details = failure(lambda: gw.endorse("fail", "contract"))
    assert code == grpc.StatusCode.ABORTED and "failed to endorse transaction" in message
    # Each org's peer said why (Org2's first peer is down, its second answered).
    said = {(d.msp_id, "the probe was asked to fail" in d.message) for d in details}
    assert {("Org1MSP", True), ("Org2MSP", True)} <= said


def test_mvcc_conflict_is_reported_by_commit_status(gw: GatewayNet) -> None:
    first = gw.endorse("incr", "counter")
    second = gw.endorse("incr", "counter")
    gw.submit(*first)
    gw.submit(*second)
    codes = {gw.commit_status(first[0]).result, gw.commit_status(second[0]).result}
    assert codes == {Code.VALID, Code.MVCC_READ_CONFLICT}
    assert gw.evaluate("get", "counter") == b"1"


def test_endorsements_short_of_the_policy_fail_validation(gw: GatewayNet) -> None:
    tx_id, envelope = gw.endorse("put", "only-org1", "x", orgs=("Org1MSP",))
    assert endorsers_of(envelope) == {"Org1MSP"}
    gw.submit(tx_id, envelope)
    assert gw.commit_status(tx_id).result == Code.ENDORSEMENT_POLICY_FAILURE
    assert gw.evaluate("get", "only-org1") == b""


def test_keys_with_their_own_policy_get_the_endorsers_it_needs(gw: GatewayNet) -> None:
    """`either` needs one org, but key sbe-key may change only with both (state-based
    endorsement): the gateway reads that policy and asks Org2 as well."""
    assert gw.transact("put", "sbe-key", "open", chaincode="either")[1].result == Code.VALID
    tx_id, status = gw.transact("set_policy", "sbe-key", "AND('Org1MSP.peer', 'Org2MSP.peer')", chaincode="either")
    assert status.result == Code.VALID
    tx_id, envelope = gw.endorse("put", "sbe-key", "guarded", chaincode="either")
    assert endorsers_of(envelope) == {"Org1MSP", "Org2MSP"}
    gw.submit(tx_id, envelope)
    assert gw.commit_status(tx_id).result == Code.VALID
    # A key without a policy of its own needs the chaincode's only.
    tx_id, envelope = gw.endorse("put", "free-key", "x", chaincode="either")
    assert endorsers_of(envelope) == {"Org1MSP"}


def test_policy_no_peer_can_satisfy_is_refused_before_endorsing(gw: GatewayNet) -> None:
    code, message, _ = failure(lambda: gw.endorse("put", "k", "v", chaincode="lonely"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "endorsement policy of chaincode lonely" in message and "Org3MSP" in message


def test_endorsers_that_disagree_are_not_combined(gw: GatewayNet) -> None:
    code, message, details = failure(lambda: gw.endorse("stamp"))
    assert code == grpc.StatusCode.ABORTED
    assert "failed to collect enough transaction endorsements" in message
    assert any("ProposalResponsePayloads do not match" in d.message and "read-write sets" in d.message
               for d in details)


def test_chaincode_events_stream_and_resume_after_a_transaction(gw: GatewayNet) -> None:
    first, status = gw.transact("emit", "minted", "one")
    assert status.result == Code.VALID
    second, _ = gw.transact("emit", "minted", "two")
    responses = gw.events("probe", 2, start=status.block_number)
    events = [e for r in responses for e in r.events]
    assert [(e.tx_id, e.event_name, e.payload) for e in events] == [(first, "minted", b"one"), (second, "minted", b"two")]
    assert responses[0].block_number == status.block_number
    # A client that processed `first` resumes right after it.
    resumed = gw.events("probe", 1, start=0, after=first)
    assert [(e.tx_id, e.payload) for r in resumed for e in r.events][0] == (second, b"two")


def test_commit_status_requires_a_channel_reader_with_a_good_signature(gw: GatewayNet) -> None:
    tx_id, _ = gw.transact("put", "readers", "x")
    outsider = gw.net.identity("Org3MSP")
    code, message, _ = failure(lambda: gw.commit_status(tx_id, client=outsider))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    code, message, _ = failure(lambda: gw.commit_status(tx_id, signature=b"\x30\x06\x02\x01\x01\x02\x01\x01"))
    assert code == grpc.StatusCode.PERMISSION_DENIED and "signature" in message
    # A transaction that never comes keeps the caller waiting until its deadline.
    code, _, _ = failure(lambda: gw.commit_status(hashlib.sha256(b"never").hexdigest(), timeout=1.5))
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED


def test_submit_refuses_unsigned_and_malformed_transactions(gw: GatewayNet) -> None:
    tx_id, envelope = gw.endorse("put", "unsigned", "x")
    envelope.signature = b""
    code, message, _ = failure(lambda: gw.submit(tx_id, envelope))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "must be signed" in message
    forged = common_pb2.Envelope(payload=envelope.payload, signature=gw.net.identity("Org2MSP").sign(envelope.payload))
    code, message, details = failure(lambda: gw.submit(tx_id, forged))
    assert code == grpc.StatusCode.ABORTED and "received unsuccessful response from orderer" in message
    assert details and details[0].msp_id == "OrdererMSP"
    channel, stub = gw.stub()
    with channel:
        code, message, _ = failure(lambda: stub.Evaluate(gateway_pb2.EvaluateRequest(channel_id="ch1"), timeout=10))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "failed to unpack transaction proposal" in message


def test_unknown_channel_is_refused(gw: GatewayNet) -> None:
    tx_id, signed = gw.proposal("probe", "get", "x", channel="nochannel")
    channel, stub = gw.stub()
    with channel:
        code, message, _ = failure(lambda: stub.Endorse(gateway_pb2.EndorseRequest(
            transaction_id=tx_id, channel_id="nochannel", proposed_transaction=signed), timeout=10))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "nochannel" in message
