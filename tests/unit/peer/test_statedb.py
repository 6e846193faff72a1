"""The state database applies a block's updates all or nothing: values and versions,
key-level metadata (kept, replaced, cleared), history newest first, the first location of
each transaction id, and the savepoint. Range scans go in byte order, so composite keys
(starting with U+0000) come first. A reader connection inside a read transaction keeps
seeing the state as it was when the transaction began, whatever the writer commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from peer.ledger import statedb
from peer.ledger.rwset import Version
from peer.ledger.statedb import (
    BlockUpdates,
    StateDB,
    StateUpdate,
    VersionedValue,
    decode_metadata,
    encode_metadata,
)

pytestmark = pytest.mark.unit

POLICY = encode_metadata({"VALIDATION_PARAMETER": b"policy-1"})
OTHER_POLICY = encode_metadata({"VALIDATION_PARAMETER": b"policy-2", "extra": b"x"})


@pytest.fixture
def db(tmp_path: Path) -> Iterator[StateDB]:
    database = StateDB(tmp_path / "ledger.db")
    yield database
    database.close()


def block(
    number: int,
    state: Mapping[tuple[str, str], StateUpdate] | None = None,
    *,
    history: list[tuple[str, str, Version]] | None = None,
    txids: list[tuple[str, int, int]] | None = None,
    commit_hash: bytes | None = None,
) -> BlockUpdates:
    return BlockUpdates(
        number=number,
        state=dict(state or {}),
        history=history or [],
        txids=txids or [],
        commit_hash=commit_hash if commit_hash is not None else f"hash-{number}".encode(),
    )


def put(value: bytes | None, number: int, tx: int = 0, metadata: bytes | None = None) -> StateUpdate:
    return StateUpdate(value, Version(number, tx), metadata)


def table(db: StateDB, name: str) -> list[tuple[object, ...]]:
    return list(db._db.execute(f"SELECT * FROM {name} ORDER BY 1, 2"))


# ----- values, versions, reads ------------------------------------------------------------


def test_empty_database_reads_nothing(db: StateDB) -> None:
    assert db.get("cc", "k") is None
    assert db.versions("cc", ["k"]) == {}
    assert list(db.range("cc", "", "")) == []
    assert db.history("cc", "k") == []
    assert db.tx_location("tx") is None
    assert db.savepoint() == (0, b"")


def test_apply_sets_values_and_versions(db: StateDB) -> None:
    db.apply(block(0, {("cc", "a"): put(b"1", 0, 0), ("cc", "b"): put(b"2", 0, 3), ("other", "a"): put(b"x", 0, 1)}))
    assert db.get("cc", "a") == VersionedValue(b"1", Version(0, 0), None)
    assert db.get("cc", "b") == VersionedValue(b"2", Version(0, 3), None)
    assert db.get("other", "a") == VersionedValue(b"x", Version(0, 1), None)
    assert db.get("cc", "c") is None
    assert db.get("nobody", "a") is None


def test_overwrite_replaces_value_and_version(db: StateDB) -> None:
    db.apply(block(0, {("cc", "a"): put(b"1", 0, 0)}))
    db.apply(block(1, {("cc", "a"): put(b"2", 1, 4)}))
    assert db.get("cc", "a") == VersionedValue(b"2", Version(1, 4), None)


def test_versions_returns_only_existing_keys_of_the_namespace(db: StateDB) -> None:
    db.apply(block(0, {("cc", "a"): put(b"1", 0, 0), ("cc", "b"): put(b"2", 0, 1), ("x", "c"): put(b"3", 0, 2)}))
    assert db.versions("cc", ["a", "b", "c", "missing"]) == {"a": Version(0, 0), "b": Version(0, 1)}
    assert db.versions("cc", []) == {}


def test_versions_of_more_keys_than_one_sql_chunk(db: StateDB) -> None:
    db.apply(block(0, {("cc", f"k{i:04}"): put(b"v", 0, i) for i in range(1200)}))
    wanted = [f"k{i:04}" for i in range(0, 1300, 1)]
    found = db.versions("cc", wanted)
    assert found == {f"k{i:04}": Version(0, i) for i in range(1200)}


def test_value_may_be_empty_without_being_a_delete(db: StateDB) -> None:
    db.apply(block(0, {("cc", "a"): put(b"", 0)}))
    assert db.get("cc", "a") == VersionedValue(b"", Version(0, 0), None)


def test_non_ascii_key_round_trips(db: StateDB) -> None:
    db.apply(block(0, {("cc", "clé-€-😀"): put(b"v", 0)}))
    assert db.get("cc", "clé-€-😀") is not None
    assert [k for k, _ in db.range("cc", "", "")] == ["clé-€-😀"]


# ----- range scans --------------------------------------------------------------------------


RANGE_KEYS = ["b", "a", "ab", "B", "a\x00", "\x00comp\x00x\x00", "\x00comp\x00y\x00", "é", "😀", "z", "\U0010ffff"]


@pytest.fixture
def ranged(db: StateDB) -> StateDB:
    db.apply(block(0, {("cc", k): put(k.encode(), 0, i) for i, k in enumerate(RANGE_KEYS)}))
    db.apply(block(1, {("other", "a"): put(b"elsewhere", 1)}))
    return db


def keys(db: StateDB, start: str, end: str, limit: int | None = None) -> list[str]:
    return [key for key, _ in db.range("cc", start, end, limit)]


def test_range_is_in_utf8_byte_order_with_composite_keys_first(ranged: StateDB) -> None:
    expected = sorted(RANGE_KEYS, key=lambda k: k.encode())
    assert keys(ranged, "", "") == expected
    assert expected[:2] == ["\x00comp\x00x\x00", "\x00comp\x00y\x00"]
    # UTF-8 byte order: upper case before lower case, then 2-, 4-byte characters, U+10FFFF last.
    assert expected[2:] == ["B", "a", "a\x00", "ab", "b", "z", "é", "😀", "\U0010ffff"]


def test_range_start_inclusive_end_exclusive(ranged: StateDB) -> None:
    assert keys(ranged, "a", "b") == ["a", "a\x00", "ab"]
    assert keys(ranged, "a\x00", "ab") == ["a\x00"]
    assert keys(ranged, "ab", "ab") == []
    assert keys(ranged, "b", "a") == []


def test_range_with_empty_end_is_unbounded(ranged: StateDB) -> None:
    assert keys(ranged, "z", "") == ["z", "é", "😀", "\U0010ffff"]


def test_range_of_composite_keys_between_min_and_max_rune(ranged: StateDB) -> None:
    assert keys(ranged, "\x00comp\x00", "\x00comp\x00\U0010ffff") == ["\x00comp\x00x\x00", "\x00comp\x00y\x00"]
    assert keys(ranged, "\x00", "\x01") == ["\x00comp\x00x\x00", "\x00comp\x00y\x00"]


def test_range_limit(ranged: StateDB) -> None:
    assert keys(ranged, "a", "", limit=2) == ["a", "a\x00"]
    assert keys(ranged, "a", "", limit=0) == []
    assert len(keys(ranged, "", "", limit=100)) == len(RANGE_KEYS)


def test_range_returns_values_versions_and_stays_in_its_namespace(ranged: StateDB) -> None:
    found = dict(ranged.range("cc", "z", "é"))
    assert found == {"z": VersionedValue(b"z", Version(0, RANGE_KEYS.index("z")), None)}
    assert [k for k, _ in ranged.range("other", "", "")] == ["a"]
    assert list(ranged.range("none", "", "")) == []


# ----- metadata -------------------------------------------------------------------------------


def test_metadata_is_kept_when_only_the_value_changes(db: StateDB) -> None:
    db.apply(block(0, {("cc", "a"): put(b"1", 0, 0, POLICY)}))
    db.apply(block(1, {("cc", "a"): put(b"2", 1, 2)}))
    current = db.get("cc", "a")
    assert current == VersionedValue(b"2", Version(1, 2), POLICY)
    assert current.metadata_entries() == {"VALIDATION_PARAMETER": b"policy-1"}


def test_metadata_is_replaced_by_explicit_metadata(db: StateDB) -> None:
    db.apply(block(0, {("cc", "a"): put(b"1", 0, 0, POLICY)}))
    db.apply(block(1, {("cc", "a"): put(b"1", 1, 0, OTHER_POLICY)}))
    current = db.get("cc", "a")
    assert current is not None and current.metadata == OTHER_POLICY
    assert current.metadata_entries() == {"VALIDATION_PARAMETER": b"policy-2", "extra": b"x"}
    assert current.version == Version(1, 0)


def test_empty_metadata_clears_it(db: StateDB) -> None:
    db.apply(block(0, {("cc", "a"): put(b"1", 0, 0, POLICY)}))
    db.apply(block(1, {("cc", "a"): put(b"1", 1, 0, b"")}))
    assert db.get("cc", "a") == VersionedValue(b"1", Version(1, 0), None)


def test_delete_removes_value_and_metadata(db: StateDB) -> None:
    db.apply(block(0, {("cc", "a"): put(b"1", 0, 0, POLICY), ("cc", "b"): put(b"2", 0, 1)}))
    db.apply(block(1, {("cc", "a"): put(None, 1, 0)}))
    assert db.get("cc", "a") is None
    assert db.versions("cc", ["a", "b"]) == {"b": Version(0, 1)}
    assert [k for k, _ in db.range("cc", "", "")] == ["b"]
    # Written again without metadata: the old metadata does not come back.
    db.apply(block(2, {("cc", "a"): put(b"3", 2, 0)}))
    assert db.get("cc", "a") == VersionedValue(b"3", Version(2, 0), None)


def test_delete_of_a_missing_key_is_harmless(db: StateDB) -> None:
    db.apply(block(0, {("cc", "a"): put(None, 0, 0)}))
    assert db.get("cc", "a") is None
    assert db.savepoint() == (1, b"hash-0")


def test_metadata_encoding_is_sorted_and_empty_means_none() -> None:
    assert encode_metadata({}) is None
    assert encode_metadata({"b": b"2", "a": b"1"}) == encode_metadata({"a": b"1", "b": b"2"})
    assert decode_metadata(encode_metadata({"b": b"2", "a": b"1"})) == {"a": b"1", "b": b"2"}
    assert list(decode_metadata(encode_metadata({"b": b"2", "a": b"1"}))) == ["a", "b"]
    assert decode_metadata(None) == {} and decode_metadata(b"") == {}


# ----- history, transaction ids, savepoint ------------------------------------------------


def test_history_is_newest_first(db: StateDB) -> None:
    db.apply(block(0, history=[("cc", "a", Version(0, 0)), ("cc", "a", Version(0, 3)), ("cc", "b", Version(0, 1))]))
    db.apply(block(1, history=[("cc", "a", Version(1, 2)), ("other", "a", Version(1, 0))]))
    db.apply(block(2, history=[("cc", "a", Version(2, 0)), ("cc", "a", Version(2, 10))]))
    assert db.history("cc", "a") == [Version(2, 10), Version(2, 0), Version(1, 2), Version(0, 3), Version(0, 0)]
    assert db.history("cc", "b") == [Version(0, 1)]
    assert db.history("other", "a") == [Version(1, 0)]
    assert db.history("cc", "c") == []


def test_history_orders_tx_numbers_numerically(db: StateDB) -> None:
    db.apply(block(0, history=[("cc", "a", Version(0, tx)) for tx in (2, 10, 1)]))
    assert db.history("cc", "a") == [Version(0, 10), Version(0, 2), Version(0, 1)]


def test_history_entry_given_twice_is_kept_once(db: StateDB) -> None:
    db.apply(block(0, history=[("cc", "a", Version(0, 1)), ("cc", "a", Version(0, 1))]))
    assert db.history("cc", "a") == [Version(0, 1)]


def test_txid_index_records_block_position_and_code(db: StateDB) -> None:
    db.apply(block(4, txids=[("t1", 0, 0), ("t2", 1, 11)]))
    assert db.tx_location("t1") == (4, 0, 0)
    assert db.tx_location("t2") == (4, 1, 11)
    assert db.tx_location("t3") is None
    assert db.existing_txids(["t1", "t3", "t2"]) == {"t1", "t2"}
    assert db.existing_txids([]) == set()


def test_txid_first_occurrence_wins_within_a_block(db: StateDB) -> None:
    db.apply(block(0, txids=[("dup", 2, 0), ("dup", 5, 21)]))
    assert db.tx_location("dup") == (0, 2, 0)


def test_txid_first_occurrence_wins_across_blocks(db: StateDB) -> None:
    db.apply(block(0, txids=[("dup", 1, 0)]))
    db.apply(block(1, txids=[("dup", 0, 21)]))
    assert db.tx_location("dup") == (0, 1, 0)


def test_existing_txids_over_many_chunks(db: StateDB) -> None:
    db.apply(block(0, txids=[(f"t{i}", i, 0) for i in range(1100)]))
    asked = [f"t{i}" for i in range(0, 2200, 2)]
    assert db.existing_txids(asked) == {f"t{i}" for i in range(0, 1100, 2)}


def test_savepoint_is_next_height_and_last_commit_hash(db: StateDB) -> None:
    db.apply(block(0, commit_hash=b"h0"))
    assert db.savepoint() == (1, b"h0")
    db.apply(block(1, commit_hash=b"h1"))
    assert db.savepoint() == (2, b"h1")


def test_everything_survives_reopening(tmp_path: Path) -> None:
    first = StateDB(tmp_path / "ledger.db")
    first.apply(block(0, {("cc", "a"): put(b"1", 0, 0, POLICY)}, history=[("cc", "a", Version(0, 0))],
                      txids=[("t", 0, 0)], commit_hash=b"h0"))
    first.close()
    again = StateDB(tmp_path / "ledger.db")
    try:
        assert again.get("cc", "a") == VersionedValue(b"1", Version(0, 0), POLICY)
        assert again.history("cc", "a") == [Version(0, 0)]
        assert again.tx_location("t") == (0, 0, 0)
        assert again.savepoint() == (1, b"h0")
    finally:
        again.close()


# ----- atomicity ------------------------------------------------------------------------------


def seeded(db: StateDB) -> list[list[tuple[object, ...]]]:
    db.apply(block(0, {("cc", "a"): put(b"1", 0, 0, POLICY), ("cc", "gone"): put(b"x", 0, 1)},
                   history=[("cc", "a", Version(0, 0))], txids=[("t0", 0, 0)], commit_hash=b"h0"))
    return [table(db, name) for name in ("state", "history", "txids", "savepoint")]


def test_failure_while_writing_state_applies_nothing(db: StateDB) -> None:
    before = seeded(db)
    # Updates are applied in (ns, key) order: namespace "a" first, then the bad key of "b".
    broken = block(
        1,
        {("a", "first"): put(b"new", 1, 0), ("a", "gone"): put(None, 1, 0), ("b", 7): put(b"v", 1, 1)},  # type: ignore[dict-item]
        history=[("a", "first", Version(1, 0))],
        txids=[("t1", 0, 0)],
        commit_hash=b"h1",
    )
    with pytest.raises(AttributeError):
        db.apply(broken)
    assert [table(db, name) for name in ("state", "history", "txids", "savepoint")] == before
    assert db.get("a", "first") is None


def test_failure_after_state_and_history_applies_nothing(db: StateDB) -> None:
    before = seeded(db)
    broken = block(
        1,
        {("cc", "a"): put(b"2", 1, 0), ("cc", "gone"): put(None, 1, 0), ("cc", "new"): put(b"n", 1, 1)},
        history=[("cc", "a", Version(1, 0))],
        txids=[("t1", 0, 0), ("t2", 1, object())],  # type: ignore[list-item]  # a code sqlite cannot store
        commit_hash=b"h1",
    )
    with pytest.raises(sqlite3.ProgrammingError, match="not supported"):
        db.apply(broken)
    assert [table(db, name) for name in ("state", "history", "txids", "savepoint")] == before
    assert db.get("cc", "a") == VersionedValue(b"1", Version(0, 0), POLICY)
    assert db.savepoint() == (1, b"h0")


def test_database_is_usable_after_a_failed_apply(db: StateDB) -> None:
    seeded(db)
    with pytest.raises(AttributeError):
        db.apply(block(1, {("cc", 5): put(b"v", 1)}))  # type: ignore[dict-item]
    db.apply(block(1, {("cc", "b"): put(b"b", 1)}, commit_hash=b"h1"))
    assert db.get("cc", "b") == VersionedValue(b"b", Version(1, 0), None)
    assert db.savepoint() == (2, b"h1")


def test_interrupt_in_the_middle_applies_nothing(db: StateDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a BaseException (Ctrl-C) part way through rolls the block back."""
    before = seeded(db)
    calls = 0

    def encode(key: str) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt
        return key.encode()

    monkeypatch.setattr("peer.ledger.statedb._k", encode)
    with pytest.raises(KeyboardInterrupt):
        db.apply(block(1, {("cc", k): put(b"v", 1, i) for i, k in enumerate("abcde")}, commit_hash=b"h1"))
    assert calls == 3
    monkeypatch.undo()
    assert [table(db, name) for name in ("state", "history", "txids", "savepoint")] == before


