"""Private data collections on real processes: three orgs, each with a peer, on channel
ch1, and a chaincode whose definition has collections of Org1 and Org2.

Values written to a collection go to the member peers only (pushed at endorsement,
pulled at commit by a member that lacks them); every peer, and the block, holds only
their hashes. The tests read each peer's ledger files to check where the bytes went.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import events_pb2

from consortia import adminclient
from consortia.client import CommitError, EndorseError, Gateway, GatewayError, connect
from consortia.endpoint import NodeEndpoint
from consortia.ledger.blockstore import FILE_NAME as BLOCK_FILE
from consortia.lifecycle import operations as ops
from consortia.lifecycle.collections import parse_collections_json
from consortia.lifecycle.package import package_python
from tests.support.processes import NodeProcess, eventually, run
from tests.support.testnet import PeerHandle, TestNetwork

pytestmark = pytest.mark.integration

ORGS = ("Org1MSP", "Org2MSP", "Org3MSP")
MEMBERS = ["Org1MSP", "Org2MSP"]
CHAINCODE = "vault"
CONTRACT = Path(__file__).resolve().parent.parent / "fixtures" / "contracts" / "secrets"
MEMBER_POLICY = "OR('Org1MSP.member', 'Org2MSP.member')"
COLLECTIONS = [
    {"name": "secrets", "policy": MEMBER_POLICY, "requiredPeerCount": 1, "maxPeerCount": 2, "blockToLive": 0},
    {"name": "shortlived", "policy": MEMBER_POLICY, "requiredPeerCount": 1, "maxPeerCount": 2, "blockToLive": 2},
    # Dissemination may fail without failing the endorsement: for a member peer that is down.
    {"name": "relaxed", "policy": MEMBER_POLICY, "requiredPeerCount": 0, "maxPeerCount": 2, "blockToLive": 0},
    # Changes need Org2's peer, whatever the chaincode's policy says.
    {"name": "guarded", "policy": MEMBER_POLICY, "requiredPeerCount": 0, "maxPeerCount": 2,
     "endorsementPolicy": {"signaturePolicy": "OR('Org2MSP.peer')"}},
    # Only clients of the member orgs may read or write it.
    {"name": "closed", "policy": MEMBER_POLICY, "requiredPeerCount": 0, "maxPeerCount": 2,
     "memberOnlyRead": True, "memberOnlyWrite": True},
]
# Any one org's peer may endorse, so Org1 alone can when Org2's peer is down.
ENDORSEMENT = "OR('Org1MSP.peer', 'Org2MSP.peer', 'Org3MSP.peer')"


class PrivateNet:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.net = TestNetwork(root, {"channels": [{"name": "ch1", "organizations": list(ORGS)}]})
        self.peers: dict[str, PeerHandle] = self.net.start_channel("ch1", ORGS)

    def endpoint(self, msp_id: str) -> NodeEndpoint:
        return NodeEndpoint(self.peers[msp_id].address, self.net.identity(msp_id, "Admin"))

    def gateway(self, msp_id: str, who: str = "User1") -> Gateway:
        return connect(self.peers[msp_id].address, signer=self.net.identity(msp_id, who))

    def deploy(self) -> None:
        package = package_python(CONTRACT, "vault_1")
        (package_id,) = {run(ops.install(self.endpoint(org), package)).package_id for org in ORGS}
        collections = parse_collections_json(json.dumps(COLLECTIONS))
        definition = ops.definition(CHAINCODE, "1.0", 1, ENDORSEMENT, collections=collections)
        for org in ORGS:
            with self.gateway(org, "Admin") as gateway:
                number = ops.approve(gateway, "ch1", definition, package_id, org)
        # Every endorser of the commit reads every approval: each must have the last one.
        self.reach(number + 1)
        with self.gateway("Org1MSP", "Admin") as gateway:
            ops.commit(gateway, "ch1", definition, list(ORGS))
        self.settle()

    # ----- transactions -----------------------------------------------------------------

    def submit(self, name: str, args: list[str], transient: dict[str, str] | None = None,
               endorsers: list[str] = MEMBERS) -> int:
        """Submit through Org1's gateway, endorsed by `endorsers`; the block it committed in."""
        with self.gateway("Org1MSP") as gateway:
            contract = gateway.get_network("ch1").get_contract(CHAINCODE)
            submitted = contract.submit_async(name, args, transient, endorsers)
            status = submitted.get_status()
            if not status.successful:
                raise CommitError(status.transaction_id, status.code, status.code_name)
            return status.block_number

    def evaluate(self, org: str, name: str, *args: str) -> str:
        """Run a query on `org`'s own peer."""
        with self.gateway(org) as gateway:
            contract = gateway.get_network("ch1").get_contract(CHAINCODE)
            return contract.evaluate(name, args, target_organizations=[org]).decode()

    def put_secret(self, collection: str, key: str, value: str, endorsers: list[str] = MEMBERS) -> int:
        return self.submit("put_secret", [collection], {"key": key, "value": value}, endorsers)

    # ----- nodes and files ----------------------------------------------------------------

    def height(self, msp_id: str) -> int:
        listed = run(adminclient.list_channels(self.net.peer_admin(self.peers[msp_id])))
        return next(c.height for c in listed.channels if c.channel_id == "ch1")

    def reach(self, height: int, *orgs: str) -> None:
        """Wait until the peers of `orgs` (all by default) have `height` blocks."""
        for org in orgs or ORGS:
            eventually(lambda org=org: _at_least(self.height(org), height))

    def settle(self, *orgs: str) -> None:
        """Wait until the peers of `orgs` (all by default) have Org1's height, and Org1's
        gateway reaches them again (its connection to a peer that restarted may still be
        waiting to reconnect)."""
        self.reach(self.height("Org1MSP"), *orgs)
        for org in orgs or ORGS:
            with self.gateway("Org1MSP") as gateway:
                contract = gateway.get_network("ch1").get_contract(CHAINCODE)
                eventually(lambda: contract.evaluate("get_hash", ["secrets", "-"], target_organizations=[org]))

    def data_dir(self, msp_id: str) -> Path:
        (found,) = self.root.glob(f"peer0.org{msp_id[3]}.example.com-data")
        return found

    def block_files(self) -> list[Path]:
        folders = [self.root / "orderer-data", *(self.data_dir(org) for org in ORGS)]
        return [f for folder in folders for f in folder.rglob(BLOCK_FILE)]

    def ledger_db(self, msp_id: str) -> Path:
        (found,) = self.data_dir(msp_id).rglob("ch1/ledger.db")
        return found

    def rows(self, msp_id: str, query: str, *params: object) -> list[tuple[object, ...]]:
        """Rows of a read-only query on the peer's ledger database."""
        uri = f"file:{self.ledger_db(msp_id)}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as db:
            return db.execute(query, params).fetchall()

    def private_value(self, msp_id: str, collection: str, key: str) -> bytes | None:
        found = self.rows(msp_id, "SELECT value FROM state WHERE ns = ? AND key = ?",
                          f"{CHAINCODE}$$p{collection}", key.encode())
        return bytes(found[0][0]) if found else None  # type: ignore[arg-type]

    def hashed_value(self, msp_id: str, collection: str, key: str) -> bytes | None:
        found = self.rows(msp_id, "SELECT value FROM state WHERE ns = ? AND key = ?",
                          f"{CHAINCODE}$$h{collection}", sha256(key).hex().encode())
        return bytes(found[0][0]) if found else None  # type: ignore[arg-type]

    def stored_write_sets(self, msp_id: str) -> list[bytes]:
        """The chaincode's private write sets the peer keeps (each org keeps its own
        approvals of definitions too: private data of `_lifecycle`)."""
        rows = self.rows(msp_id, "SELECT rwset FROM private_writes WHERE ns = ?", CHAINCODE)
        return [bytes(r[0]) for r in rows]  # type: ignore[arg-type]

    def stop(self) -> None:
        for node in (*(p.node for p in self.peers.values()), self.net.orderer):
            node.kill()


def sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def unique(what: str) -> str:
    return f"{what}-{uuid.uuid4().hex}"


def _at_least(found: int, wanted: int) -> None:
    assert found >= wanted, f"height {found}, waiting for {wanted}"


def ensure_running(node: NodeProcess) -> None:
    """Start a node a test stopped (never a second process for one already running: it
    would share the port, and outlive the fixture)."""
    if node.proc is None or node.proc.poll() is not None:
        node.start()


def reads(pnet: PrivateNet, org: str, collection: str, key: str, expected: str) -> Callable[[], None]:
    def check() -> None:
        found = pnet.evaluate(org, "get_secret", collection, key)
        assert found == expected, f"{org} reads {found!r}, expected {expected!r}"
    return check


@pytest.fixture(scope="module")
def pnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateNet]:
    net = PrivateNet(tmp_path_factory.mktemp("private"))
    try:
        net.deploy()
        yield net
    finally:
        net.stop()


def test_members_read_the_value_and_the_other_org_only_its_hash(pnet: PrivateNet) -> None:
    key, value = unique("key"), unique("value")
    pnet.put_secret("secrets", key, value)
    for org in MEMBERS:
        eventually(reads(pnet, org, "secrets", key, value))
    pnet.settle()
    assert pnet.evaluate("Org3MSP", "get_hash", "secrets", key) == sha256(value).hex()
    assert pnet.evaluate("Org1MSP", "get_hash", "secrets", key) == sha256(value).hex()
    with pytest.raises(GatewayError, match="is not a member of collection secrets"):
        pnet.evaluate("Org3MSP", "get_secret", "secrets", key)
    assert key in json.loads(pnet.evaluate("Org2MSP", "list_keys", "secrets"))
    # Where the bytes are: values on members, hashes everywhere, nothing private on Org3.
    for org in MEMBERS:
        assert pnet.private_value(org, "secrets", key) == value.encode()
    for org in ORGS:
        assert pnet.hashed_value(org, "secrets", key) == sha256(value)
    assert pnet.rows("Org3MSP", "SELECT key FROM state WHERE ns LIKE ?", f"{CHAINCODE}$$p%") == []
    assert pnet.stored_write_sets("Org3MSP") == []
    org3_files = [f for f in pnet.data_dir("Org3MSP").rglob("*") if f.is_file()]
    assert org3_files and not [f for f in org3_files if value.encode() in f.read_bytes()]


