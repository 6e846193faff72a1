"""World state, history index, transaction index and savepoint, in one SQLite file.

SQLite in WAL mode gives what the peer needs with nothing to install: a block's
updates, history entries, transaction ids and the savepoint commit in one transaction
(all or nothing), and readers see a consistent snapshot while a commit proceeds.

Keys are stored as UTF-8 BLOBs so that they sort bytewise, as Fabric's do (composite
keys start with U+0000 and sort before every plain key). Metadata (key-level
endorsement policies) is stored beside the value as a serialized KVMetadataWrite.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

from peer.ledger import selector
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

    def savepoint(self) -> tuple[int, bytes]:
        """(number of blocks committed to state, commit hash of the last one)."""
        row = self._db.execute("SELECT height, commit_hash FROM savepoint WHERE id = 0").fetchone()
        return (0, b"") if row is None else (row[0], row[1])


@dataclass(frozen=True)
class BlockUpdates:
    """Everything one block changes in the database."""

    number: int
    state: Mapping[tuple[str, str], StateUpdate]
    history: Iterable[tuple[str, str, Version]]
    txids: Iterable[tuple[str, int, int]]  # (txid, position, validation code)
    commit_hash: bytes


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
                db.execute(
                    "INSERT OR REPLACE INTO savepoint (id, height, commit_hash) VALUES (0, ?, ?)",
                    (updates.number + 1, updates.commit_hash),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()
