"""Real orderer and peer processes: join, pull, validate, commit, deliver."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import transaction_pb2

from consortia import adminclient
from consortia.adminclient import AdminCallError
from consortia.endpoint import NodeEndpoint
from consortia.protoutil import block as blocks
from consortia.protoutil.transaction import unpack_transaction
from peer.ledger.rwset import parse_rwset
from tests.support.processes import run
from tests.support.testnet import NEWEST, OLDEST, PeerHandle, TestNetwork, position
from tests.support.transactions import NsWrites, endorser_transaction

pytestmark = pytest.mark.integration

Code = transaction_pb2.TxValidationCode
SUCCESS, FORBIDDEN, NOT_FOUND, BAD_REQUEST = 200, 403, 404, 400


@pytest.fixture
def net(tmp_path: Path) -> TestNetwork:
    network = TestNetwork(tmp_path)
    network.orderer.start()
    run(network.join("ch1"))
    return network


def start_peers(net: TestNetwork, *msp_ids: str) -> list[PeerHandle]:
    peers = [net.peer(m) for m in msp_ids]
    for peer in peers:
        peer.node.start()
        run(net.join_peer(peer, "ch1"))
    return peers


def state_tables(data_dir: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(data_dir / "channels" / "ch1" / "ledger.db")
    try:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in ("state", "history", "txids")}
    finally:
        db.close()


def written_versions(net: TestNetwork, peer: PeerHandle, count: int) -> dict[str, tuple[int, int]]:
    """Where each key written so far was written, once `count` transactions are committed."""
    reader = net.identity(peer.msp_id, "User1")
    while True:
        chain, _ = run(net.peer_deliver(peer, net.seek("ch1", reader, OLDEST, NEWEST)))
        found = {}
        for block in chain[1:]:
            for index, raw in enumerate(block.data.data):
                tx = unpack_transaction(raw)
                for key in parse_rwset(tx.actions[0].chaincode_action.results).namespaces[0].written_keys:
                    found[key] = (block.header.number, index)
        if len(found) >= count:
            return found
        run(asyncio.sleep(0.1))


def test_two_peers_commit_the_same_blocks_and_state(net: TestNetwork) -> None:
    p1, p2 = start_peers(net, "Org1MSP", "Org2MSP")
    client = net.identity("Org1MSP")
    e1, e2 = net.identity("Org1MSP", "peer0"), net.identity("Org2MSP", "peer0")
    both = [e1, e2]

    def tx(ns: NsWrites, endorsers=both):  # type: ignore[no-untyped-def]
        return endorser_transaction("ch1", "cc", client, endorsers, {"cc": ns}, event=("Touched", b"{}"))

    first = [tx(NsWrites(writes={f"k{i}": f"v{i}".encode()})) for i in range(8)]
    assert [a.status for a in run(net.broadcast(first))] == [SUCCESS] * 8
    versions = written_versions(net, p1, 8)
    # Block 2: a clean update, a conflicting update of the same key, a stale read, a policy
    # failure, a duplicate, a phantom read, a delete.
    update = tx(NsWrites(reads={"k0": versions["k0"]}, writes={"k0": b"new"}))
    conflict = tx(NsWrites(reads={"k0": versions["k0"]}, writes={"k0": b"other"}))
    stale = tx(NsWrites(reads={"k1": (0, 0)}, writes={"k1": b"x"}))
    one_org = tx(NsWrites(writes={"k2": b"x"}), [e1])
    phantom = tx(NsWrites(ranges=[("k", "l", True, [(f"k{i}", versions[f"k{i}"]) for i in range(8)])],
                          writes={"summary": b"8"}))
    insert = tx(NsWrites(writes={"k55": b"new key in the range"}))
    delete = tx(NsWrites(writes={"k7": None}))
    second = [update, conflict, stale, one_org, update, insert, phantom, delete]
    height = run(net.peer_deliver(p1, net.seek("ch1", client, NEWEST, NEWEST)))[0][0].header.number + 1
    assert [a.status for a in run(net.broadcast(second))] == [SUCCESS] * len(second)
    chains = [run(net.wait_for_height(p, "ch1", height + 1)) for p in (p1, p2)]
    codes = list(blocks.transactions_filter(chains[0][height]))
    assert codes == [Code.VALID, Code.MVCC_READ_CONFLICT, Code.MVCC_READ_CONFLICT, Code.ENDORSEMENT_POLICY_FAILURE,
                     Code.DUPLICATE_TXID, Code.VALID, Code.PHANTOM_READ_CONFLICT, Code.VALID]
    for number in range(height + 1):
        a, b = chains[0][number], chains[1][number]
        assert blocks.transactions_filter(a) == blocks.transactions_filter(b)
        assert blocks.commit_hash_of(a) == blocks.commit_hash_of(b) != b""
        assert a.header == b.header and a.data == b.data
    assert p1.node.stop() == 0 and p2.node.stop() == 0
    tables = [state_tables(net.root / f"peer0.org{i}.example.com-data") for i in (1, 2)]
    assert tables[0] == tables[1]
    state = {(ns, key.decode()): value for ns, key, value, *_ in tables[0]["state"]}
    assert state[("cc", "k0")] == b"new" and state[("cc", "k1")] == b"v1" and ("cc", "k7") not in state
    assert state[("cc", "k55")] == b"new key in the range" and ("cc", "summary") not in state


def test_deliver_and_deliver_filtered(net: TestNetwork) -> None:
    (p1,) = start_peers(net, "Org1MSP")
    client = net.identity("Org1MSP")
    e1, e2 = net.identity("Org1MSP", "peer0"), net.identity("Org2MSP", "peer0")
    txs = [endorser_transaction("ch1", "cc", client, [e1, e2], {"cc": NsWrites(writes={"a": b"1"})},
                                event=("Created", b"secret payload")),
           endorser_transaction("ch1", "cc", client, [e1], {"cc": NsWrites(writes={"b": b"1"})})]
    run(net.broadcast(txs))
    chain = run(net.wait_for_height(p1, "ch1", 2))
    assert blocks.transactions_filter(chain[1]) == bytes([Code.VALID, Code.ENDORSEMENT_POLICY_FAILURE])
    filtered, statuses = run(net.peer_deliver(p1, net.seek("ch1", client, position(1), position(1)), filtered=True))
    assert statuses == [SUCCESS]
    fb = filtered[0]
    assert (fb.channel_id, fb.number) == ("ch1", 1)
    assert [t.txid for t in fb.filtered_transactions] == [unpack_transaction(e).tx_id for e in chain[1].data.data]
    assert [t.tx_validation_code for t in fb.filtered_transactions] == [Code.VALID, Code.ENDORSEMENT_POLICY_FAILURE]
    event = fb.filtered_transactions[0].transaction_actions.chaincode_actions[0].chaincode_event
    assert (event.event_name, event.chaincode_id, event.payload) == ("Created", "cc", b"")
    # A stream that waits for the next block sees it when it commits.

    async def follow() -> list[int]:
        waiting = asyncio.create_task(net.peer_deliver(p1, net.seek("ch1", client, position(2), position(2))))
        await asyncio.sleep(0.3)
        await net.broadcast([endorser_transaction("ch1", "cc", client, [e1, e2], {"cc": NsWrites(writes={"c": b"1"})})])
        got, statuses = await asyncio.wait_for(waiting, 20)
        assert statuses == [SUCCESS]
        return [b.header.number for b in got]

    assert run(follow()) == [2]


def test_deliver_refusals(net: TestNetwork) -> None:
    (p1,) = start_peers(net, "Org1MSP")
    outsider = net.identity("Org3MSP")
    member = net.identity("Org2MSP")
    assert run(net.peer_deliver(p1, net.seek("ch1", outsider, OLDEST, NEWEST)))[1] == [FORBIDDEN]
    assert run(net.peer_deliver(p1, net.seek("ch2", member, OLDEST, NEWEST)))[1] == [NOT_FOUND]
    assert run(net.peer_deliver(p1, net.seek("ch1", member, position(4), position(5), fail_if_not_ready=True)))[1] == [NOT_FOUND]
    # The orderer's identity may read from the orderer but is no application reader here.
    assert run(net.peer_deliver(p1, net.seek("ch1", net.identity("OrdererMSP", "orderer0"), OLDEST, NEWEST)))[1] == [FORBIDDEN]
    garbage = common_pb2.Envelope(payload=b"\xff\xff")
    assert run(net.peer_deliver(p1, garbage))[1] == [BAD_REQUEST]
    genesis, statuses = run(net.peer_deliver(p1, net.seek("ch1", member, OLDEST, OLDEST)))
    assert statuses == [SUCCESS] and genesis[0].data == common_pb2.Block.FromString(net.genesis("ch1")).data


def test_join_list_remove_and_restart(net: TestNetwork) -> None:
    p1 = net.peer("Org1MSP")
    p3 = net.peer("Org3MSP")
    p1.node.start()
    p3.node.start()
    admin = net.peer_admin(p1)
    with pytest.raises(AdminCallError, match="organization Org3MSP is not a member of channel ch1.*INVALID_ARGUMENT"):
        run(adminclient.join_channel(net.peer_admin(p3), net.genesis("ch1")))
    user = NodeEndpoint(p1.admin_address, net.identity("Org1MSP", "User1"))
    with pytest.raises(AdminCallError, match="is a client of Org1MSP, not an admin of Org1MSP.*PERMISSION_DENIED"):
        run(adminclient.join_channel(user, net.genesis("ch1")))
    other_admin = NodeEndpoint(p1.admin_address, net.identity("Org2MSP", "Admin"))
    with pytest.raises(AdminCallError, match="belongs to Org2MSP, not to Org1MSP"):
        run(adminclient.list_channels(other_admin))
    assert run(adminclient.join_channel(admin, net.genesis("ch1"))).channel_id == "ch1"
    with pytest.raises(AdminCallError, match="already joined channel ch1.*ALREADY_EXISTS"):
        run(adminclient.join_channel(admin, net.genesis("ch1")))
    e1, e2 = net.identity("Org1MSP", "peer0"), net.identity("Org2MSP", "peer0")
    run(net.broadcast([endorser_transaction("ch1", "cc", net.identity("Org1MSP"), [e1, e2],
                                            {"cc": NsWrites(writes={"a": b"1"})})]))
    run(net.wait_for_height(p1, "ch1", 2))
    assert p1.node.stop() == 0
    p1.node.start()
    listed = run(adminclient.list_channels(admin))
    assert [(c.channel_id, c.height) for c in listed.channels] == [("ch1", 2)]
    # It keeps pulling after the restart.
    run(net.broadcast([endorser_transaction("ch1", "cc", net.identity("Org1MSP"), [e1, e2],
                                            {"cc": NsWrites(writes={"b": b"1"})})]))
    run(net.wait_for_height(p1, "ch1", 3))
    assert run(adminclient.remove_channel(admin, "ch1")).height == 3
    assert run(adminclient.list_channels(admin)).channels == []
    assert not (net.root / "peer0.org1.example.com-data" / "channels" / "ch1").exists()
