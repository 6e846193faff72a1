"""World state, history index, transaction index and savepoint, in one SQLite file.

SQLite in WAL mode gives what the peer needs with nothing to install: a block's
updates, history entries, transaction ids and the savepoint commit in one transaction
(all or nothing), and readers see a consistent snapshot while a commit proceeds.

Keys are stored as UTF-8 BLOBs so that they sort bytewise, as Fabric's do (composite
keys start with U+0000 and sort before every plain key). Metadata (key-level
endorsement policies) is stored beside the value as a serialized KVMetadataWrite.

Private data (see `peer.ledger.pvtdata`) shares the state table under derived
namespaces. Beside it: each committed private write set by block and transaction
(what a member peer serves to another that lacks it), the write sets this peer should
have but has not received, and when each private key's value expires (blockToLive).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

from peer.ledger import pvtdata, selector
from peer.ledger.rwset import Version

SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
    block INTEGER NOT NULL, tx INTEGER NOT NULL, metadata BLOB,
    PRIMARY KEY (ns, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history (
    ns TEXT NOT NULL, key BLOB NOT NULL, block INTEGER NOT NULL, tx INTEGER NOT NULL,
    PRIMARY KEY (ns, key, block, tx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS txids (
    txid TEXT NOT NULL PRIMARY KEY, block INTEGER NOT NULL, tx INTEGER NOT NULL, code INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS private_writes (
    block INTEGER NOT NULL, tx INTEGER NOT NULL, ns TEXT NOT NULL, coll TEXT NOT NULL, rwset BLOB NOT NULL,
    expire_at INTEGER, PRIMARY KEY (block, tx, ns, coll)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS private_missing (
    block INTEGER NOT NULL, tx INTEGER NOT NULL, ns TEXT NOT NULL, coll TEXT NOT NULL, digest BLOB NOT NULL,
    expire_at INTEGER, PRIMARY KEY (block, tx, ns, coll)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS private_expiry (
    expire_at INTEGER NOT NULL, ns TEXT NOT NULL, key BLOB NOT NULL, block INTEGER NOT NULL, tx INTEGER NOT NULL,
    PRIMARY KEY (expire_at, ns, key, block, tx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS private_pending (block INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS savepoint (
    id INTEGER PRIMARY KEY CHECK (id = 0), height INTEGER NOT NULL, commit_hash BLOB NOT NULL);
"""


@dataclass(frozen=True)
class VersionedValue:
    value: bytes
    version: Version
    metadata: bytes | None = None

    def metadata_entries(self) -> dict[str, bytes]:
        return decode_metadata(self.metadata)


def encode_metadata(entries: Mapping[str, bytes]) -> bytes | None:
    """Metadata entries as stored: a KVMetadataWrite with sorted entries (None when empty)."""
    if not entries:
        return None
    message = kv_rwset_pb2.KVMetadataWrite(
        entries=[kv_rwset_pb2.KVMetadataEntry(name=name, value=entries[name]) for name in sorted(entries)]
    )
    return bytes(message.SerializeToString())


def decode_metadata(data: bytes | None) -> dict[str, bytes]:
    if not data:
        return {}
    return {e.name: bytes(e.value) for e in kv_rwset_pb2.KVMetadataWrite.FromString(data).entries}


@dataclass(frozen=True)
class StateUpdate:
    """The new state of one key: `value` None deletes it. `metadata` None keeps what the
    key has (when only its value changes); b"" clears it."""

    value: bytes | None
    version: Version
    metadata: bytes | None = None


def _k(key: str) -> bytes:
    return key.encode()


