"""The stub's private data calls send the messages Fabric's shims send (the public requests
with the collection set, GET_PRIVATE_DATA_HASH and PURGE_PRIVATE_DATA), and refuse bad
arguments before asking the peer. The fake ledger keeps private writes as a peer would."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2, proposal_response_pb2
from fabric_protos.peer.chaincode_shim_pb2 import ChaincodeMessage as Message

from chaincode.shim.interfaces import ChaincodeStubError
from chaincode.shim.stub import (
    KV,
    MAX_UNICODE_RUNE,
    VALIDATION_PARAMETER,
    ChaincodeStub,
)
from tests.unit.chaincode.fakes import FakeLedger, FakeStub

pytestmark = pytest.mark.unit


class _Peer:
    """Records every request of the stub and answers each with the next queued payload."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.answers: list[bytes] = []

    def call(self, message: Message) -> Message:
        self.sent.append(message)
        payload = self.answers.pop(0) if self.answers else b""
        return Message(type=Message.RESPONSE, payload=payload, txid=message.txid, channel_id=message.channel_id)


@pytest.fixture
def peer() -> _Peer:
    return _Peer()


@pytest.fixture
def stub(peer: _Peer) -> ChaincodeStub:
    message = Message(type=Message.TRANSACTION, txid="tx1", channel_id="ch",
                      payload=chaincode_pb2.ChaincodeInput(args=[b"fn"]).SerializeToString())
    return ChaincodeStub(peer, message)  # type: ignore[arg-type]


def _sent(peer: _Peer, kind: int, payload: Any) -> None:
    """The stub sent exactly one request, of this type and with exactly these payload bytes."""
    assert [(Message.Type.Name(m.type), m.payload, m.txid, m.channel_id) for m in peer.sent] == [
        (Message.Type.Name(kind), payload.SerializeToString(), "tx1", "ch")]


def _results(*kvs: tuple[str, bytes], has_more: bool = False, query_id: str = "q1") -> bytes:
    results = [chaincode_shim_pb2.QueryResultBytes(resultBytes=kv_query_result_pb2.KV(
        namespace="cc", key=k, value=v).SerializeToString()) for k, v in kvs]
    return bytes(chaincode_shim_pb2.QueryResponse(results=results, has_more=has_more, id=query_id).SerializeToString())


# ----- what is sent, and how answers are read -------------------------------------------


def test_get_private_data_is_a_get_state_with_the_collection(stub: ChaincodeStub, peer: _Peer) -> None:
    peer.answers.append(b"secret")
    assert stub.get_private_data("pdc", "k1") == b"secret"
    _sent(peer, Message.GET_STATE, chaincode_shim_pb2.GetState(key="k1", collection="pdc"))


def test_get_private_data_of_an_absent_key_is_empty(stub: ChaincodeStub, peer: _Peer) -> None:
    assert stub.get_private_data("pdc", "nothing") == b""


def test_get_private_data_multiple(stub: ChaincodeStub, peer: _Peer) -> None:
    peer.answers.append(chaincode_shim_pb2.GetStateMultipleResult(values=[b"a", b""]).SerializeToString())
    assert stub.get_private_data_multiple("pdc", ["k1", "k2"]) == [b"a", b""]
    _sent(peer, Message.GET_STATE_MULTIPLE, chaincode_shim_pb2.GetStateMultiple(keys=["k1", "k2"], collection="pdc"))


def test_put_private_data(stub: ChaincodeStub, peer: _Peer) -> None:
    stub.put_private_data("pdc", "k1", b"v1")
    _sent(peer, Message.PUT_STATE, chaincode_shim_pb2.PutState(key="k1", value=b"v1", collection="pdc"))


def test_del_private_data(stub: ChaincodeStub, peer: _Peer) -> None:
    stub.del_private_data("pdc", "k1")
    _sent(peer, Message.DEL_STATE, chaincode_shim_pb2.DelState(key="k1", collection="pdc"))


def test_purge_private_data_has_its_own_type_and_a_del_state_payload(stub: ChaincodeStub, peer: _Peer) -> None:
    stub.purge_private_data("pdc", "k1")
    _sent(peer, Message.PURGE_PRIVATE_DATA, chaincode_shim_pb2.DelState(key="k1", collection="pdc"))


def test_get_private_data_hash_has_its_own_type_and_a_get_state_payload(stub: ChaincodeStub, peer: _Peer) -> None:
    digest = hashlib.sha256(b"secret").digest()
    peer.answers.append(digest)
    assert stub.get_private_data_hash("pdc", "k1") == digest
    _sent(peer, Message.GET_PRIVATE_DATA_HASH, chaincode_shim_pb2.GetState(key="k1", collection="pdc"))


