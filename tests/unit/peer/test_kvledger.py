"""The peer ledger stores each validated block (with its validation codes and commit hash)
before committing its updates to SQLite, so a crash at any point is repaired on opening by
replaying the blocks past the savepoint: the state always equals what replaying the whole
chain from the block file gives. The commit hash chains every block's outcome, so two
peers that committed the same blocks the same way have the same hash.
"""

from __future__ import annotations

import gc
import shutil
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import transaction_pb2

from consortia.protoutil import block as blocks
from consortia.protoutil.envelope import unpack_envelope
from peer.channel import PeerChannel
from peer.ledger.kvledger import DB_FILE, LedgerError, PeerLedger, commit_hash
from peer.ledger.rwset import Version
from peer.ledger.statedb import StateUpdate, VersionedValue, encode_metadata
from peer.ledger.transient import TRANSIENT_FILE
from tests.support.chain import Chain, Channel, commit, fresh, make_channel, validate
from tests.support.transactions import NsWrites

pytestmark = pytest.mark.unit

Code = transaction_pb2.TxValidationCode
TABLES = ("state", "history", "txids", "savepoint")


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Channel:
    return make_channel(tmp_path_factory.mktemp("ch1"))


@pytest.fixture(scope="module")
def chain(channel: Channel) -> Chain:
    """Blocks 0..4 exercising writes, deletes, metadata, invalid and duplicate transactions.

    Validation codes depend on the state, so they are the same for every ledger that
    commits these blocks in order.
    """
    made = Chain(channel)
    first = channel.writes({"a": b"a1", "b": b"b1", "c": b"c1"})
    made.next_block([
        first,
        channel.tx({"cc": NsWrites(writes={"d": b"d1", "m": b"m1"}, metadata={"d": {"note": b"d"}, "m": {"note": b"m"}})}),
        channel.tx({"cc": NsWrites(writes={"x": b"never"})}, endorsers=[channel.peers[0]]),  # policy failure
        channel.tx({"other": NsWrites(writes={"a": b"other-a"})}, chaincode="other"),
    ])
    made.next_block([
        channel.writes({"a": b"a2"}),
        channel.writes({"b": None}),
        first,  # duplicate transaction id
        channel.tx({"cc": NsWrites(reads={"c": (0, 0)}, writes={"c": b"stale"})}),  # MVCC conflict
        channel.writes({"e": b"e2"}),
    ])
    made.next_block([
        channel.tx({"cc": NsWrites(metadata={"a": {"note": b"a"}})}),  # metadata only, existing key
        channel.tx({"cc": NsWrites(metadata={"ghost": {"note": b"g"}})}),  # metadata of a missing key
        channel.tx({"cc": NsWrites(writes={"f": b"f3"}, metadata={"f": {"note": b"f"}})}),  # write and metadata
        channel.tx({"cc": NsWrites(writes={"e": None}, metadata={"e": {"note": b"e"}})}),  # delete and metadata
        channel.tx({"cc": NsWrites(metadata={"d": {}})}),  # clears d's metadata
        channel.writes({"m": b"m3"}),  # value only: m keeps its metadata
    ])
    made.next_block([
        channel.writes({"\x00comp\x00k\x00": b"composite", "a": b"a4"}),
        channel.tx({"cc": NsWrites(reads={"a": (1, 0)}, writes={"g": b"g4"})}),  # a changed in block 3: conflict
    ])
    return made


def copies(chain: Chain, upto: int | None = None) -> list[common_pb2.Block]:
    return [fresh(b) for b in chain.made[: upto if upto is not None else len(chain.made)]]


def feed(channel: Channel, ledger: PeerLedger, made: list[common_pb2.Block]) -> list[bytes]:
    digests = []
    for block in made:
        result = validate(channel, ledger, block)
        digests.append(ledger.commit(block, result.codes, result.updates, result.history))
    return digests


