"""Private data: the hashes a block carries, and the values member peers keep apart.

A transaction's work on a private data collection travels in two parts. The block
carries a hashed read-write set (SHA-256 of every key and value) and the hash of the
collection's private write set; the private write set itself (a KVRWSet of plain keys
and values) goes only to peers of the collection's member organizations, which check it
against that hash before they keep it.

State keeps both beside public data, as Fabric's state database does, under derived
namespaces no chaincode can have (chaincode names never contain '$'):
`ns$$h<collection>` holds each key's value hash, keyed by the key hash in hex, on every
peer of the channel, and `ns$$p<collection>` holds the values on member peers. A
private key's version is that of its hash, and its metadata (a key-level endorsement
policy) lives with the hash, where validation reads it on every peer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

from consortia.errors import MessageError
from consortia.protoutil.envelope import decode
from peer.ledger.rwset import CollHashedRWSet, KVRead, KVWrite, MetadataWrite, NsRWSet

HASHED = "$$h"
PRIVATE = "$$p"


def hashed_ns(namespace: str, collection: str) -> str:
    return f"{namespace}{HASHED}{collection}"


def private_ns(namespace: str, collection: str) -> str:
    return f"{namespace}{PRIVATE}{collection}"


def is_private_ns(namespace: str) -> bool:
    """Whether a state namespace holds private values (which only member peers have)."""
    return PRIVATE in namespace


def is_derived_ns(namespace: str) -> bool:
    return "$$" in namespace


def split_derived(namespace: str) -> tuple[str, str]:
    """(chaincode, collection) of a derived namespace."""
    chaincode, _, rest = namespace.partition("$$")
    return chaincode, rest[1:]


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def value_hash(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


@dataclass(frozen=True)
class CollPvtRWSet:
    """One collection's private write set, as endorsed: `rwset` is the serialized KVRWSet
    whose SHA-256 the block's hashed set records."""

    namespace: str
    collection: str
    rwset: bytes

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.rwset).digest()

    def state_writes(self) -> NsRWSet:
        """The writes as they apply to the private state namespace."""
        where = f"private write set of collection {self.collection!r} of {self.namespace}"
        kv = decode(kv_rwset_pb2.KVRWSet, self.rwset, where)
        return NsRWSet(namespace=private_ns(self.namespace, self.collection), reads=(), range_queries=(),
                       writes=tuple(KVWrite(w.key, w.is_delete, bytes(w.value)) for w in kv.writes),
                       metadata_writes=())


def parse_pvt(data: bytes) -> list[CollPvtRWSet]:
    """The collections of a serialized TxPvtReadWriteSet; MessageError if malformed."""
    message = decode(rwset_pb2.TxPvtReadWriteSet, data, "private read-write set")
    found = []
    for ns in message.ns_pvt_rwset:
        for coll in ns.collection_pvt_rwset:
            if not ns.namespace or not coll.collection_name:
                raise MessageError("private read-write set has a namespace or collection with no name")
            found.append(CollPvtRWSet(ns.namespace, coll.collection_name, bytes(coll.rwset)))
    return found


def encode_pvt(sets: Iterable[CollPvtRWSet]) -> bytes:
    """A TxPvtReadWriteSet of `sets`, namespaces and collections sorted."""
    by_ns: dict[str, list[CollPvtRWSet]] = {}
    for item in sets:
        by_ns.setdefault(item.namespace, []).append(item)
    message = rwset_pb2.TxPvtReadWriteSet(data_model=rwset_pb2.TxReadWriteSet.KV, ns_pvt_rwset=[
        rwset_pb2.NsPvtReadWriteSet(namespace=ns, collection_pvt_rwset=[
            rwset_pb2.CollectionPvtReadWriteSet(collection_name=c.collection, rwset=c.rwset)
            for c in sorted(by_ns[ns], key=lambda c: c.collection)
        ])
        for ns in sorted(by_ns)
    ])
    return bytes(message.SerializeToString())


def hashed_state_writes(namespace: str, coll: CollHashedRWSet) -> NsRWSet:
    """A collection's hashed set as reads and writes of its hashed state namespace, so
    MVCC checks and commit treat it as they treat public keys (a purge is a delete)."""
    return NsRWSet(
        namespace=hashed_ns(namespace, coll.collection),
        reads=tuple(KVRead(r.key_hash.hex(), r.version) for r in coll.reads),
        range_queries=(),
        writes=tuple(KVWrite(w.key_hash.hex(), w.is_delete, b"" if w.is_delete else w.value_hash) for w in coll.writes),
        metadata_writes=tuple(MetadataWrite(m.key_hash.hex(), m.entries) for m in coll.metadata_writes),
    )


def matches(pvt: CollPvtRWSet, hashed: CollHashedRWSet) -> bool:
    """Whether a private write set is the one the block's hashed set was endorsed with."""
    return bool(hashed.pvt_rwset_hash) and pvt.digest == hashed.pvt_rwset_hash


def consistent(pvt: CollPvtRWSet, hashed: CollHashedRWSet) -> bool:
    """Whether a private write set is the endorsed one, or what purges left of it (the
    writes of purged keys removed): every write it still has matches the block's hashes.
    A member peer that missed the set gets the rest from a peer that kept it."""
    if matches(pvt, hashed):
        return True
    try:
        writes = pvt.state_writes().writes
    except MessageError:
        return False
    expected = {w.key_hash: w for w in hashed.writes}
    for write in writes:
        found = expected.get(key_hash(write.key))
        if found is None or found.is_delete != write.is_delete or (
                not write.is_delete and found.value_hash != value_hash(write.value)):
            return False
    return True
