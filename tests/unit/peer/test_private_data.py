"""Private data through simulation, validation and commit, on one peer's ledger.

Transactions are simulated with the real TxSimulator (so their read-write sets and
private write sets are what an endorser produces), signed and endorsed by real
identities, validated by TxValidator and committed by PeerLedger, with the private write
sets handed over as the channel hands them over from its transient store. Channel ch1
has Org1MSP and Org2MSP; collection `secrets` has both as members, `mine` only Org2,
`short` both with blockToLive 2, and `guarded` has its own endorsement policy (Org2's peer).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import collection_pb2, transaction_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.channelconfig.genesis import config_from_block
from consortia.lifecycle.collections import (
    find_config,
    member_msp_ids,
    parse_collections_json,
)
from consortia.msp.signing import SigningIdentity
from consortia.policy import (
    SignatureRule,
    parse_signature_policy,
    signature_policy_bytes,
)
from consortia.policy.paths import APPLICATION_ENDORSEMENT
from consortia.protoutil import block as blocks
from consortia.protoutil.envelope import unpack_envelope
from peer.committer.validator import TxValidator, ValidationResult
from peer.endorser.simulator import SimulationError, TxSimulator
from peer.ledger.kvledger import DB_FILE, PeerLedger
from peer.ledger.pvtcommit import Received
from peer.ledger.pvtdata import (
    CollPvtRWSet,
    encode_pvt,
    hashed_ns,
    key_hash,
    parse_pvt,
    private_ns,
)
from peer.ledger.queries import LedgerQueries
from peer.ledger.rwset import VALIDATION_PARAMETER, parse_rwset
from peer.ledger.statedb import StateReader
from tests.support import testnet
from tests.support.testnet import TestNetwork
from tests.support.transactions import endorser_transaction

pytestmark = pytest.mark.unit

Code = transaction_pb2.TxValidationCode
CC = "cc"
COLLECTIONS = parse_collections_json(json.dumps([
    {"name": "secrets", "policy": "OR('Org1MSP.member', 'Org2MSP.member')", "requiredPeerCount": 0,
     "maxPeerCount": 1},
    {"name": "mine", "policy": "OR('Org2MSP.member')", "requiredPeerCount": 0, "maxPeerCount": 1},
    {"name": "short", "policy": "OR('Org1MSP.member', 'Org2MSP.member')", "requiredPeerCount": 0,
     "maxPeerCount": 1, "blockToLive": 2},
    {"name": "guarded", "policy": "OR('Org1MSP.member', 'Org2MSP.member')", "requiredPeerCount": 0,
     "maxPeerCount": 1, "endorsementPolicy": {"signaturePolicy": "OR('Org2MSP.peer')"}},
]))


class Definitions:
    """The chaincode `cc` with COLLECTIONS, endorsed by MAJORITY Endorsement by default."""

    def policy_for(self, namespace: str) -> SignatureRule | str:
        return APPLICATION_ENDORSEMENT

    def collection(self, namespace: str, name: str) -> collection_pb2.StaticCollectionConfig | None:
        return find_config(namespace, COLLECTIONS if namespace == CC else None, name)


class Rules:
    """The ledger's view: what a peer of `msp_id` keeps."""

    def __init__(self, msp_id: str) -> None:
        self.msp_id = msp_id

    def keeps(self, state: StateReader, namespace: str, collection: str) -> bool:
        config = Definitions().collection(namespace, collection)
        return config is not None and self.msp_id in member_msp_ids(config)

    def block_to_live(self, state: StateReader, namespace: str, collection: str) -> int:
        config = Definitions().collection(namespace, collection)
        return 0 if config is None else config.block_to_live


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> TestNetwork:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(testnet, "free_port_block", lambda size: 40000)
        return TestNetwork(tmp_path_factory.mktemp("pvt-net"))


