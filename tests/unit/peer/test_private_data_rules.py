"""The rules around private data that need no ledger: who may read or write a collection
at endorsement (CollectionAccess), who may push or pull between peers (signed requests),
and how long the transient store keeps what it was given."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fabric_protos.common import common_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.channelconfig.genesis import config_from_block
from consortia.lifecycle.collections import find_config, parse_collections_json
from consortia.protos.v1 import private_data_pb2
from peer.chaincode.collections import CollectionAccess, CollectionAccessError
from peer.ledger.transient import TransientStore
from peer.privatedata.requests import (
    RequestRefused,
    check_sender,
    parse_request,
    sign_request,
)
from tests.support import testnet
from tests.support.testnet import TestNetwork

pytestmark = pytest.mark.unit

PACKAGE = parse_collections_json(json.dumps([
    {"name": "open", "policy": "OR('Org1MSP.member', 'Org2MSP.member')", "requiredPeerCount": 0, "maxPeerCount": 1},
    {"name": "closed", "policy": "OR('Org1MSP.member')", "requiredPeerCount": 0, "maxPeerCount": 1,
     "memberOnlyRead": True, "memberOnlyWrite": True},
]))


def access(peer_msp: str, creator_msp: str) -> CollectionAccess:
    return CollectionAccess(peer_msp, creator_msp, lambda ns, name: find_config(ns, PACKAGE, name) if ns == "cc" else None)


def test_a_member_peer_reads_and_a_non_member_peer_says_why_not() -> None:
    access("Org1MSP", "Org2MSP").check_read("cc", "open")
    with pytest.raises(CollectionAccessError, match="Org3MSP is not a member of collection open of cc"):
        access("Org3MSP", "Org1MSP").check_read("cc", "open")


def test_member_only_read_and_write_look_at_the_creator() -> None:
    access("Org1MSP", "Org1MSP").check_read("cc", "closed")
    access("Org1MSP", "Org1MSP").check_write("cc", "closed")
    with pytest.raises(CollectionAccessError, match="tx creator does not have read access permission"):
        access("Org1MSP", "Org2MSP").check_read("cc", "closed")
    with pytest.raises(CollectionAccessError, match="tx creator does not have write access permission"):
        access("Org1MSP", "Org2MSP").check_write("cc", "closed")
    access("Org3MSP", "Org2MSP").check_write("cc", "open")  # writing needs no membership of the peer


def test_unknown_collections_and_implicit_ones() -> None:
    with pytest.raises(CollectionAccessError, match="collection nope is not defined for chaincode cc"):
        access("Org1MSP", "Org1MSP").check_write("cc", "nope")
    with pytest.raises(CollectionAccessError, match="collection open is not defined for chaincode other"):
        access("Org1MSP", "Org1MSP").check_read("other", "open")
    access("Org1MSP", "Org2MSP").check_read("cc", "_implicit_org_Org1MSP")
    with pytest.raises(CollectionAccessError, match="not a member"):
        access("Org2MSP", "Org2MSP").check_read("cc", "_implicit_org_Org1MSP")


def test_the_transient_store_keeps_every_set_until_commit_or_retention(tmp_path: Path) -> None:
    store = TransientStore(tmp_path / "transient.db", retention=10)
    try:
        store.put("tx1", 5, b"a")
        store.put("tx1", 5, b"b")  # another endorser's set
        store.put("tx1", 5, b"a")  # the same one again
        store.put("tx2", 5, b"c")
        store.put("tx3", 20, b"d")
        assert sorted(store.get("tx1")) == [b"a", b"b"]
        store.committed(["tx1"], height=16)  # tx2 waited more than 10 blocks
        assert store.get("tx1") == [] and store.get("tx2") == []
        assert store.get("tx3") == [b"d"]
    finally:
        store.close()
    reopened = TransientStore(tmp_path / "transient.db")
    try:
        assert reopened.get("tx3") == [b"d"]  # kept across a restart
    finally:
        reopened.close()


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> TestNetwork:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(testnet, "free_port_block", lambda size: 40000)
        return TestNetwork(tmp_path_factory.mktemp("pvt-rules"))


@pytest.fixture(scope="module")
def bundle(net: TestNetwork) -> ChannelBundle:
    return ChannelBundle.from_config(config_from_block(common_pb2.Block.FromString(net.genesis("ch1"))))


def pull(signer: object) -> private_data_pb2.SignedPrivateDataRequest:
    return sign_request(signer, "ch1", pull=private_data_pb2.PullPrivateData())  # type: ignore[arg-type]


def test_a_peer_of_a_channel_org_may_send_requests(net: TestNetwork, bundle: ChannelBundle) -> None:
    signed = pull(net.identity("Org2MSP", "peer0"))
    assert check_sender(signed, parse_request(signed), bundle).msp_id == "Org2MSP"


@pytest.mark.parametrize(("who", "problem"), [
    (("Org1MSP", "User1"), "only peers of channel ch1's organizations"),
    (("Org3MSP", "peer0"), "MSP 'Org3MSP' is not known here"),  # Org3 is not in ch1
])
def test_others_may_not(net: TestNetwork, bundle: ChannelBundle, who: tuple[str, str], problem: str) -> None:
    signed = pull(net.identity(*who))
    with pytest.raises(RequestRefused, match=problem):
        check_sender(signed, parse_request(signed), bundle)


def test_a_tampered_or_stale_request_is_refused(net: TestNetwork, bundle: ChannelBundle) -> None:
    peer = net.identity("Org1MSP", "peer0")
    signed = pull(peer)
    request = parse_request(signed)
    request.channel_id = "ch2"
    tampered = private_data_pb2.SignedPrivateDataRequest(request=request.SerializeToString(), signature=signed.signature)
    with pytest.raises(RequestRefused, match="signature"):
        check_sender(tampered, parse_request(tampered), bundle)
    request = parse_request(signed)
    request.timestamp.FromDatetime(dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    data = request.SerializeToString()
    stale = private_data_pb2.SignedPrivateDataRequest(request=data, signature=peer.sign(data))
    with pytest.raises(RequestRefused, match="timestamp"):
        check_sender(stale, parse_request(stale), bundle)
    with pytest.raises(RequestRefused, match="malformed"):
        parse_request(private_data_pb2.SignedPrivateDataRequest(request=b"\x0a\x05ab"))