def test_neither_the_value_nor_the_transient_input_reaches_a_block_file(pnet: PrivateNet) -> None:
    key, value = unique("key"), unique("value")
    unused = unique("transient-only")
    pnet.submit("put_secret", ["secrets"], {"key": key, "value": value, "note": unused})
    eventually(reads(pnet, "Org2MSP", "secrets", key, value))
    pnet.settle()
    files = pnet.block_files()
    assert len(files) == 1 + len(ORGS), files  # the orderer's and each peer's
    for file in files:
        data = file.read_bytes()
        assert sha256(value) in data, f"{file} lacks the value's hash: not the block of the write?"
        for secret in (value, key, unused):
            assert secret.encode() not in data, f"{secret} found in {file}"


def test_purge_removes_the_value_from_both_members(pnet: PrivateNet) -> None:
    key, value = unique("key"), unique("value")
    pnet.put_secret("secrets", key, value)
    for org in MEMBERS:
        eventually(reads(pnet, org, "secrets", key, value))
        assert any(value.encode() in ws for ws in pnet.stored_write_sets(org))
    pnet.submit("purge_secret", ["secrets", key])
    for org in MEMBERS:
        eventually(reads(pnet, org, "secrets", key, ""))
    pnet.settle()
    for org in MEMBERS:
        assert pnet.private_value(org, "secrets", key) is None
        # The committed write sets kept for other members' pulls forget it too.
        assert not any(value.encode() in ws for ws in pnet.stored_write_sets(org)), org
    for org in ORGS:
        assert pnet.evaluate(org, "get_hash", "secrets", key) == ""


def test_delete_removes_the_value_and_its_hash(pnet: PrivateNet) -> None:
    key, value = unique("key"), unique("value")
    pnet.put_secret("secrets", key, value)
    eventually(reads(pnet, "Org2MSP", "secrets", key, value))
    pnet.submit("delete_secret", ["secrets", key])
    for org in MEMBERS:
        eventually(reads(pnet, org, "secrets", key, ""))
    pnet.settle()
    assert pnet.evaluate("Org3MSP", "get_hash", "secrets", key) == ""


