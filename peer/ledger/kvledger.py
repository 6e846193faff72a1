"""A channel's ledger on a peer: the block file, and the SQLite database caught up from it.

Commit order makes a crash at any instant harmless:

  1. the validated block (its TRANSACTIONS_FILTER and COMMIT_HASH filled in) is appended
     to the block file and fsynced;
  2. its state updates, history, transaction ids and the savepoint commit in one SQLite
     transaction.

On opening, every block past the savepoint is applied again from the block file, using
the validation codes stored in it, so the state always equals what replaying the whole
chain would give. A block's private values are not in the block file: they are stored
in the database (`private_pending`) before the block is appended, and replay takes
them from there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from fabric_protos.common import common_pb2
from fabric_protos.peer import transaction_pb2

from consortia.errors import ConsortiaError, MessageError
from consortia.ledger.blockstore import BlockStore
from consortia.protoutil import block as blocks
from consortia.protoutil.envelope import unpack_envelope
from consortia.protoutil.transaction import unpack_transaction
from peer.ledger.pvtcommit import CollectionRules, Received, private_updates
from peer.ledger.pvtdata import is_private_ns
from peer.ledger.rwset import TxRWSet, Version, parse_rwset
from peer.ledger.statedb import BlockUpdates, StateDB, StateReader, StateUpdate
from peer.ledger.updates import apply_rwset, state_namespaces

log = logging.getLogger(__name__)

DB_FILE = "ledger.db"
# What a peer that lost its database (or an operator who removed it) pays for a new one.
_REBUILD_COST = ("rebuilds the state from the block file, but loses the private data this peer holds that no "
                 "other member peer can send it again (if it is its org's only peer, the org's chaincode "
                 "approvals among them)")
VALID = transaction_pb2.VALID


class LedgerError(ConsortiaError):
    """The ledger cannot be used (inconsistent files, a block out of order)."""


def commit_hash(previous: bytes, number: int, codes: bytes, updates: dict[tuple[str, str], StateUpdate]) -> bytes:
    """A hash over everything a block committed, chained to the previous block's.

    Two peers with the same commit hash hold the same state (private values apart, which
    only some peers have); the field is Fabric's COMMIT_HASH metadata, though Fabric
    hashes its own internal encoding of updates.
    """
    digest = hashlib.sha256()
    digest.update(previous)
    digest.update(number.to_bytes(8, "big"))
    digest.update(len(codes).to_bytes(4, "big") + codes)
    for (ns, key), update in sorted(updates.items()):
        if is_private_ns(ns):
            continue
        for part in (ns.encode(), key.encode(), b"" if update.value is None else b"\x01" + update.value,
                     b"" if update.metadata is None else b"\x01" + update.metadata):
            digest.update(len(part).to_bytes(4, "big") + part)
    return digest.digest()


def _valid_rwsets(block: common_pb2.Block) -> Iterable[tuple[int, TxRWSet]]:
    """The read-write sets of a stored block's valid endorser transactions."""
    codes = blocks.transactions_filter(block)
    for index, raw in enumerate(block.data.data):
        if index >= len(codes) or codes[index] != VALID:
            continue
        try:
            tx = unpack_transaction(raw)
        except MessageError:
            continue  # a valid config transaction
        yield index, parse_rwset(tx.actions[0].chaincode_action.results)


def _tx_ids(block: common_pb2.Block) -> list[tuple[str, int, int]]:
    """(tx id, position, validation code) of a stored block's transactions that have one."""
    codes = blocks.transactions_filter(block)
    found = []
    for index, raw in enumerate(block.data.data):
        try:
            tx_id = unpack_envelope(raw).tx_id
        except MessageError:
            continue
        if tx_id:
            found.append((tx_id, index, codes[index] if index < len(codes) else 255))
    return found


class NoCollections:
    """A ledger that keeps no private values (every collection's hashes still commit)."""

    def keeps(self, state: StateReader, namespace: str, collection: str) -> bool:
        return False

    def block_to_live(self, state: StateReader, namespace: str, collection: str) -> int:
        return 0


def _encode_received(received: Received) -> bytes:
    return json.dumps([[tx, ns, coll, data.hex()] for (tx, ns, coll), data in sorted(received.items())]).encode()


def _decode_received(data: bytes | None) -> dict[tuple[int, str, str], bytes]:
    return {} if data is None else {(tx, ns, coll): bytes.fromhex(hex_) for tx, ns, coll, hex_ in json.loads(data)}


