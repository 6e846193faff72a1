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
class NsRWSet:
    namespace: str
    reads: tuple[KVRead, ...]
    range_queries: tuple[RangeQuery, ...]
    writes: tuple[KVWrite, ...]
    metadata_writes: tuple[MetadataWrite, ...]
    collections: tuple[str, ...]

    @property
    def written_keys(self) -> list[str]:
        return [w.key for w in self.writes] + [m.key for m in self.metadata_writes]


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
                collections=tuple(c.collection_name for c in ns.collection_hashed_rwset),
            )
        )
    return TxRWSet(namespaces=tuple(namespaces))
