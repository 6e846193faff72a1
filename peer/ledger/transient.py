"""The transient store: private write sets of endorsed transactions, until they commit.

An endorser keeps here what its simulation wrote to collections, and a member peer what
other endorsers pushed to it; when the transaction's block commits, the channel takes
the write sets from here (those matching the block's hashes), and they are removed. What
never commits is dropped once the ledger has grown `retention` blocks past the height at
which it was endorsed (Fabric's transientstoreMaxBlockRetention).

A file of its own, apart from the ledger database: endorsements write here from the
event loop, and must not wait for a block commit holding the ledger's write lock.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

DEFAULT_RETENTION = 1000
TRANSIENT_FILE = "transient.db"

SCHEMA = """
CREATE TABLE IF NOT EXISTS transient (
    txid TEXT NOT NULL, digest BLOB NOT NULL, height INTEGER NOT NULL, pvt BLOB NOT NULL,
    PRIMARY KEY (txid, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS transient_height ON transient (height);
"""


class TransientStore:
    def __init__(self, path: str | Path, retention: int = DEFAULT_RETENTION) -> None:
        self.path = Path(path)
        self.retention = retention
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def put(self, tx_id: str, height: int, pvt: bytes) -> None:
        """Keep a serialized TxPvtReadWriteSet of `tx_id`, endorsed at ledger `height`."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO transient (txid, digest, height, pvt) VALUES (?, ?, ?, ?)",
                             (tx_id, hashlib.sha256(pvt).digest(), height, pvt))

    def get(self, tx_id: str) -> list[bytes]:
        """Every private read-write set kept for `tx_id` (endorsers may have sent several)."""
        with self._lock:
            return [bytes(r[0]) for r in self._db.execute("SELECT pvt FROM transient WHERE txid = ?", (tx_id,))]

    def committed(self, tx_ids: list[str], height: int) -> None:
        """A block committed these transactions, and the ledger reached `height`: forget them,
        and what has waited too long."""
        with self._lock:
            if self._db.execute("SELECT 1 FROM transient LIMIT 1").fetchone() is None:
                return  # the usual case on a channel without private data: nothing to write
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM transient WHERE txid = ?", [(t,) for t in tx_ids])
            self._db.execute("DELETE FROM transient WHERE height < ?", (height - self.retention,))
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
