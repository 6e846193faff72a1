"""A peer fed by a rogue orderer: tampered blocks are refused, and transactions no honest
orderer would have passed on get their validation codes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import transaction_pb2

from consortia.protoutil import block as blocks
from consortia.protoutil.envelope import create_signed_envelope
from tests.support.processes import run
from tests.support.rogue import RogueOrderer
from tests.support.testnet import PeerHandle, TestNetwork, position
from tests.support.transactions import NsWrites, endorser_transaction

pytestmark = pytest.mark.integration

Code = transaction_pb2.TxValidationCode


@pytest.fixture
def rogue_net(tmp_path: Path):  # type: ignore[no-untyped-def]
    net = TestNetwork(tmp_path)
    rogue = RogueOrderer(net.address, common_pb2.Block.FromString(net.genesis("ch1")))
    rogue.start()
    peer = net.peer("Org1MSP")
    peer.node.start()
    run(net.join_peer(peer, "ch1"))
    yield net, rogue, peer
    rogue.stop()


def height(net: TestNetwork, peer: PeerHandle) -> int:
    reader = net.identity("Org1MSP")
    for number in range(100):
        _, statuses = run(net.peer_deliver(peer, net.seek("ch1", reader, position(number), position(number),
                                                          fail_if_not_ready=True)))
        if statuses != [200]:
            return number
    raise AssertionError("no end")


def good_tx(net: TestNetwork, key: str) -> bytes:
    e1, e2 = net.identity("Org1MSP", "peer0"), net.identity("Org2MSP", "peer0")
    env = endorser_transaction("ch1", "cc", net.identity("Org1MSP"), [e1, e2], {"cc": NsWrites(writes={key: b"v"})})
    return bytes(env.SerializeToString())


def wait_in_log(peer: PeerHandle, fragment: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fragment in peer.node.tail(400):
            return
        time.sleep(0.1)
    raise AssertionError(f"{fragment!r} not in the log of {peer.node.name}:\n{peer.node.tail()}")


def tampered(block: common_pb2.Block, how: str, net: TestNetwork) -> common_pb2.Block:
    bad = common_pb2.Block()
    bad.CopyFrom(block)
    if how == "data":
        bad.data.data.append(b"smuggled")
    elif how == "previous hash":
        bad.header.previous_hash = b"\x00" * 32
        blocks.sign_block(bad, net.identity("OrdererMSP", "orderer0"), last_config_index=0)
    elif how == "signer":
        blocks.sign_block(bad, net.identity("Org1MSP", "peer0"), last_config_index=0)
    elif how == "unsigned":
        bad.metadata.metadata[blocks.SIGNATURES] = b""
    return bad


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("data", "data hash"),
        ("previous hash", "previous hash"),
        ("signer", "is not signed as the channel requires"),
        ("unsigned", "carries no orderer signatures"),
    ],
)
def test_tampered_block_is_refused(rogue_net, how: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    net, rogue, peer = rogue_net
    orderer = net.identity("OrdererMSP", "orderer0")
    rogue.add(rogue.next_block([good_tx(net, "a")], orderer))
    assert [b.header.number for b in run(net.wait_for_height(peer, "ch1", 2))] == [0, 1]
    good = rogue.next_block([good_tx(net, "b")], orderer)
    rogue.add(tampered(good, how, net))
    wait_in_log(peer, f"refused a block from orderer {net.address}")
    wait_in_log(peer, reason)
    assert height(net, peer) == 2
    rogue.blocks[2] = good  # the orderer comes to its senses
    chain = run(net.wait_for_height(peer, "ch1", 3))
    assert chain[2].data == good.data


def test_transactions_an_honest_orderer_would_refuse(rogue_net) -> None:  # type: ignore[no-untyped-def]
    net, rogue, peer = rogue_net
    orderer = net.identity("OrdererMSP", "orderer0")
    client = net.identity("Org1MSP")
    wrong_channel = endorser_transaction("ch2", "cc", client, [net.identity("Org1MSP", "peer0")],
                                         {"cc": NsWrites(writes={"x": b"1"})})
    other_type = create_signed_envelope(common_pb2.MESSAGE, "ch1", client, b"hello", with_tx_id=True)
    forged = common_pb2.Envelope.FromString(good_tx(net, "f"))
    forged.signature = client.sign(b"other bytes")
    by_peer = endorser_transaction("ch1", "cc", net.identity("Org1MSP", "peer0"),
                                   [net.identity("Org1MSP", "peer0"), net.identity("Org2MSP", "peer0")],
                                   {"cc": NsWrites(writes={"p": b"1"})})
    outsider = endorser_transaction("ch1", "cc", net.identity("Org3MSP"), [net.identity("Org1MSP", "peer0")],
                                    {"cc": NsWrites(writes={"o": b"1"})})
    envelopes = [
        b"", b"\xff\xff\xff", common_pb2.Envelope(payload=b"\x0a\xff").SerializeToString(),
        wrong_channel.SerializeToString(), other_type.SerializeToString(), forged.SerializeToString(),
        by_peer.SerializeToString(), outsider.SerializeToString(), good_tx(net, "fine"),
    ]
    rogue.add(rogue.next_block(envelopes, orderer))
    chain = run(net.wait_for_height(peer, "ch1", 2))
    assert list(blocks.transactions_filter(chain[1])) == [
        Code.NIL_ENVELOPE, Code.NIL_ENVELOPE, Code.BAD_PAYLOAD, Code.TARGET_CHAIN_NOT_FOUND, Code.UNKNOWN_TX_TYPE,
        Code.BAD_CREATOR_SIGNATURE, Code.BAD_CREATOR_SIGNATURE, Code.BAD_CREATOR_SIGNATURE, Code.VALID,
    ]
    wait_in_log(peer, "/Channel/Application/Writers")