def tables(folder: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the ledger database's tables, read over a connection of our own."""
    connection = sqlite3.connect(f"file:{folder / DB_FILE}?mode=ro", uri=True)
    try:
        return {name: list(connection.execute(f"SELECT * FROM {name} ORDER BY 1, 2, 3")) for name in TABLES}
    finally:
        connection.close()


@pytest.fixture
def reference(channel: Channel, chain: Chain, tmp_path: Path) -> Iterator[tuple[dict[str, list[tuple[object, ...]]], list[bytes]]]:
    """The tables and commit hashes of a ledger that committed the whole chain without trouble."""
    ledger = PeerLedger(tmp_path / "reference")
    digests = feed(channel, ledger, copies(chain))
    ledger.close()
    yield tables(tmp_path / "reference"), digests


def codes_of(ledger: PeerLedger, number: int) -> list[int]:
    return list(blocks.transactions_filter(ledger.blocks.get(number)))


# ----- what commit stores --------------------------------------------------------------------


def test_the_chain_has_the_intended_validation_codes(channel: Channel, chain: Chain, tmp_path: Path) -> None:
    ledger = PeerLedger(tmp_path / "l")
    try:
        feed(channel, ledger, copies(chain))
        assert codes_of(ledger, 0) == [Code.VALID]
        assert codes_of(ledger, 1) == [Code.VALID, Code.VALID, Code.ENDORSEMENT_POLICY_FAILURE, Code.VALID]
        assert codes_of(ledger, 2) == [Code.VALID, Code.VALID, Code.DUPLICATE_TXID, Code.MVCC_READ_CONFLICT, Code.VALID]
        assert codes_of(ledger, 3) == [Code.VALID] * 6
        assert codes_of(ledger, 4) == [Code.VALID, Code.MVCC_READ_CONFLICT]
    finally:
        ledger.close()


def test_commit_stores_transactions_filter_and_commit_hash(channel: Channel, chain: Chain, tmp_path: Path) -> None:
    ledger = PeerLedger(tmp_path / "l")
    try:
        feed(channel, ledger, copies(chain, 1))
        block = fresh(chain.made[1])
        assert blocks.transactions_filter(block) == b"" and blocks.commit_hash_of(block) == b""
        result = validate(channel, ledger, block)
        digest = ledger.commit(block, result.codes, result.updates, result.history)

        stored = ledger.blocks.get(1)
        assert blocks.transactions_filter(stored) == bytes([Code.VALID, Code.VALID, Code.ENDORSEMENT_POLICY_FAILURE,
                                                            Code.VALID])
        assert len(digest) == 32
        assert blocks.commit_hash_of(stored) == digest == ledger.last_commit_hash()
        assert ledger.state().savepoint() == (2, digest)
        assert ledger.height == 2
        # The block given is the block stored: header, data and orderer signature unchanged.
        assert stored == block
        assert stored.header == chain.made[1].header and stored.data == chain.made[1].data
        assert stored.metadata.metadata[blocks.SIGNATURES] == chain.made[1].metadata.metadata[blocks.SIGNATURES]
    finally:
        ledger.close()


def test_commit_applies_updates_history_and_txids(channel: Channel, chain: Chain, tmp_path: Path) -> None:
    ledger = PeerLedger(tmp_path / "l")
    try:
        feed(channel, ledger, copies(chain, 3))
        state = ledger.state()
        assert state.get("cc", "a") == VersionedValue(b"a2", Version(2, 0), None)
        assert state.get("cc", "b") is None
        assert state.get("cc", "c") == VersionedValue(b"c1", Version(1, 0), None)
        assert state.get("cc", "x") is None  # its transaction failed the policy
        assert state.get("other", "a") == VersionedValue(b"other-a", Version(1, 3), None)
        assert state.history("cc", "b") == [Version(2, 1), Version(1, 0)]
        first = chain.made[1].data.data[0]
        duplicate = chain.made[2].data.data[2]
        assert first == duplicate
        assert state.tx_location(_ids(chain.made[1])[0]) == (1, 0, Code.VALID)  # not (2, 2, DUPLICATE_TXID)
        assert state.tx_location(_ids(chain.made[1])[2]) == (1, 2, Code.ENDORSEMENT_POLICY_FAILURE)
    finally:
        ledger.close()


def _ids(block: common_pb2.Block) -> list[str]:
    return [unpack_envelope(raw).tx_id for raw in block.data.data]


def test_commit_of_a_wrong_block_number_is_refused(channel: Channel, chain: Chain, tmp_path: Path) -> None:
    ledger = PeerLedger(tmp_path / "l")
    try:
        feed(channel, ledger, copies(chain, 2))
        before = (ledger.height, ledger.last_commit_hash(), (tmp_path / "l" / "blocks.dat").read_bytes())
        for number in (3, 1, 0):
            block = fresh(chain.made[number])
            with pytest.raises(LedgerError, match=f"expected block 2, was given block {number}"):
                ledger.commit(block, [Code.VALID] * len(block.data.data), {}, [])
            assert blocks.transactions_filter(block) == b""  # refused before anything was done
        assert (ledger.height, ledger.last_commit_hash(), (tmp_path / "l" / "blocks.dat").read_bytes()) == before
        assert ledger.state().savepoint()[0] == 2
    finally:
        ledger.close()


# ----- the commit hash -------------------------------------------------------------------------


def test_commit_hash_chains_from_the_previous_one(channel: Channel, chain: Chain, tmp_path: Path) -> None:
    ledger = PeerLedger(tmp_path / "l")
    try:
        previous = b""
        for block in copies(chain):
            result = validate(channel, ledger, block)
            expected = commit_hash(previous, int(block.header.number), bytes(result.codes), result.updates)
            assert ledger.commit(block, result.codes, result.updates, result.history) == expected
            previous = expected
        stored = [blocks.commit_hash_of(ledger.blocks.get(n)) for n in range(ledger.height)]
        assert len(set(stored)) == len(stored)
        assert stored[-1] == previous == ledger.last_commit_hash()
    finally:
        ledger.close()


def test_two_ledgers_fed_the_same_blocks_agree(channel: Channel, chain: Chain, tmp_path: Path) -> None:
    one, two = PeerLedger(tmp_path / "one"), PeerLedger(tmp_path / "two")
    try:
        assert feed(channel, one, copies(chain)) == feed(channel, two, copies(chain))
        assert [one.blocks.read_bytes(n) for n in range(one.height)] == [two.blocks.read_bytes(n) for n in range(two.height)]
    finally:
        one.close()
        two.close()
    assert tables(tmp_path / "one") == tables(tmp_path / "two")


def test_a_difference_in_one_block_carries_into_every_later_hash(channel: Channel, chain: Chain, tmp_path: Path) -> None:
    one, two = PeerLedger(tmp_path / "one"), PeerLedger(tmp_path / "two")
    try:
        made_one, made_two = copies(chain, 3), copies(chain, 3)
        digests_one = feed(channel, one, made_one)
        feed(channel, two, made_two[:1])
        result = validate(channel, two, made_two[1])
        changed = dict(result.updates)
        changed[("cc", "c")] = StateUpdate(b"c1-changed", changed[("cc", "c")].version)
        digests_two = [two.last_commit_hash(), two.commit(made_two[1], result.codes, changed, result.history)]
        digests_two += feed(channel, two, made_two[2:])
        assert digests_two[0] == digests_one[0]
        assert digests_two[1] != digests_one[1]
        # Block 2 commits the same updates on both ledgers, yet its hash differs: it chains.
        assert validate(channel, one, fresh(chain.made[3])).codes == validate(channel, two, fresh(chain.made[3])).codes
        assert digests_two[2] != digests_one[2]
    finally:
        one.close()
        two.close()


UPDATES = {
    ("cc", "a"): StateUpdate(b"1", Version(5, 0)),
    ("cc", "b"): StateUpdate(None, Version(5, 1)),
    ("other", "a"): StateUpdate(b"2", Version(5, 2), encode_metadata({"note": b"n"})),
}
CODES = bytes([Code.VALID, Code.VALID, Code.VALID, Code.MVCC_READ_CONFLICT])


@pytest.mark.parametrize(
    "change",
    [
        {("cc", "a"): StateUpdate(b"2", Version(5, 0))},  # another value
        {("cc", "a"): StateUpdate(b"", Version(5, 0))},  # empty value
        {("cc", "a"): StateUpdate(None, Version(5, 0))},  # a delete
        {("cc", "b"): StateUpdate(b"", Version(5, 1))},  # empty value instead of a delete
        {("cc", "a"): StateUpdate(b"1", Version(5, 0), encode_metadata({"note": b"n"}))},  # metadata added
        {("other", "a"): StateUpdate(b"2", Version(5, 2), encode_metadata({"note": b"o"}))},  # metadata changed
        {("cc", "c"): StateUpdate(b"3", Version(5, 3))},  # one more key
    ],
    ids=["value", "empty-value", "delete", "empty-not-delete", "metadata-added", "metadata-changed", "extra-key"],
)
def test_commit_hash_changes_when_an_update_changes(change: dict[tuple[str, str], StateUpdate]) -> None:
    base = commit_hash(b"prev", 5, CODES, UPDATES)
    assert commit_hash(b"prev", 5, CODES, {**UPDATES, **change}) != base


def test_commit_hash_changes_with_key_namespace_codes_number_and_previous() -> None:
    base = commit_hash(b"prev", 5, CODES, UPDATES)
    assert commit_hash(b"prev", 5, CODES, {k: v for k, v in UPDATES.items() if k != ("cc", "b")}) != base
    renamed_key = {(k if k != ("cc", "a") else ("cc", "a2")): v for k, v in UPDATES.items()}
    assert commit_hash(b"prev", 5, CODES, renamed_key) != base
    renamed_ns = {("cc2" if k[0] == "cc" else k[0], k[1]): v for k, v in UPDATES.items()}
    assert commit_hash(b"prev", 5, CODES, renamed_ns) != base
    assert commit_hash(b"prev", 5, bytes([Code.VALID] * 4), UPDATES) != base
    assert commit_hash(b"prev", 6, CODES, UPDATES) != base
    assert commit_hash(b"other", 5, CODES, UPDATES) != base
    # Boundaries between fields are unambiguous: moving bytes between namespace and key changes it.
    assert commit_hash(b"", 0, b"", {("ab", "c"): StateUpdate(b"v", Version(0, 0))}) != commit_hash(
        b"", 0, b"", {("a", "bc"): StateUpdate(b"v", Version(0, 0))})


def test_commit_hash_does_not_depend_on_the_order_updates_were_collected() -> None:
    reordered = dict(reversed(list(UPDATES.items())))
    assert list(reordered) != list(UPDATES)
    assert commit_hash(b"prev", 5, CODES, reordered) == commit_hash(b"prev", 5, CODES, UPDATES)


def test_commit_hash_tells_keeping_metadata_from_clearing_it() -> None:
    keep = {("cc", "a"): StateUpdate(b"1", Version(5, 0), None)}
    clear = {("cc", "a"): StateUpdate(b"1", Version(5, 0), b"")}
    assert commit_hash(b"prev", 5, CODES, keep) != commit_hash(b"prev", 5, CODES, clear)


# ----- crash consistency ----------------------------------------------------------------------


class SimulatedCrash(BaseException):
    """The process dies: nothing after this point of commit happens."""


def test_crash_after_the_block_is_stored_is_repaired_on_opening(
    channel: Channel, chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    reference: tuple[dict[str, list[tuple[object, ...]]], list[bytes]],
) -> None:
    expected_tables, expected_digests = reference
    made = copies(chain)
    folder = tmp_path / "crashed"
    ledger = PeerLedger(folder)
    feed(channel, ledger, made[:3])

    def crash(updates: object) -> None:
        raise SimulatedCrash

    block = made[3]
    result = validate(channel, ledger, block)
    monkeypatch.setattr(ledger.db, "apply", crash)
    with pytest.raises(SimulatedCrash):
        ledger.commit(block, result.codes, result.updates, result.history)
    monkeypatch.undo()
    assert ledger.height == 4 and ledger.state().savepoint()[0] == 3  # stored, not applied
    ledger.close()

    reopened = PeerLedger(folder)
    try:
        assert reopened.height == 4 and reopened.state().savepoint() == (4, expected_digests[3])
        assert reopened.last_commit_hash() == expected_digests[3]
        assert reopened.state().get("cc", "a") == VersionedValue(b"a2", Version(3, 0), encode_metadata({"note": b"a"}))
        # The chain continues as if nothing happened.
        assert feed(channel, reopened, made[4:]) == expected_digests[4:]
    finally:
        reopened.close()
    assert tables(folder) == expected_tables


def test_blocks_appended_without_their_state_are_replayed(
    channel: Channel, chain: Chain, tmp_path: Path,
    reference: tuple[dict[str, list[tuple[object, ...]]], list[bytes]],
) -> None:
    """Several blocks in the file past the savepoint (appended by hand, as a crash between
    the two steps of commit would leave each of them) are all applied on opening."""
    expected_tables, expected_digests = reference
    stored_by_reference = PeerLedger(tmp_path / "reference")
    finished = [stored_by_reference.blocks.get(n) for n in range(stored_by_reference.height)]
    stored_by_reference.close()

    folder = tmp_path / "behind"
    ledger = PeerLedger(folder)
    feed(channel, ledger, copies(chain, 2))
    for block in finished[2:]:
        ledger.blocks.append(block)
    assert ledger.state().savepoint()[0] == 2
    ledger.close()

    reopened = PeerLedger(folder)
    try:
        assert reopened.height == len(chain.made)
        assert reopened.last_commit_hash() == expected_digests[-1]
    finally:
        reopened.close()
    assert tables(folder) == expected_tables


def test_an_older_database_catches_up_from_the_block_file(
    channel: Channel, chain: Chain, tmp_path: Path,
    reference: tuple[dict[str, list[tuple[object, ...]]], list[bytes]],
) -> None:
    expected_tables, _ = reference
    folder = tmp_path / "restored"
    ledger = PeerLedger(folder)
    made = copies(chain)
    feed(channel, ledger, made[:2])
    ledger.close()
    assert not (folder / f"{DB_FILE}-wal").exists()  # closing checkpoints the WAL into the file
    shutil.copy(folder / DB_FILE, tmp_path / "old.db")

    ledger = PeerLedger(folder)
    feed(channel, ledger, made[2:])
    ledger.close()
    shutil.copy(tmp_path / "old.db", folder / DB_FILE)
    assert tables(folder)["savepoint"][0][1] == 2

    reopened = PeerLedger(folder)
    reopened.close()
    assert tables(folder) == expected_tables


def test_a_deleted_database_is_rebuilt_from_the_block_file(
    tmp_path: Path, reference: tuple[dict[str, list[tuple[object, ...]]], list[bytes]],
) -> None:
    expected_tables, expected_digests = reference
    folder = tmp_path / "reference"
    (folder / DB_FILE).unlink()
    rebuilt = PeerLedger(folder)
    try:
        assert rebuilt.height == len(expected_digests)
        assert rebuilt.last_commit_hash() == expected_digests[-1]
    finally:
        rebuilt.close()
    assert tables(folder) == expected_tables


def test_reopening_a_consistent_ledger_changes_nothing(
    tmp_path: Path, reference: tuple[dict[str, list[tuple[object, ...]]], list[bytes]],
) -> None:
    expected_tables, expected_digests = reference
    blocks_before = (tmp_path / "reference" / "blocks.dat").read_bytes()
    again = PeerLedger(tmp_path / "reference")
    try:
        assert again.height == len(expected_digests) and again.last_commit_hash() == expected_digests[-1]
    finally:
        again.close()
    assert tables(tmp_path / "reference") == expected_tables
    assert (tmp_path / "reference" / "blocks.dat").read_bytes() == blocks_before


def test_database_ahead_of_the_block_file_is_refused_with_advice(
    channel: Channel, chain: Chain, tmp_path: Path,
    reference: tuple[dict[str, list[tuple[object, ...]]], list[bytes]],
) -> None:
    folder = tmp_path / "short"
    ledger = PeerLedger(folder)
    feed(channel, ledger, copies(chain, 3))
    ledger.close()
    shutil.copy(tmp_path / "reference" / DB_FILE, folder / DB_FILE)  # at block 4, the file ends at 2

    with pytest.raises(LedgerError) as refused:
        PeerLedger(folder)
    message = str(refused.value)
    assert str(folder) in message
    assert "state database is at block 4" in message and "block file ends at 2" in message
    assert "restore the block file, from a backup or from another peer of the channel" in message
    assert f"Deleting {DB_FILE} instead rebuilds the state from the block file, but loses the private data" in message

    # Following the advice works: without the database the ledger rebuilds it from the file.
    (folder / DB_FILE).unlink()
    rebuilt = PeerLedger(folder)
    try:
        assert rebuilt.height == 3 and rebuilt.state().savepoint()[0] == 3
    finally:
        rebuilt.close()


def test_replay_follows_the_metadata_rules_of_commit(channel: Channel, chain: Chain, tmp_path: Path) -> None:
    """Block 3 holds only metadata cases; a ledger that replays it from the block file
    ends with the same state as one that committed it, and both follow updates.py."""
    clean = PeerLedger(tmp_path / "clean")
    feed(channel, clean, copies(chain, 4))
    clean.close()

    folder = tmp_path / "replayed"
    ledger = PeerLedger(folder)
    feed(channel, ledger, copies(chain, 3))
    ledger.close()
    shutil.copy(folder / DB_FILE, tmp_path / "at3.db")
    ledger = PeerLedger(folder)
    feed(channel, ledger, copies(chain)[3:4])
    ledger.close()
    shutil.copy(tmp_path / "at3.db", folder / DB_FILE)  # block 3 is in the file, not in the state

    replayed = PeerLedger(folder)
    try:
        state = replayed.state()
        assert state.savepoint()[0] == 4

        def note(text: bytes) -> bytes | None:
            return encode_metadata({"note": text})

        assert state.get("cc", "a") == VersionedValue(b"a2", Version(3, 0), note(b"a"))  # metadata only: new version
        assert state.get("cc", "ghost") is None  # metadata of a missing key is not kept
        assert state.get("cc", "f") == VersionedValue(b"f3", Version(3, 2), note(b"f"))  # written with metadata
        assert state.get("cc", "e") is None  # deleted; its metadata not kept
        assert state.get("cc", "d") == VersionedValue(b"d1", Version(3, 4), None)  # cleared
        assert state.get("cc", "m") == VersionedValue(b"m3", Version(3, 5), note(b"m"))  # value only: kept
        assert state.history("cc", "a") == [Version(2, 0), Version(1, 0)]  # metadata writes are not history
        assert state.history("cc", "e") == [Version(3, 3), Version(2, 4)]
    finally:
        replayed.close()
    assert tables(folder) == tables(tmp_path / "clean")


def test_genesis_block_alone_replays(channel: Channel, tmp_path: Path) -> None:
    ledger = PeerLedger(tmp_path / "g")
    genesis = common_pb2.Block.FromString(channel.genesis)
    commit(channel, ledger, genesis)
    digest = ledger.last_commit_hash()
    ledger.close()
    (tmp_path / "g" / DB_FILE).unlink()
    again = PeerLedger(tmp_path / "g")
    try:
        assert again.height == 1 and again.state().savepoint() == (1, digest)
        assert list(again.state().range("cc", "", "")) == []
    finally:
        again.close()


def test_a_refused_open_closes_what_it_opened(channel: Channel, chain: Chain, tmp_path: Path,
                                              reference: tuple[dict[str, list[tuple[object, ...]]], list[bytes]]) -> None:
    folder = tmp_path / "short"
    ledger = PeerLedger(folder)
    feed(channel, ledger, copies(chain, 2))
    ledger.close()
    shutil.copy(tmp_path / "reference" / DB_FILE, folder / DB_FILE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(LedgerError):
            PeerLedger(folder)
        gc.collect()
    leaked = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaked == []


def test_failed_state_apply_does_not_let_later_commits_diverge(
    channel: Channel, chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    reference: tuple[dict[str, list[tuple[object, ...]]], list[bytes]],
) -> None:
    _, expected_digests = reference
    made = copies(chain)
    ledger = PeerLedger(tmp_path / "l")
    try:
        feed(channel, ledger, made[:2])
        result = validate(channel, ledger, made[2])

        def disk_full(updates: object) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(ledger.db, "apply", disk_full)
        with pytest.raises(sqlite3.OperationalError):
            ledger.commit(made[2], result.codes, result.updates, result.history)
        monkeypatch.undo()  # the disk has room again; the committer goes on with block 3
        # The next commit catches the state up and asks for block 3 to be validated again.
        with pytest.raises(LedgerError, match="has caught up; validate block 3 again"):
            feed(channel, ledger, made[3:4])
        digest = feed(channel, ledger, made[3:4])[0]
        assert digest == expected_digests[3]
    finally:
        ledger.close()


def test_a_database_that_is_not_one_is_refused_with_advice(channel: Channel, chain: Chain, tmp_path: Path) -> None:
    folder = tmp_path / "garbled"
    ledger = PeerLedger(folder)
    feed(channel, ledger, copies(chain, 2))
    ledger.close()
    (folder / DB_FILE).write_bytes(b"not a database at all " * 100)

    with pytest.raises(LedgerError) as refused:
        PeerLedger(folder)
    message = str(refused.value)
    assert f"{folder / DB_FILE} cannot be opened (file is not a database)" in message
    assert "move it aside, and the peer rebuilds the state from the block file, but loses the private data" in message
    assert (folder / DB_FILE).read_bytes() == b"not a database at all " * 100  # left as it was


def test_a_transient_store_that_is_not_a_database_is_refused_with_advice(
        channel: Channel, chain: Chain, tmp_path: Path) -> None:
    folder = tmp_path / "garbled"
    ledger = PeerLedger(folder)
    feed(channel, ledger, copies(chain, 1))
    ledger.close()
    (folder / TRANSIENT_FILE).write_bytes(b"garbage " * 100)

    with pytest.raises(LedgerError, match=r"transient\.db cannot be opened \(file is not a database\); it holds "
                                          r"only the private data of transactions endorsed and not yet committed"):
        PeerChannel.open(folder, channel.peers[0])