def test_get_private_data_by_range_opens_an_empty_start_and_pages_through(stub: ChaincodeStub, peer: _Peer) -> None:
    peer.answers += [_results(("a", b"1"), has_more=True), _results(("b", b"2"))]
    assert list(stub.get_private_data_by_range("pdc", "", "z")) == [KV("a", b"1", "cc"), KV("b", b"2", "cc")]
    assert [Message.Type.Name(m.type) for m in peer.sent] == ["GET_STATE_BY_RANGE", "QUERY_STATE_NEXT"]
    assert peer.sent[0].payload == chaincode_shim_pb2.GetStateByRange(
        startKey="\x01", endKey="z", collection="pdc").SerializeToString()
    assert peer.sent[1].payload == chaincode_shim_pb2.QueryStateNext(id="q1").SerializeToString()


def test_get_private_data_by_partial_composite_key(stub: ChaincodeStub, peer: _Peer) -> None:
    peer.answers.append(_results())
    assert list(stub.get_private_data_by_partial_composite_key("pdc", "asset", ["blue"])) == []
    prefix = "\x00asset\x00blue\x00"
    _sent(peer, Message.GET_STATE_BY_RANGE, chaincode_shim_pb2.GetStateByRange(
        startKey=prefix, endKey=prefix + MAX_UNICODE_RUNE, collection="pdc"))


def test_get_private_data_query_result_has_no_page(stub: ChaincodeStub, peer: _Peer) -> None:
    query = '{"selector": {"color": "blue"}}'
    peer.answers.append(_results(("k1", b'{"color": "blue"}')))
    assert [kv.key for kv in stub.get_private_data_query_result("pdc", query)] == ["k1"]
    _sent(peer, Message.GET_QUERY_RESULT, chaincode_shim_pb2.GetQueryResult(query=query, collection="pdc"))


def test_get_private_data_validation_parameter(stub: ChaincodeStub, peer: _Peer) -> None:
    entries = [chaincode_shim_pb2.StateMetadata(metakey=VALIDATION_PARAMETER, value=b"policy")]
    peer.answers += [chaincode_shim_pb2.StateMetadataResult(entries=entries).SerializeToString(), b""]
    assert stub.get_private_data_validation_parameter("pdc", "k1") == b"policy"
    assert stub.get_private_data_validation_parameter("pdc", "k2") == b""
    assert peer.sent[0].type == Message.GET_STATE_METADATA
    assert peer.sent[0].payload == chaincode_shim_pb2.GetStateMetadata(key="k1", collection="pdc").SerializeToString()


def test_set_private_data_validation_parameter(stub: ChaincodeStub, peer: _Peer) -> None:
    stub.set_private_data_validation_parameter("pdc", "k1", b"policy")
    entry = chaincode_shim_pb2.StateMetadata(metakey=VALIDATION_PARAMETER, value=b"policy")
    _sent(peer, Message.PUT_STATE_METADATA, chaincode_shim_pb2.PutStateMetadata(key="k1", collection="pdc", metadata=entry))


def test_public_queries_still_carry_no_collection(stub: ChaincodeStub, peer: _Peer) -> None:
    peer.answers += [_results(), _results()]
    list(stub.get_state_by_range("a", "b"))
    stub.get_query_result_with_pagination("{}", 5, "mark")
    page = chaincode_shim_pb2.QueryMetadata(pageSize=5, bookmark="mark").SerializeToString()
    assert [m.payload for m in peer.sent] == [
        chaincode_shim_pb2.GetStateByRange(startKey="a", endKey="b").SerializeToString(),
        chaincode_shim_pb2.GetQueryResult(query="{}", metadata=page).SerializeToString()]


# ----- refusals, before anything is sent -------------------------------------------------

_BY_COLLECTION: dict[str, Callable[[ChaincodeStub, Any], object]] = {
    "get_private_data": lambda s, c: s.get_private_data(c, "k"),
    "get_private_data_multiple": lambda s, c: s.get_private_data_multiple(c, ["k"]),
    "get_private_data_hash": lambda s, c: s.get_private_data_hash(c, "k"),
    "put_private_data": lambda s, c: s.put_private_data(c, "k", b"v"),
    "del_private_data": lambda s, c: s.del_private_data(c, "k"),
    "purge_private_data": lambda s, c: s.purge_private_data(c, "k"),
    "get_private_data_by_range": lambda s, c: s.get_private_data_by_range(c, "a", "b"),
    "get_private_data_by_partial_composite_key": lambda s, c: s.get_private_data_by_partial_composite_key(c, "t", []),
    "get_private_data_query_result": lambda s, c: s.get_private_data_query_result(c, "{}"),
    "get_private_data_validation_parameter": lambda s, c: s.get_private_data_validation_parameter(c, "k"),
    "set_private_data_validation_parameter": lambda s, c: s.set_private_data_validation_parameter(c, "k", b"p"),
}

