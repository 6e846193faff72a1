"""Read-write sets, decoded from Fabric's `TxReadWriteSet` into plain values.

An endorser records, per chaincode namespace, which keys it read at which version,
which ranges it scanned (and what they returned), and what it wrote. Validation checks
the reads against committed state; commit applies the writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

from consortia.errors import MessageError
from consortia.protoutil.envelope import decode

VALIDATION_PARAMETER = "VALIDATION_PARAMETER"  # Fabric's metadata key for key-level policies


@dataclass(frozen=True, order=True)
class Version:
    """Where a value was written: block number and position of the transaction in it."""

    block: int
    tx: int


@dataclass(frozen=True)
class KVRead:
    key: str
    version: Version | None  # None: the key did not exist


@dataclass(frozen=True)
class RangeQuery:
    start: str
    end: str
    exhausted: bool
    reads: tuple[KVRead, ...]
    merkle_summary: bool  # Fabric peers summarise long results; our endorsers never do


@dataclass(frozen=True)
class KVWrite:
    key: str
    is_delete: bool
    value: bytes


@dataclass(frozen=True)
class MetadataWrite:
    key: str
    entries: tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class HashedRead:
    key_hash: bytes
    version: Version | None


@dataclass(frozen=True)
class HashedWrite:
    key_hash: bytes
    is_delete: bool
    value_hash: bytes
    is_purge: bool = False


@dataclass(frozen=True)
class HashedMetadataWrite:
    key_hash: bytes
    entries: tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class CollHashedRWSet:
    """What a transaction did to one private data collection, as the block carries it:
    SHA-256 hashes of keys and values, and the hash of the private write set that member
    peers receive apart from the block (empty when the transaction wrote nothing there)."""

    collection: str
    reads: tuple[HashedRead, ...]
    writes: tuple[HashedWrite, ...]
    metadata_writes: tuple[HashedMetadataWrite, ...]
    pvt_rwset_hash: bytes

    @property
    def written_key_hashes(self) -> list[bytes]:
        return [w.key_hash for w in self.writes] + [m.key_hash for m in self.metadata_writes]


@dataclass(frozen=True)
class NsRWSet:
    namespace: str
    reads: tuple[KVRead, ...]
    range_queries: tuple[RangeQuery, ...]
    writes: tuple[KVWrite, ...]
    metadata_writes: tuple[MetadataWrite, ...]
    collections: tuple[CollHashedRWSet, ...] = ()

    @property
    def written_keys(self) -> list[str]:
        return [w.key for w in self.writes] + [m.key for m in self.metadata_writes]

    @property
    def writes_anything(self) -> bool:
        """Whether it writes public keys or private ones (the chaincode's policy then applies)."""
        return bool(self.written_keys) or any(c.written_key_hashes for c in self.collections)


@dataclass(frozen=True)
class TxRWSet:
    namespaces: tuple[NsRWSet, ...]


def _version(proto: kv_rwset_pb2.Version, present: bool) -> Version | None:
    return Version(int(proto.block_num), int(proto.tx_num)) if present else None


def _reads(reads: list[kv_rwset_pb2.KVRead]) -> tuple[KVRead, ...]:
    return tuple(KVRead(r.key, _version(r.version, r.HasField("version"))) for r in reads)


def parse_rwset(data: bytes) -> TxRWSet:
    """Decode a TxReadWriteSet; MessageError naming what is malformed."""
    txrw = decode(rwset_pb2.TxReadWriteSet, data, "read-write set")
    if txrw.data_model != rwset_pb2.TxReadWriteSet.KV:
        raise MessageError(f"read-write set has data model {txrw.data_model}; only KV (0) is supported")
    namespaces = []
    seen: set[str] = set()
    for ns in txrw.ns_rwset:
        if not ns.namespace:
            raise MessageError("read-write set has a namespace with no name")
        if ns.namespace in seen:
            raise MessageError(f"read-write set lists namespace {ns.namespace!r} twice")
        seen.add(ns.namespace)
        kv = decode(kv_rwset_pb2.KVRWSet, ns.rwset, f"read-write set of {ns.namespace}")
        namespaces.append(
            NsRWSet(
                namespace=ns.namespace,
                reads=_reads(list(kv.reads)),
                range_queries=tuple(
                    RangeQuery(
                        start=q.start_key,
                        end=q.end_key,
                        exhausted=q.itr_exhausted,
                        reads=_reads(list(q.raw_reads.kv_reads)),
                        merkle_summary=q.HasField("reads_merkle_hashes"),
                    )
                    for q in kv.range_queries_info
                ),
                writes=tuple(KVWrite(w.key, w.is_delete, bytes(w.value)) for w in kv.writes),
                metadata_writes=tuple(
                    MetadataWrite(m.key, tuple((e.name, bytes(e.value)) for e in m.entries)) for m in kv.metadata_writes
                ),
                collections=_collections(ns),
            )
        )
    return TxRWSet(namespaces=tuple(namespaces))


def _collections(ns: rwset_pb2.NsReadWriteSet) -> tuple[CollHashedRWSet, ...]:
    found = []
    seen: set[str] = set()
    for coll in ns.collection_hashed_rwset:
        where = f"collection {coll.collection_name!r} of {ns.namespace}"
        if not coll.collection_name:
            raise MessageError(f"read-write set of {ns.namespace} has a collection with no name")
        if coll.collection_name in seen:
            raise MessageError(f"read-write set lists {where} twice")
        seen.add(coll.collection_name)
        hashed = decode(kv_rwset_pb2.HashedRWSet, coll.hashed_rwset, f"hashed read-write set of {where}")
        for key_hash in [r.key_hash for r in hashed.hashed_reads] + [w.key_hash for w in hashed.hashed_writes]:
            if len(key_hash) != 32:
                raise MessageError(f"hashed read-write set of {where} has a key hash of {len(key_hash)} bytes, not 32")
        found.append(CollHashedRWSet(
            collection=coll.collection_name,
            reads=tuple(HashedRead(bytes(r.key_hash), _version(r.version, r.HasField("version")))
                        for r in hashed.hashed_reads),
            writes=tuple(HashedWrite(bytes(w.key_hash), w.is_delete, bytes(w.value_hash), w.is_purge)
                         for w in hashed.hashed_writes),
            metadata_writes=tuple(HashedMetadataWrite(bytes(m.key_hash), tuple((e.name, bytes(e.value)) for e in m.entries))
                                  for m in hashed.metadata_writes),
            pvt_rwset_hash=bytes(coll.pvt_rwset_hash),
        ))
    return tuple(found)