class Peer:
    """One peer's ledger of ch1 (its org decides what it keeps) and its validator."""

    def __init__(self, folder: Path, net: TestNetwork, msp_id: str) -> None:
        self.folder = folder
        self.net = net
        self.msp_id = msp_id
        self.ledger = PeerLedger(folder, Rules(msp_id))
        genesis = common_pb2.Block.FromString(net.genesis("ch1"))
        self.bundle = ChannelBundle.from_config(config_from_block(genesis))
        self.validator = TxValidator(self.bundle, self.ledger.state(), Definitions())
        self.previous = b""
        self.commit(genesis)

    def simulate(self) -> TxSimulator:
        return TxSimulator(self.ledger.state(), LedgerQueries(self.ledger.state(), self.ledger.blocks))

    def commit(self, block: common_pb2.Block, received: Received | None = None) -> ValidationResult:
        result = self.validator.validate(block)
        valid = [(t.index, t.rwset) for t in result.txs if result.codes[t.index] == 0 and t.rwset is not None]
        self.ledger.commit(block, result.codes, result.updates, result.history, result.tx_ids(), valid, received)
        self.previous = blocks.header_hash(block.header)
        return result

    def block(self, *envelopes: common_pb2.Envelope) -> common_pb2.Block:
        block = blocks.new_block(self.ledger.height, self.previous, [e.SerializeToString() for e in envelopes])
        blocks.sign_block(block, self.net.identity("OrdererMSP", "orderer0"), last_config_index=0)
        return block

    def value(self, collection: str, key: str) -> bytes | None:
        found = self.ledger.state().get(private_ns(CC, collection), key)
        return None if found is None else found.value

    def value_hash(self, collection: str, key: str) -> bytes | None:
        found = self.ledger.state().get(hashed_ns(CC, collection), key_hash(key).hex())
        return None if found is None else found.value


@pytest.fixture
def peers(tmp_path: Path, net: TestNetwork) -> Iterator[tuple[Peer, Peer]]:
    """A peer of Org1 and one of Org2, fed the same blocks."""
    made = (Peer(tmp_path / "org1", net, "Org1MSP"), Peer(tmp_path / "org2", net, "Org2MSP"))
    yield made
    for peer in made:
        peer.ledger.close()


def endorsers(net: TestNetwork, *orgs: str) -> list[SigningIdentity]:
    return [net.identity(org, "peer0") for org in orgs]


def transaction(net: TestNetwork, sim: TxSimulator, *orgs: str) -> tuple[common_pb2.Envelope, Received]:
    """A transaction of what `sim` did, endorsed by peers of `orgs` (default both), and the
    private write sets a member peer would have at commit (position 0 in its block)."""
    envelope = endorser_transaction("ch1", CC, net.identity("Org1MSP", "User1"),
                                    endorsers(net, *(orgs or ("Org1MSP", "Org2MSP"))), results=sim.results())
    return envelope, {(0, p.namespace, p.collection): p.rwset for p in sim.private_results()}


def commit_both(peers: tuple[Peer, Peer], envelope: common_pb2.Envelope, received: Received) -> list[str]:
    codes = []
    for peer in peers:
        keeps = {k: v for k, v in received.items() if Rules(peer.msp_id).keeps(peer.ledger.state(), CC, k[2])}
        codes.append(Code.Name(peer.commit(peer.block(envelope), keeps).codes[0]))
    return codes


def write(peers: tuple[Peer, Peer], collection: str, key: str, value: bytes, *orgs: str) -> list[str]:
    sim = peers[0].simulate()
    sim.set_private(CC, collection, key, value)
    return commit_both(peers, *transaction(peers[0].net, sim, *orgs))


def test_only_hashes_enter_the_read_write_set(peers: tuple[Peer, Peer]) -> None:
    sim = peers[0].simulate()
    sim.set_private(CC, "secrets", "card", b"4111-1111")
    results = sim.results()
    assert b"4111-1111" not in results and b"card" not in results
    (ns,) = parse_rwset(results).namespaces
    (coll,) = ns.collections
    assert coll.collection == "secrets"
    assert coll.writes[0].key_hash == hashlib.sha256(b"card").digest()
    assert coll.writes[0].value_hash == hashlib.sha256(b"4111-1111").digest()
    (pvt,) = sim.private_results()
    assert coll.pvt_rwset_hash == hashlib.sha256(pvt.rwset).digest()
    assert pvt.state_writes().writes[0].value == b"4111-1111"


def test_members_keep_the_value_and_everyone_the_hash(peers: tuple[Peer, Peer]) -> None:
    assert write(peers, "mine", "k", b"secret") == ["VALID", "VALID"]
    org1, org2 = peers
    assert org2.value("mine", "k") == b"secret"
    assert org1.value("mine", "k") is None  # Org1 is not a member of `mine`
    assert org1.value_hash("mine", "k") == org2.value_hash("mine", "k") == hashlib.sha256(b"secret").digest()
    # Both peers agree on what they committed although only one holds the value.
    assert org1.ledger.last_commit_hash() == org2.ledger.last_commit_hash()
    sim = org2.simulate()
    assert sim.get_private(CC, "mine", "k") == b"secret"
    assert org1.simulate().get_private_hash(CC, "mine", "k") == hashlib.sha256(b"secret").digest()
    with pytest.raises(SimulationError, match="private data matching public hash version is not available"):
        org1.simulate().get_private(CC, "mine", "k")