# ----- readers --------------------------------------------------------------------------------


def test_reader_sees_committed_state(db: StateDB) -> None:
    reader = db.reader()
    try:
        assert reader.get("cc", "a") is None
        db.apply(block(0, {("cc", "a"): put(b"1", 0, 0, POLICY)}, history=[("cc", "a", Version(0, 0))],
                       txids=[("t", 0, 0)], commit_hash=b"h0"))
        assert reader.get("cc", "a") == VersionedValue(b"1", Version(0, 0), POLICY)
        assert reader.history("cc", "a") == [Version(0, 0)]
        assert reader.tx_location("t") == (0, 0, 0)
        assert reader.savepoint() == (1, b"h0")
    finally:
        reader._db.close()


def test_reader_cannot_write(db: StateDB) -> None:
    reader = db.reader()
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader._db.execute("DELETE FROM state")
    finally:
        reader._db.close()


def test_reader_in_a_read_transaction_sees_a_consistent_snapshot(db: StateDB) -> None:
    db.apply(block(0, {("cc", "a"): put(b"a0", 0), ("cc", "b"): put(b"b0", 0, 1)}, commit_hash=b"h0"))
    reader = db.reader()
    connection = reader._db
    try:
        connection.execute("BEGIN")
        assert reader.get("cc", "a") == VersionedValue(b"a0", Version(0, 0), None)  # the snapshot starts here

        db.apply(block(1, {("cc", "a"): put(b"a1", 1), ("cc", "b"): put(None, 1, 1), ("cc", "c"): put(b"c1", 1, 2)},
                       history=[("cc", "a", Version(1, 0))], txids=[("t1", 0, 0)], commit_hash=b"h1"))
        assert db.get("cc", "a") == VersionedValue(b"a1", Version(1, 0), None)  # the writer sees its commit

        # Inside the read transaction, nothing of block 1 is visible, in any table.
        assert reader.get("cc", "a") == VersionedValue(b"a0", Version(0, 0), None)
        assert reader.get("cc", "b") == VersionedValue(b"b0", Version(0, 1), None)
        assert reader.get("cc", "c") is None
        assert [k for k, _ in reader.range("cc", "", "")] == ["a", "b"]
        assert reader.history("cc", "a") == []
        assert reader.tx_location("t1") is None
        assert reader.savepoint() == (1, b"h0")

        connection.execute("COMMIT")
        assert reader.get("cc", "a") == VersionedValue(b"a1", Version(1, 0), None)
        assert reader.get("cc", "b") is None
        assert [k for k, _ in reader.range("cc", "", "")] == ["a", "c"]
        assert reader.savepoint() == (2, b"h1")
    finally:
        connection.close()


