"""What a block commits of private data, decided the same way at commit and at replay.

For every valid transaction's collection write: the hashes go to every peer's state; a
peer whose organization is a member of the collection also applies the private values
it received (already checked against the block's hash), and records as missing those
it did not receive, for the reconciler. Values of a collection with a blockToLive of N
written at block b expire when block b+N+1 commits (hashes too, as in Fabric's state;
the block keeps them). A purge removes every value the key ever had on member peers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from peer.ledger import pvtdata
from peer.ledger.pvtdata import CollPvtRWSet
from peer.ledger.rwset import TxRWSet, Version
from peer.ledger.statedb import (
    MissingPrivate,
    PrivateWrites,
    StateReader,
    VersionedValue,
)
from peer.ledger.updates import Updates, apply_rwset

# A block's private write sets at hand, by (position in block, namespace, collection).
Received = Mapping[tuple[int, str, str], bytes]


class CollectionRules(Protocol):
    """What the committed chaincode definitions say of a collection (as of `state`)."""

    def keeps(self, state: StateReader, namespace: str, collection: str) -> bool:
        """Whether this peer's organization is a member that keeps the collection's data."""
        ...

    def block_to_live(self, state: StateReader, namespace: str, collection: str) -> int: ...


def private_updates(number: int, rwsets: Iterable[tuple[int, TxRWSet]], received: Received, rules: CollectionRules,
                    state: StateReader, updates: Updates,
                    committed: Callable[[str, str], VersionedValue | None]) -> PrivateWrites:
    """Add the private values of a block's valid transactions to `updates`, in block order,
    and return the bookkeeping the block changes."""
    private = PrivateWrites()
    # What the definitions say of each collection, read once per block (not per write).
    known: dict[tuple[str, str], tuple[int, bool]] = {}
    for index, rwset in rwsets:
        for ns in rwset.namespaces:
            for coll in ns.collections:
                name = coll.collection
                if (ns.namespace, name) not in known:
                    known[(ns.namespace, name)] = (rules.block_to_live(state, ns.namespace, name),
                                                   rules.keeps(state, ns.namespace, name))
                btl, keeps = known[(ns.namespace, name)]
                expire = number + btl + 1 if btl else None
                hashed = pvtdata.hashed_ns(ns.namespace, name)
                for write in coll.writes:
                    if write.is_purge:
                        private.purges.append((ns.namespace, name, write.key_hash))
                    elif expire is not None and not write.is_delete:
                        private.expiry.append((expire, hashed, write.key_hash.hex(), number, index))
                if not coll.pvt_rwset_hash or not keeps:
                    continue
                data = received.get((index, ns.namespace, name))
                if data is None:
                    private.missing.append(
                        (MissingPrivate(number, index, ns.namespace, name, coll.pvt_rwset_hash), expire))
                    continue
                writes = CollPvtRWSet(ns.namespace, name, data).state_writes()
                apply_rwset(updates, [], writes, Version(number, index), committed)
                private.received.append((index, ns.namespace, name, data, expire))
                if expire is not None:
                    private.expiry.extend((expire, writes.namespace, w.key, number, index)
                                          for w in writes.writes if not w.is_delete)
    return private
