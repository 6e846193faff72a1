"""How a valid transaction's writes change state: one rule for commit and for replay.

Writes come first, then metadata writes. A metadata write replaces the key's metadata
(an empty one clears it) and gives the key a new version; metadata of a key that does
not exist (or that this transaction deletes) is not kept, and a key deleted and written
again within a block loses its metadata, as in Fabric.
"""

from __future__ import annotations

from collections.abc import Callable

from peer.ledger.pvtdata import hashed_state_writes, is_derived_ns
from peer.ledger.rwset import NsRWSet, Version
from peer.ledger.statedb import StateUpdate, VersionedValue, encode_metadata

Updates = dict[tuple[str, str], StateUpdate]
History = list[tuple[str, str, Version]]


def apply_rwset(
    updates: Updates,
    history: History,
    ns: NsRWSet,
    version: Version,
    committed: Callable[[str, str], VersionedValue | None],
) -> None:
    """Add one namespace's writes of a valid transaction at `version` to `updates`."""
    name = ns.namespace
    for write in ns.writes:
        pending = updates.get((name, write.key))
        # A new value keeps the key's metadata, unless an earlier transaction of the block
        # deleted the key: then it starts without any (Fabric's retrieveLatestMetadata).
        metadata = b"" if pending is not None and pending.value is None else (pending.metadata if pending else None)
        updates[(name, write.key)] = StateUpdate(None if write.is_delete else write.value, version,
                                                 None if write.is_delete else metadata)
        if not is_derived_ns(name):  # as Fabric, no history of private data
            history.append((name, write.key, version))
    for meta in ns.metadata_writes:
        pending = updates.get((name, meta.key))
        if pending is not None:
            value = pending.value
        else:
            current = committed(name, meta.key)
            value = current.value if current is not None else None
        if value is None:
            continue
        updates[(name, meta.key)] = StateUpdate(value, version, encode_metadata(dict(meta.entries)) or b"")


def state_namespaces(ns: NsRWSet) -> list[NsRWSet]:
    """A namespace's read-write set and those of its collections' hashes, each as the
    state namespace it reads and writes (private values are applied apart, by members)."""
    return [ns, *(hashed_state_writes(ns.namespace, coll) for coll in ns.collections)]