def test_a_member_without_the_write_set_records_it_missing_and_fills_it_later(peers: tuple[Peer, Peer]) -> None:
    org1, org2 = peers
    sim = org1.simulate()
    sim.set_private(CC, "secrets", "late", b"v1")
    envelope, received = transaction(org1.net, sim)
    org1.commit(org1.block(envelope), received)
    org2.commit(org2.block(envelope), {})  # missed dissemination
    assert org2.value("secrets", "late") is None
    (missing,) = org2.ledger.db.missing_private()
    assert (missing.block, missing.tx, missing.collection) == (1, 0, "secrets")
    (rwset,) = received.values()
    assert org2.ledger.db.fill_missing(missing, rwset) == 1
    assert org2.value("secrets", "late") == b"v1"
    assert org2.ledger.db.missing_private() == []
    assert org2.ledger.db.private_write_sets(1, 0) == {(CC, "secrets"): rwset}


def test_a_changed_private_key_is_an_mvcc_conflict(peers: tuple[Peer, Peer]) -> None:
    assert write(peers, "secrets", "k", b"1") == ["VALID", "VALID"]
    org1 = peers[0]
    stale = org1.simulate()
    assert stale.get_private(CC, "secrets", "k") == b"1"
    stale.set_private(CC, "secrets", "k", b"stale")
    stale_tx = transaction(org1.net, stale)
    assert write(peers, "secrets", "k", b"2") == ["VALID", "VALID"]
    result = org1.commit(org1.block(stale_tx[0]), stale_tx[1])
    assert Code.Name(result.codes[0]) == "MVCC_READ_CONFLICT"
    assert org1.value("secrets", "k") == b"2"


def test_a_collection_endorsement_policy_replaces_the_chaincode_policy(peers: tuple[Peer, Peer]) -> None:
    # `guarded` needs Org2's peer alone; the chaincode's policy (both orgs) is not needed.
    assert write(peers, "guarded", "g", b"v", "Org2MSP") == ["VALID", "VALID"]
    org1 = peers[0]
    sim = org1.simulate()
    sim.set_private(CC, "guarded", "g", b"w")
    envelope, received = transaction(org1.net, sim, "Org1MSP")
    result = org1.commit(org1.block(envelope), received)
    assert Code.Name(result.codes[0]) == "ENDORSEMENT_POLICY_FAILURE"
    assert "collection guarded" in result.txs[0].reason
    assert org1.value("guarded", "g") == b"v"


def test_a_key_level_policy_on_a_private_key(peers: tuple[Peer, Peer]) -> None:
    org1 = peers[0]
    sim = org1.simulate()
    sim.set_private(CC, "secrets", "kl", b"v")
    sim.set_private_metadata(CC, "secrets", "kl", VALIDATION_PARAMETER,
                             signature_policy_bytes(parse_signature_policy("'Org1MSP.peer'")))
    assert commit_both(peers, *transaction(org1.net, sim)) == ["VALID", "VALID"]
    assert VALIDATION_PARAMETER in org1.simulate().get_private_metadata(CC, "secrets", "kl")
    sim = org1.simulate()
    sim.set_private(CC, "secrets", "kl", b"w")
    envelope, received = transaction(org1.net, sim, "Org2MSP")  # not Org1's peer: refused
    result = org1.commit(org1.block(envelope), received)
    assert Code.Name(result.codes[0]) == "ENDORSEMENT_POLICY_FAILURE"
    assert "key-level policy" in result.txs[0].reason