def test_a_value_expires_block_to_live_blocks_after_its_own(pnet: PrivateNet) -> None:
    key, value = unique("key"), unique("value")
    written = pnet.put_secret("shortlived", key, value)
    for org in MEMBERS:
        eventually(reads(pnet, org, "shortlived", key, value))
    last = written
    for n in range(2):  # blocks written+1 and written+2: still within blockToLive 2
        last = pnet.submit("put_public", [f"tick-{n}", key])
    assert last == written + 2
    pnet.settle()
    for org in MEMBERS:
        assert pnet.evaluate(org, "get_secret", "shortlived", key) == value
    last = pnet.submit("put_public", ["tick-2", key])
    assert last == written + 3
    for org in MEMBERS:
        eventually(reads(pnet, org, "shortlived", key, ""))
    pnet.settle()
    for org in MEMBERS:
        assert pnet.private_value(org, "shortlived", key) is None
        assert not any(value.encode() in ws for ws in pnet.stored_write_sets(org)), org
    # The block keeps the hash it was written with.
    (org1_blocks,) = [f for f in pnet.data_dir("Org1MSP").rglob(BLOCK_FILE)]
    assert sha256(value) in org1_blocks.read_bytes()


def test_too_few_member_peers_online_fails_the_endorsement(pnet: PrivateNet) -> None:
    org2 = pnet.peers["Org2MSP"].node
    org2.stop()
    try:
        key, value = unique("key"), unique("value")
        with pytest.raises(EndorseError, match="failed to distribute private collection secrets"):
            pnet.put_secret("secrets", key, value, endorsers=["Org1MSP"])
        assert pnet.evaluate("Org1MSP", "get_secret", "secrets", key) == ""
        # A refused endorsement keeps nothing: not even in the endorser's transient store.
        org1_files = [f for f in pnet.data_dir("Org1MSP").rglob("*") if f.is_file()]
        assert not [f for f in org1_files if value.encode() in f.read_bytes()]
    finally:
        ensure_running(org2)
    pnet.settle()


def test_a_member_peer_down_at_endorsement_gets_the_value_after_restarting(pnet: PrivateNet) -> None:
    org2 = pnet.peers["Org2MSP"].node
    org2.kill()
    key, value = unique("key"), unique("value")
    try:
        pnet.put_secret("relaxed", key, value, endorsers=["Org1MSP"])
        assert pnet.evaluate("Org1MSP", "get_secret", "relaxed", key) == value
    finally:
        ensure_running(org2)
    eventually(reads(pnet, "Org2MSP", "relaxed", key, value))
    assert pnet.private_value("Org2MSP", "relaxed", key) == value.encode()
    assert pnet.rows("Org2MSP", "SELECT block FROM private_missing") == []


def test_the_reconciler_fetches_what_no_member_could_give_at_commit(pnet: PrivateNet) -> None:
    org1, org2 = pnet.peers["Org1MSP"].node, pnet.peers["Org2MSP"].node
    key, value = unique("key"), unique("value")
    org2.kill()
    try:
        written = pnet.put_secret("relaxed", key, value, endorsers=["Org1MSP"])
        org1.kill()  # the only other member: Org2 commits the block without the value
        org2.start()
        eventually(lambda: _at_least(pnet.height("Org2MSP"), written + 1))
        with pytest.raises(GatewayError, match="private data matching public hash version is not available"):
            pnet.evaluate("Org2MSP", "get_secret", "relaxed", key)  # Fabric's words: the hash is there
        assert pnet.rows("Org2MSP", "SELECT block, coll FROM private_missing") == [(written, "relaxed")]
    finally:
        for node in (org1, org2):
            ensure_running(node)
    # The reconciler asks again every 10 seconds.
    eventually(reads(pnet, "Org2MSP", "relaxed", key, value), timeout=30)
    assert pnet.private_value("Org2MSP", "relaxed", key) == value.encode()
    assert pnet.rows("Org2MSP", "SELECT block FROM private_missing") == []
    pnet.settle()


def test_a_member_that_missed_a_write_set_gets_what_a_purge_left_of_it(pnet: PrivateNet) -> None:
    """Org2 misses a write set of two keys; one is purged before Org2 is back. Org1 now
    keeps only the other key's write, which no longer matches the block's hash of the
    whole set: Org2 checks it key by key against the block's hashes and keeps it."""
    org2 = pnet.peers["Org2MSP"].node
    kept, kept_value, purged, purged_value = unique("key"), unique("value"), unique("key"), unique("value")
    org2.kill()
    try:
        pnet.submit("put_secret_pair", ["relaxed"],
                    {"key": purged, "value": purged_value, "key2": kept, "value2": kept_value}, ["Org1MSP"])
        pnet.submit("purge_secret", ["relaxed", purged], endorsers=["Org1MSP"])
    finally:
        ensure_running(org2)
    eventually(reads(pnet, "Org2MSP", "relaxed", kept, kept_value))
    assert pnet.evaluate("Org2MSP", "get_secret", "relaxed", purged) == ""
    assert pnet.rows("Org2MSP", "SELECT block FROM private_missing") == []
    assert not any(purged_value.encode() in ws for ws in pnet.stored_write_sets("Org2MSP"))
    pnet.settle()