class PeerLedger:
    def __init__(self, folder: str | Path, collections: CollectionRules | None = None) -> None:
        self.folder = Path(folder)
        self.collections: CollectionRules = collections or NoCollections()
        self.blocks = BlockStore(self.folder)
        try:
            self.db = StateDB(self.folder / DB_FILE)
        except sqlite3.DatabaseError as exc:
            self.blocks.close()
            raise LedgerError(f"{self.folder / DB_FILE} cannot be opened ({exc}): restore it from a backup, or move "
                              f"it aside, and the peer {_REBUILD_COST}") from exc
        self._behind = False  # True when a block reached the block file but not the state
        self._last_hash: tuple[int, bytes] | None = None
        try:
            self._recover()
        except BaseException:
            self.close()
            raise

    @property
    def height(self) -> int:
        return self.blocks.height

    def state(self) -> StateReader:
        return self.db

    def last_commit_hash(self) -> bytes:
        return self.db.savepoint()[1]

    def last_header_hash(self) -> bytes:
        """Header hash of the last block: the previous hash the next block must carry."""
        height = self.blocks.height
        if self._last_hash is None or self._last_hash[0] != height:
            last = self.blocks.last()
            if last is None:
                raise LedgerError(f"{self.folder}: the ledger holds no block yet")
            self._last_hash = (height, blocks.header_hash(last.header))
        return self._last_hash[1]

    def _recover(self) -> None:
        saved, _ = self.db.savepoint()
        if saved > self.blocks.height:
            raise LedgerError(
                f"{self.folder}: the state database is at block {saved - 1} but the block file ends at "
                f"{self.blocks.height - 1}; restore the block file, from a backup or from another peer of the "
                f"channel (copied while that peer is stopped: honest peers' block files are the same). Deleting "
                f"{DB_FILE} instead {_REBUILD_COST}"
            )
        if saved < self.blocks.height:
            log.info("%s: replaying blocks %d..%d into the state database", self.folder, saved, self.blocks.height - 1)
        for number in range(saved, self.blocks.height):
            block = self.blocks.get(number)
            self.db.apply(self._updates_from_stored(block))
        if saved < self.blocks.height and (missing := self.db.count_missing_private(saved)):
            # A crash leaves the private data of the replayed blocks pending here; a
            # database rebuilt from nothing has lost it.
            log.warning("%s: %d private write set(s) of the replayed blocks %d..%d are missing here; they are asked "
                        "of the other member peers, and what no other peer holds is lost", self.folder, missing,
                        saved, self.blocks.height - 1)

    def _updates_from_stored(self, block: common_pb2.Block) -> BlockUpdates:
        """What a stored block committed, rebuilt from its valid transactions."""
        number = int(block.header.number)
        state: dict[tuple[str, str], StateUpdate] = {}
        history: list[tuple[str, str, Version]] = []
        rwsets = list(_valid_rwsets(block))
        for index, rwset in rwsets:
            for ns in rwset.namespaces:
                for part in state_namespaces(ns):
                    apply_rwset(state, history, part, Version(number, index), self.db.get)
        received = _decode_received(self.db.pending_private(number))
        private = private_updates(number, rwsets, received, self.collections, self.db, state, self.db.get)
        stored = blocks.commit_hash_of(block)
        return BlockUpdates(number=number, state=state, history=history, txids=_tx_ids(block), commit_hash=stored,
                            private=private)

    def commit(self, block: common_pb2.Block, codes: list[int], updates: dict[tuple[str, str], StateUpdate],
               history: list[tuple[str, str, Version]],
               tx_ids: Iterable[tuple[str, int, int]] | None = None,
               valid: Iterable[tuple[int, TxRWSet]] | None = None, received: Received | None = None) -> bytes:
        """Store a validated block durably, then its updates; return its commit hash.

        `tx_ids` are the (tx id, position, validation code) validation found
        (`ValidationResult.tx_ids()`); without them they are read from the block.
        `valid` are the read-write sets of its valid transactions (read from the block
        without them), `received` the private write sets at hand (checked against the
        block's hashes), which `updates` gains on a member peer.
        """
        if self._behind:
            # A block reached the block file but its state update failed: catch up first,
            # or this block would be validated and chained against stale state.
            self._recover()
            self._behind = False
            raise LedgerError(f"{self.folder}: the state was behind the block file and has caught up; "
                              f"validate block {block.header.number} again")
        number = int(block.header.number)
        if number != self.blocks.height:
            raise LedgerError(f"expected block {self.blocks.height}, was given block {number}")
        blocks.set_transactions_filter(block, codes)
        digest = commit_hash(self.last_commit_hash(), number, bytes(codes), updates)
        blocks.set_commit_hash(block, digest)
        received = received or {}
        rwsets = list(_valid_rwsets(block)) if valid is None else list(valid)
        private = private_updates(number, rwsets, received, self.collections, self.db, updates, self.db.get)
        if private.received:
            self.db.put_pending_private(number, _encode_received({(tx, ns, coll): data for tx, ns, coll, data, _
                                                                  in private.received}))
        self.blocks.append(block)
        self._last_hash = (number + 1, blocks.header_hash(block.header))
        try:
            self.db.apply(BlockUpdates(number=number, state=updates, history=history,
                                       txids=_tx_ids(block) if tx_ids is None else tx_ids, commit_hash=digest,
                                       private=private))
        except BaseException:
            self._behind = True
            raise
        return digest

    def close(self) -> None:
        self.blocks.close()
        self.db.close()