def test_block_to_live_expires_values_and_hashes_after_n_blocks(peers: tuple[Peer, Peer]) -> None:
    assert write(peers, "short", "s", b"brief") == ["VALID", "VALID"]  # block 1
    org1 = peers[0]
    for n in (2, 3):
        assert write(peers, "secrets", f"filler{n}", b"x") == ["VALID", "VALID"]
        assert org1.value("short", "s") == b"brief", f"expired early, at block {n}"
    assert write(peers, "secrets", "filler4", b"x") == ["VALID", "VALID"]  # block 4 = 1 + 2 + 1
    for peer in peers:
        assert peer.value("short", "s") is None
        assert peer.value_hash("short", "s") is None
        assert peer.ledger.db.private_write_sets(1, 0) == {}
    # The block still carries the hash.
    assert hashlib.sha256(b"brief").digest() in org1.ledger.blocks.get(1).data.data[0]


def test_purge_removes_current_and_past_values_but_not_hashes_in_blocks(peers: tuple[Peer, Peer]) -> None:
    assert write(peers, "secrets", "p", b"old") == ["VALID", "VALID"]  # block 1
    assert write(peers, "secrets", "p", b"new") == ["VALID", "VALID"]  # block 2
    org1 = peers[0]
    sim = org1.simulate()
    sim.purge_private(CC, "secrets", "p")
    (coll,) = parse_rwset(sim.results()).namespaces[0].collections
    assert coll.writes[0].is_purge
    assert commit_both(peers, *transaction(org1.net, sim)) == ["VALID", "VALID"]
    for peer in peers:
        assert peer.value("secrets", "p") is None
        for number in (1, 2):
            for rwset in peer.ledger.db.private_write_sets(number, 0).values():
                assert b"old" not in rwset and b"new" not in rwset
    assert hashlib.sha256(b"old").digest() in org1.ledger.blocks.get(1).data.data[0]


def test_replay_after_a_crash_restores_private_values(tmp_path: Path, net: TestNetwork) -> None:
    peer = Peer(tmp_path / "org2", net, "Org2MSP")
    sim = peer.simulate()
    sim.set_private(CC, "mine", "r", b"kept")
    envelope, received = transaction(net, sim)
    block = peer.block(envelope)
    result = peer.validator.validate(block)
    valid = [(t.index, t.rwset) for t in result.txs if t.rwset is not None]

    def crash(*_: object) -> None:
        raise OSError("disk full")

    peer.ledger.db.apply = crash  # type: ignore[method-assign]  # the block reaches the file, not the state
    with pytest.raises(OSError):
        peer.ledger.commit(block, result.codes, result.updates, result.history, result.tx_ids(), valid, received)
    peer.ledger.close()
    reopened = PeerLedger(tmp_path / "org2", Rules("Org2MSP"))
    try:
        assert reopened.height == 2
        assert reopened.state().get(private_ns(CC, "mine"), "r").value == b"kept"  # type: ignore[union-attr]
    finally:
        reopened.close()


def test_a_rebuilt_database_records_the_private_data_it_lost_and_says_so(
        tmp_path: Path, net: TestNetwork, caplog: pytest.LogCaptureFixture) -> None:
    peer = Peer(tmp_path / "org2", net, "Org2MSP")
    sim = peer.simulate()
    sim.set_private(CC, "mine", "r", b"only here")
    envelope, received = transaction(net, sim)
    assert Code.Name(peer.commit(peer.block(envelope), received).codes[0]) == "VALID"
    peer.ledger.close()
    (tmp_path / "org2" / DB_FILE).unlink()  # what an operator may do to rebuild the state

    with caplog.at_level(logging.WARNING, logger="peer.ledger.kvledger"):
        rebuilt = PeerLedger(tmp_path / "org2", Rules("Org2MSP"))
    try:
        assert rebuilt.state().get(private_ns(CC, "mine"), "r") is None
        (missing,) = rebuilt.db.missing_private()
        assert (missing.block, missing.tx, missing.collection) == (1, 0, "mine")  # the reconciler asks for it
        assert "1 private write set(s) of the replayed blocks 0..1 are missing here" in caplog.text
    finally:
        rebuilt.close()


def test_the_private_write_set_round_trips_and_names_its_collection(peers: tuple[Peer, Peer]) -> None:
    sim = peers[0].simulate()
    sim.set_private(CC, "secrets", "a", b"1")
    sim.delete_private(CC, "mine", "b")
    sets = sim.private_results()
    assert [(s.namespace, s.collection) for s in sets] == [(CC, "mine"), (CC, "secrets")]
    assert parse_pvt(encode_pvt(sets)) == sets
    assert isinstance(sets[0], CollPvtRWSet)
    assert unpack_envelope(transaction(peers[0].net, sim)[0].SerializeToString()).tx_id