def test_deliver_with_private_data_gives_each_org_its_collections(pnet: PrivateNet) -> None:
    key, value = unique("key"), unique("value")
    written = pnet.put_secret("secrets", key, value)
    pnet.settle()

    def first(org: str) -> events_pb2.BlockAndPrivateData:
        """Block `written` from Org1's peer, asked for by a user of `org`."""
        with connect(pnet.peers["Org1MSP"].address, signer=pnet.net.identity(org, "User1")) as gateway:
            events = gateway.get_network("ch1").get_block_and_private_data_events(start_block=written, timeout=10)
            with closing(events):
                return next(iter(events))

    member = first("Org2MSP")
    assert member.block.header.number == written
    (tx,) = member.private_data_map
    (ns,) = member.private_data_map[tx].ns_pvt_rwset
    (coll,) = ns.collection_pvt_rwset
    assert (ns.namespace, coll.collection_name) == (CHAINCODE, "secrets")
    writes = kv_rwset_pb2.KVRWSet.FromString(coll.rwset).writes
    assert [(w.key, w.value) for w in writes] == [(key, value.encode())]
    outsider = first("Org3MSP")
    assert outsider.block.header.number == written
    assert dict(outsider.private_data_map) == {}


def test_a_private_write_without_the_collections_endorsement_policy_is_invalid(pnet: PrivateNet) -> None:
    key, value = unique("key"), unique("value")
    with pytest.raises(CommitError) as failed:
        pnet.put_secret("guarded", key, value, endorsers=["Org1MSP"])  # the chaincode's policy alone
    assert failed.value.code_name == "ENDORSEMENT_POLICY_FAILURE"
    assert pnet.evaluate("Org1MSP", "get_secret", "guarded", key) == ""
    # Left to plan, Org1's gateway finds that the collection needs Org2's peer.
    with pnet.gateway("Org1MSP") as gateway:
        contract = gateway.get_network("ch1").get_contract(CHAINCODE)
        contract.submit("put_secret", ["guarded"], {"key": key, "value": value})
    for org in MEMBERS:
        eventually(reads(pnet, org, "guarded", key, value))


def test_member_only_read_and_write_refuse_clients_of_other_orgs(pnet: PrivateNet) -> None:
    key, value = unique("key"), unique("value")
    pnet.put_secret("closed", key, value)
    eventually(reads(pnet, "Org1MSP", "closed", key, value))
    with connect(pnet.peers["Org1MSP"].address, signer=pnet.net.identity("Org3MSP", "User1")) as gateway:
        contract = gateway.get_network("ch1").get_contract(CHAINCODE)
        with pytest.raises(GatewayError, match="tx creator does not have read access permission"):
            contract.evaluate("get_secret", ["closed", key], target_organizations=["Org1MSP"])
        with pytest.raises(EndorseError, match="tx creator does not have write access permission"):
            contract.submit("put_secret", ["closed"], {"key": key, "value": "other"},
                            endorsing_organizations=["Org1MSP"])
    assert pnet.evaluate("Org1MSP", "get_secret", "closed", key) == value


def test_a_rich_query_over_a_collection_on_a_member_peer(pnet: PrivateNet) -> None:
    owner = unique("owner")
    keys = [unique("key") for _ in range(3)]
    for key, who in zip(keys, (owner, owner, "someone else")):
        pnet.put_secret("secrets", key, json.dumps({"owner": who}))
    eventually(reads(pnet, "Org2MSP", "secrets", keys[2], json.dumps({"owner": "someone else"})))
    found = json.loads(pnet.evaluate("Org2MSP", "query_secrets", "secrets", json.dumps({"selector": {"owner": owner}})))
    assert sorted(found) == sorted(keys[:2])