_BY_KEY: dict[str, Callable[[ChaincodeStub, Any], object]] = {
    "get_private_data": lambda s, k: s.get_private_data("pdc", k),
    "get_private_data_multiple": lambda s, k: s.get_private_data_multiple("pdc", ["ok", k]),
    "get_private_data_hash": lambda s, k: s.get_private_data_hash("pdc", k),
    "put_private_data": lambda s, k: s.put_private_data("pdc", k, b"v"),
    "del_private_data": lambda s, k: s.del_private_data("pdc", k),
    "purge_private_data": lambda s, k: s.purge_private_data("pdc", k),
    "get_private_data_validation_parameter": lambda s, k: s.get_private_data_validation_parameter("pdc", k),
    "set_private_data_validation_parameter": lambda s, k: s.set_private_data_validation_parameter("pdc", k, b"p"),
}


@pytest.mark.parametrize("collection", ["", None, 7])
@pytest.mark.parametrize("call", _BY_COLLECTION.values(), ids=_BY_COLLECTION.keys())
def test_every_private_data_call_needs_a_collection(stub: ChaincodeStub, peer: _Peer, call: Callable[..., object],
                                                   collection: object) -> None:
    with pytest.raises(ChaincodeStubError, match="collection must be a non-empty string"):
        call(stub, collection)
    assert peer.sent == []


@pytest.mark.parametrize("key", ["", None])
@pytest.mark.parametrize("call", _BY_KEY.values(), ids=_BY_KEY.keys())
def test_every_private_data_call_needs_a_key(stub: ChaincodeStub, peer: _Peer, call: Callable[..., object],
                                            key: object) -> None:
    with pytest.raises(ChaincodeStubError, match="key must be a non-empty string"):
        call(stub, key)
    assert peer.sent == []


def test_put_private_data_needs_bytes(stub: ChaincodeStub, peer: _Peer) -> None:
    with pytest.raises(ChaincodeStubError, match="value of 'k' must be bytes, found str"):
        stub.put_private_data("pdc", "k", "text")  # type: ignore[arg-type]
    assert peer.sent == []


def test_private_range_bounds_are_simple_keys(stub: ChaincodeStub, peer: _Peer) -> None:
    composite = stub.create_composite_key("asset", ["x"])
    for start, end in ((composite, ""), ("", composite)):
        with pytest.raises(ChaincodeStubError, match="range bounds must not be composite keys"):
            stub.get_private_data_by_range("pdc", start, end)
    with pytest.raises(ChaincodeStubError, match="contains U\\+0000"):
        stub.get_private_data_by_partial_composite_key("pdc", "asset", ["a\x00b"])
    assert peer.sent == []


# ----- the fake ledger ---------------------------------------------------------------------


class _Script:
    """A chaincode whose one transaction is a function of the stub."""

    def __init__(self, body: Callable[[FakeStub], bytes | None], status: int = 200) -> None:
        self._body = body
        self._status = status

    def invoke(self, stub: FakeStub) -> proposal_response_pb2.Response:
        return proposal_response_pb2.Response(status=self._status, payload=self._body(stub) or b"")


def test_fake_private_writes_commit_with_the_transaction(ledger: FakeLedger) -> None:
    def write(stub: FakeStub) -> bytes:
        stub.put_private_data("pdc", "k1", b"secret")
        stub.set_private_data_validation_parameter("pdc", "k1", b"policy")
        return stub.get_private_data("pdc", "k1")  # never the transaction's own write

    assert ledger.invoke(_Script(write, status=500)).payload == b""
    assert ledger.private == {}
    assert ledger.invoke(_Script(write)).payload == b""
    assert ledger.private == {"pdc": {"k1": b"secret"}} and ledger.state == {}

    stub = ledger.stub()
    assert stub.get_private_data("pdc", "k1") == b"secret"
    assert stub.get_private_data_hash("pdc", "k1") == hashlib.sha256(b"secret").digest()
    assert stub.get_private_data_hash("pdc", "absent") == b""
    assert stub.get_private_data_hash("other", "k1") == b""
    assert stub.get_private_data_validation_parameter("pdc", "k1") == b"policy"
    assert [kv.key for kv in stub.get_private_data_by_range("pdc", "", "")] == ["k1"]

    ledger.invoke(_Script(lambda s: s.purge_private_data("pdc", "k1")))
    assert ledger.private == {"pdc": {}}
    assert ledger.stub().get_private_data_validation_parameter("pdc", "k1") == b""


def test_fake_private_composite_keys(ledger: FakeLedger) -> None:
    def write(stub: FakeStub) -> None:
        for color, name in (("blue", "a"), ("blue", "b"), ("red", "c")):
            stub.put_private_data("pdc", stub.create_composite_key("asset", [color, name]), name.encode())

    ledger.invoke(_Script(write))
    found = ledger.stub().get_private_data_by_partial_composite_key("pdc", "asset", ["blue"])
    assert [kv.value for kv in found] == [b"a", b"b"]