def test_reader_without_a_transaction_sees_each_commit(db: StateDB) -> None:
    """The contrast to the snapshot: outside a read transaction every read is fresh."""
    reader = db.reader()
    try:
        db.apply(block(0, {("cc", "a"): put(b"a0", 0)}))
        assert reader.get("cc", "a") is not None and reader.get("cc", "a").value == b"a0"  # type: ignore[union-attr]
        db.apply(block(1, {("cc", "a"): put(b"a1", 1)}))
        assert reader.get("cc", "a").value == b"a1"  # type: ignore[union-attr]
    finally:
        reader._db.close()


def test_reader_sees_nothing_of_a_commit_in_progress(db: StateDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads made while the writer is half way through a block see the block before it."""
    db.apply(block(0, {("cc", "a"): put(b"a0", 0), ("cc", "b"): put(b"b0", 0, 1)}, commit_hash=b"h0"))
    reader = db.reader()
    seen: list[object] = []
    encode = statedb._k

    def observe(key: str) -> bytes:
        if key == "b":  # "a" has been written by now, "b" is next
            seen.append((reader.get("cc", "a"), reader.get("cc", "c"), reader.savepoint()))
        return encode(key)

    monkeypatch.setattr("peer.ledger.statedb._k", observe)
    try:
        db.apply(block(1, {("cc", "a"): put(b"a1", 1), ("cc", "b"): put(b"b1", 1, 1), ("cc", "c"): put(b"c1", 1, 2)},
                       commit_hash=b"h1"))
        monkeypatch.undo()
        assert seen == [(VersionedValue(b"a0", Version(0, 0), None), None, (1, b"h0"))]
        assert reader.get("cc", "a") == VersionedValue(b"a1", Version(1, 0), None)
        assert reader.savepoint() == (2, b"h1")
    finally:
        reader._db.close()


def test_apply_proceeds_while_a_reader_holds_a_snapshot(db: StateDB) -> None:
    """WAL mode: a long read transaction does not block the writer (and vice versa)."""
    db.apply(block(0, {("cc", "a"): put(b"a0", 0)}))
    reader = db.reader()
    connection = reader._db
    try:
        connection.execute("BEGIN")
        assert list(reader.range("cc", "", "")) != []
        for number in range(1, 6):
            db.apply(block(number, {("cc", "a"): put(f"a{number}".encode(), number)}))
        assert db.savepoint()[0] == 6
        assert reader.get("cc", "a").value == b"a0"  # type: ignore[union-attr]
        connection.execute("COMMIT")
        assert reader.get("cc", "a").value == b"a5"  # type: ignore[union-attr]
    finally:
        connection.close()


def test_pending_private_data_alone_commits_with_a_full_sync(tmp_path: Path, db: StateDB) -> None:
    """A block's private write sets are in no block file: their commit must survive a power
    loss (synchronous=FULL), unlike the state, which the block file replays."""
    statements: list[str] = []
    db._db.set_trace_callback(statements.append)  # noqa: SLF001 - what SQLite was asked to do
    db.apply(block(0))
    db.put_pending_private(1, b"write sets")
    db._db.set_trace_callback(None)  # noqa: SLF001
    insert = next(i for i, s in enumerate(statements) if s.startswith("INSERT OR REPLACE INTO private_pending"))
    assert statements[insert - 1] == "PRAGMA synchronous=FULL"
    assert statements[insert + 1] == "PRAGMA synchronous=NORMAL"
    assert "PRAGMA synchronous=FULL" not in statements[:insert - 1]  # the state's commit is not synced
    assert db._db.execute("PRAGMA synchronous").fetchone() == (1,)  # noqa: SLF001 - NORMAL again
    db.close()
    again = StateDB(tmp_path / "ledger.db")
    try:
        assert again.pending_private(1) == b"write sets"
    finally:
        again.close()