class StateReader:
    """Reads of committed state over one connection; `snapshot()` pins a consistent view."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def snapshot(self) -> Iterator[StateReader]:
        """Every read inside sees the same committed state, whatever commits meanwhile.

        Use it on a `StateDB.reader()` connection (the writer's own would block commits).
        """
        self._db.execute("BEGIN")
        try:
            yield self
        finally:
            self._db.execute("COMMIT")

    def get(self, ns: str, key: str) -> VersionedValue | None:
        row = self._db.execute(
            "SELECT value, block, tx, metadata FROM state WHERE ns = ? AND key = ?", (ns, _k(key))
        ).fetchone()
        return None if row is None else VersionedValue(row[0], Version(row[1], row[2]), row[3])

    def versions(self, ns: str, keys: Iterable[str]) -> dict[str, Version]:
        """Committed versions of `keys` that exist."""
        found: dict[str, Version] = {}
        wanted = [_k(k) for k in keys]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, block, tx in self._db.execute(
                f"SELECT key, block, tx FROM state WHERE ns = ? AND key IN ({marks})", (ns, *chunk)
            ):
                found[key.decode()] = Version(block, tx)
        return found

    def range(self, ns: str, start: str, end: str, limit: int | None = None) -> Iterator[tuple[str, VersionedValue]]:
        """Keys in [start, end) in byte order; an empty `end` means no upper bound."""
        sql = "SELECT key, value, block, tx, metadata FROM state WHERE ns = ? AND key >= ?"
        params: list[object] = [ns, _k(start)]
        if end:
            sql += " AND key < ?"
            params.append(_k(end))
        sql += " ORDER BY key"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        for key, value, block, tx, metadata in self._db.execute(sql, params):
            yield key.decode(), VersionedValue(value, Version(block, tx), metadata)

    def history(self, ns: str, key: str) -> list[Version]:
        """Where the key was written or deleted by valid transactions, newest first."""
        rows = self._db.execute(
            "SELECT block, tx FROM history WHERE ns = ? AND key = ? ORDER BY block DESC, tx DESC", (ns, _k(key))
        )
        return [Version(b, t) for b, t in rows]

    def select(self, ns: str, where: str, params: list[object], order_by: str,
               window: str) -> Iterator[tuple[str, VersionedValue]]:
        """Rows of `ns` matching a WHERE fragment over table `state` (see selector)."""
        sql = (f"SELECT state.key, state.value, state.block, state.tx, state.metadata FROM state "
               f"WHERE state.ns = ? AND {where} ORDER BY {order_by} {window}")
        for key, value, block, tx, metadata in self._db.execute(sql, [ns, *params]):
            yield key.decode(), VersionedValue(value, Version(block, tx), metadata)

    def tx_location(self, txid: str) -> tuple[int, int, int] | None:
        """(block, position, validation code) of a committed transaction id."""
        row = self._db.execute("SELECT block, tx, code FROM txids WHERE txid = ?", (txid,)).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def existing_txids(self, txids: Iterable[str]) -> set[str]:
        wanted = list(txids)
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self._db.execute(f"SELECT txid FROM txids WHERE txid IN ({marks})", chunk))
        return found

    def private_write_sets(self, block: int, tx: int) -> dict[tuple[str, str], bytes]:
        """The private write sets this peer committed for a transaction, by (namespace, collection)."""
        rows = self._db.execute("SELECT ns, coll, rwset FROM private_writes WHERE block = ? AND tx = ?", (block, tx))
        return {(ns, coll): rwset for ns, coll, rwset in rows}

    def private_block(self, block: int) -> list[tuple[int, str, str, bytes]]:
        """(tx, namespace, collection, write set) of every private write set this peer holds for a block."""
        rows = self._db.execute("SELECT tx, ns, coll, rwset FROM private_writes WHERE block = ? ORDER BY tx, ns, coll",
                                (block,))
        return [(tx, ns, coll, bytes(rwset)) for tx, ns, coll, rwset in rows]

    def missing_private(self, limit: int = 1000) -> list[MissingPrivate]:
        """Private write sets this peer should keep but has not received, oldest first."""
        rows = self._db.execute("SELECT block, tx, ns, coll, digest FROM private_missing ORDER BY block, tx LIMIT ?",
                                (limit,))
        return [MissingPrivate(b, t, ns, coll, d) for b, t, ns, coll, d in rows]

    def count_missing_private(self, since_block: int) -> int:
        """How many private write sets of blocks from `since_block` on are missing."""
        row = self._db.execute("SELECT COUNT(*) FROM private_missing WHERE block >= ?", (since_block,)).fetchone()
        return int(row[0])

    def pending_private(self, block: int) -> bytes | None:
        row = self._db.execute("SELECT data FROM private_pending WHERE block = ?", (block,)).fetchone()
        return None if row is None else bytes(row[0])

    def savepoint(self) -> tuple[int, bytes]:
        """(number of blocks committed to state, commit hash of the last one)."""
        row = self._db.execute("SELECT height, commit_hash FROM savepoint WHERE id = 0").fetchone()
        return (0, b"") if row is None else (row[0], row[1])


@dataclass(frozen=True)
class MissingPrivate:
    """A private write set of a valid transaction this peer is entitled to but lacks."""

    block: int
    tx: int
    namespace: str
    collection: str
    digest: bytes  # its SHA-256, as the block records it


@dataclass(frozen=True)
class PrivateWrites:
    """What one block changes in the private data bookkeeping."""

    # (tx, namespace, collection, serialized KVRWSet, expiring at block or None)
    received: list[tuple[int, str, str, bytes, int | None]] = field(default_factory=list)
    missing: list[tuple[MissingPrivate, int | None]] = field(default_factory=list)
    # (expire_at, state namespace, key, block, tx): state rows that blockToLive removes
    expiry: list[tuple[int, str, str, int, int]] = field(default_factory=list)
    # (namespace, collection, key hash): every earlier value of these keys is removed
    purges: list[tuple[str, str, bytes]] = field(default_factory=list)


@dataclass(frozen=True)
class BlockUpdates:
    """Everything one block changes in the database."""

    number: int
    state: Mapping[tuple[str, str], StateUpdate]
    history: Iterable[tuple[str, str, Version]]
    txids: Iterable[tuple[str, int, int]]  # (txid, position, validation code)
    commit_hash: bytes
    private: PrivateWrites = field(default_factory=PrivateWrites)


class StateDB(StateReader):
    """The writable database of one channel (one writer; readers open `reader()`s)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(SCHEMA)
        selector.install(connection)
        super().__init__(connection)
        self._lock = threading.Lock()

    def reader(self) -> StateReader:
        """A separate read connection (use it from one thread at a time)."""
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
        selector.install(connection)
        return StateReader(connection)

    def apply(self, updates: BlockUpdates) -> None:
        """Commit a block's updates and the savepoint atomically."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                for (ns, key), update in sorted(updates.state.items()):
                    if update.value is None:
                        db.execute("DELETE FROM state WHERE ns = ? AND key = ?", (ns, _k(key)))
                    elif update.metadata is None:
                        db.execute(
                            "INSERT INTO state (ns, key, value, block, tx, metadata) VALUES (?, ?, ?, ?, ?, NULL) "
                            "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, block = excluded.block, "
                            "tx = excluded.tx",
                            (ns, _k(key), update.value, update.version.block, update.version.tx),
                        )
                    else:
                        db.execute(
                            "INSERT OR REPLACE INTO state (ns, key, value, block, tx, metadata) VALUES (?, ?, ?, ?, ?, ?)",
                            (ns, _k(key), update.value, update.version.block, update.version.tx, update.metadata or None),
                        )
                db.executemany(
                    "INSERT OR IGNORE INTO history (ns, key, block, tx) VALUES (?, ?, ?, ?)",
                    [(ns, _k(key), v.block, v.tx) for ns, key, v in updates.history],
                )
                db.executemany(
                    "INSERT OR IGNORE INTO txids (txid, block, tx, code) VALUES (?, ?, ?, ?)",
                    [(txid, updates.number, position, code) for txid, position, code in updates.txids],
                )
                self._apply_private(updates.number, updates.private)
                db.execute(
                    "INSERT OR REPLACE INTO savepoint (id, height, commit_hash) VALUES (0, ?, ?)",
                    (updates.number + 1, updates.commit_hash),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _apply_private(self, number: int, private: PrivateWrites) -> None:
        """Inside apply's transaction, after the state updates (so expiry never removes a
        value this block wrote)."""
        db = self._db
        for ns, coll, digest in private.purges:
            self._purge_history(number, ns, coll, digest)
        db.executemany("INSERT OR REPLACE INTO private_writes (block, tx, ns, coll, rwset, expire_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       [(number, tx, ns, coll, rwset, expire) for tx, ns, coll, rwset, expire in private.received])
        db.executemany("INSERT OR IGNORE INTO private_missing (block, tx, ns, coll, digest, expire_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       [(m.block, m.tx, m.namespace, m.collection, m.digest, expire) for m, expire in private.missing])
        db.executemany("INSERT OR IGNORE INTO private_expiry (expire_at, ns, key, block, tx) VALUES (?, ?, ?, ?, ?)",
                       [(at, ns, _k(key), b, t) for at, ns, key, b, t in private.expiry])
        expired = db.execute("SELECT ns, key, block, tx FROM private_expiry WHERE expire_at <= ?", (number,)).fetchall()
        db.executemany("DELETE FROM state WHERE ns = ? AND key = ? AND block = ? AND tx = ?", expired)
        db.execute("DELETE FROM private_expiry WHERE expire_at <= ?", (number,))
        db.execute("DELETE FROM private_writes WHERE expire_at <= ?", (number,))
        db.execute("DELETE FROM private_missing WHERE expire_at <= ?", (number,))
        db.execute("DELETE FROM private_pending WHERE block <= ?", (number,))

    def _purge_history(self, number: int, ns: str, coll: str, digest: bytes) -> None:
        """Remove every value a purged key had: the current one (even when the purging
        transaction's own write set has not arrived) and those of stored write sets."""
        db = self._db
        private = pvtdata.private_ns(ns, coll)
        for (key,) in db.execute("SELECT key FROM state WHERE ns = ?", (private,)).fetchall():
            if pvtdata.key_hash(key.decode()) == digest:
                db.execute("DELETE FROM state WHERE ns = ? AND key = ?", (private, key))
        rows = db.execute("SELECT block, tx, rwset FROM private_writes WHERE ns = ? AND coll = ? AND block < ?",
                          (ns, coll, number)).fetchall()
        for block, tx, rwset in rows:
            kv = kv_rwset_pb2.KVRWSet.FromString(rwset)
            kept = [w for w in kv.writes if pvtdata.key_hash(w.key) != digest]
            if len(kept) == len(kv.writes):
                continue
            del kv.writes[:]
            kv.writes.extend(kept)
            db.execute("UPDATE private_writes SET rwset = ? WHERE block = ? AND tx = ? AND ns = ? AND coll = ?",
                       (kv.SerializeToString(), block, tx, ns, coll))

    def put_pending_private(self, number: int, data: bytes) -> None:
        """Keep a block's private write sets durably before the block is appended, so that
        replaying the block after a crash finds them (the block file never holds them).

        Every other write here can be replayed from the block file, so the database runs
        with synchronous=NORMAL, whose last commits a power loss may roll back; this one
        cannot be, so it commits with synchronous=FULL (the WAL fsynced at commit)."""
        with self._lock:
            self._db.execute("PRAGMA synchronous=FULL")
            try:
                self._db.execute("INSERT OR REPLACE INTO private_pending (block, data) VALUES (?, ?)", (number, data))
            finally:
                self._db.execute("PRAGMA synchronous=NORMAL")

    def fill_missing(self, missing: MissingPrivate, rwset: bytes) -> int:
        """Store a private write set received late (its digest already checked), and those
        of its values that are still current; how many values that was."""
        hashed, private = pvtdata.hashed_ns(missing.namespace, missing.collection), \
            pvtdata.private_ns(missing.namespace, missing.collection)
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                where = (missing.block, missing.tx, missing.namespace, missing.collection)
                row = db.execute("SELECT expire_at FROM private_missing WHERE block = ? AND tx = ? AND ns = ? AND coll = ?",
                                 where).fetchone()
                stored = 0
                if row is not None:
                    expire_at = row[0]
                    db.execute("DELETE FROM private_missing WHERE block = ? AND tx = ? AND ns = ? AND coll = ?", where)
                    db.execute("INSERT OR REPLACE INTO private_writes (block, tx, ns, coll, rwset, expire_at) "
                               "VALUES (?, ?, ?, ?, ?, ?)", (*where, rwset, expire_at))
                    for write in kv_rwset_pb2.KVRWSet.FromString(rwset).writes:
                        current = db.execute("SELECT block, tx FROM state WHERE ns = ? AND key = ?",
                                             (hashed, _k(pvtdata.key_hash(write.key).hex()))).fetchone()
                        if write.is_delete or current is None or tuple(current) != (missing.block, missing.tx):
                            continue  # deleted, or written again since: that later value counts
                        db.execute("INSERT OR REPLACE INTO state (ns, key, value, block, tx, metadata) "
                                   "VALUES (?, ?, ?, ?, ?, NULL)", (private, _k(write.key), write.value, *where[:2]))
                        if expire_at is not None:
                            db.execute("INSERT OR IGNORE INTO private_expiry (expire_at, ns, key, block, tx) "
                                       "VALUES (?, ?, ?, ?, ?)", (expire_at, private, _k(write.key), *where[:2]))
                        stored += 1
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return stored

    def close(self) -> None:
        with self._lock:
            self._db.close()
