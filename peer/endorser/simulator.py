"""TxSimulator: a proposal's execution against one snapshot of committed state.

It never writes to the state. Reads come from a snapshot taken when the simulation
starts (commits of new blocks proceed meanwhile and are not seen), and are recorded
with the version read; writes and metadata writes are recorded; range scans record
what they returned so validation can detect phantoms. Like Fabric, a transaction does
not read its own writes, and a transaction that ran a paginated query may not write
(its results could not be validated).

`results()` gives the TxReadWriteSet with namespaces and keys sorted, so that every
endorser of the same proposal produces the same bytes.

Private data (see `peer.ledger.pvtdata`): reads of a collection record the version of
the key's hash; writes go to the collection's private write set (`private_results()`),
whose hash and the hashes of its keys and values are all the read-write set carries.
Range and rich queries on a collection are not recorded (Fabric does not re-check
them at validation).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

from consortia.errors import ConsortiaError
from peer.ledger import pvtdata
from peer.ledger.pvtdata import CollPvtRWSet
from peer.ledger.queries import KV, LedgerQueries, Page
from peer.ledger.rwset import Version
from peer.ledger.statedb import StateReader


class SimulationError(ConsortiaError):
    """The chaincode asked for something the simulation cannot do."""


@dataclass
class _Collection:
    reads: dict[str, Version | None] = field(default_factory=dict)  # by plain key
    writes: dict[str, bytes | None] = field(default_factory=dict)
    purges: set[str] = field(default_factory=set)
    metadata: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def pvt_rwset(self) -> bytes:
        """The private write set: plain keys and values, which only member peers receive."""
        return bytes(kv_rwset_pb2.KVRWSet(
            writes=[kv_rwset_pb2.KVWrite(key=k, is_delete=v is None, value=v or b"") for k, v in sorted(self.writes.items())],
            metadata_writes=_metadata_writes(self.metadata),
        ).SerializeToString())

    def hashed(self, name: str, pvt_hash: bytes) -> rwset_pb2.CollectionHashedReadWriteSet:
        hashed = kv_rwset_pb2.HashedRWSet(
            hashed_reads=[
                kv_rwset_pb2.KVReadHash(key_hash=pvtdata.key_hash(k)) if v is None else
                kv_rwset_pb2.KVReadHash(key_hash=pvtdata.key_hash(k),
                                        version=kv_rwset_pb2.Version(block_num=v.block, tx_num=v.tx))
                for k, v in sorted(self.reads.items())
            ],
            hashed_writes=[
                kv_rwset_pb2.KVWriteHash(key_hash=pvtdata.key_hash(k), is_delete=v is None,
                                         value_hash=b"" if v is None else pvtdata.value_hash(v), is_purge=k in self.purges)
                for k, v in sorted(self.writes.items())
            ],
            metadata_writes=[
                kv_rwset_pb2.KVMetadataWriteHash(key_hash=pvtdata.key_hash(k), entries=[
                    kv_rwset_pb2.KVMetadataEntry(name=n, value=e[n]) for n in sorted(e)])
                for k, e in sorted(self.metadata.items())
            ],
        )
        return rwset_pb2.CollectionHashedReadWriteSet(collection_name=name, hashed_rwset=hashed.SerializeToString(),
                                                      pvt_rwset_hash=pvt_hash)

    @property
    def wrote(self) -> bool:
        return bool(self.writes or self.metadata)


@dataclass
class _Namespace:
    reads: dict[str, Version | None] = field(default_factory=dict)
    writes: dict[str, bytes | None] = field(default_factory=dict)
    metadata: dict[str, dict[str, bytes]] = field(default_factory=dict)
    ranges: list[kv_rwset_pb2.RangeQueryInfo] = field(default_factory=list)
    collections: dict[str, _Collection] = field(default_factory=dict)

    def wrote(self) -> bool:
        return bool(self.writes or self.metadata) or any(c.wrote for c in self.collections.values())


class RangeScan:
    """An open range query of a simulation; it records its reads when it ends."""

    def __init__(self, simulator: TxSimulator, ns: str, start: str, end: str) -> None:
        self._simulator = simulator
        self._ns = ns
        self._start = start
        self._end = end
        self._results: Iterator[KV] = simulator.queries.range(ns, start, end)
        self._seen: list[KV] = []
        self._done = False

    def next_batch(self, size: int) -> tuple[list[KV], bool]:
        """Up to `size` more results, and whether there are more after them."""
        batch: list[KV] = []
        for item in self._results:
            batch.append(item)
            if len(batch) == size:
                break
        self._seen.extend(batch)
        if len(batch) < size:
            self.close(exhausted=True)
            return batch, False
        return batch, True

    def close(self, exhausted: bool = False) -> None:
        """End the scan. Stopped early, its recorded range ends at the last key returned,
        which is how Fabric records it and how validation checks it."""
        if self._done:
            return
        self._done = True
        if not exhausted and not self._seen:
            return  # closed before reading anything: the transaction depends on nothing here
        end = self._end if exhausted else self._seen[-1].key
        info = kv_rwset_pb2.RangeQueryInfo(
            start_key=self._start, end_key=end, itr_exhausted=exhausted,
            raw_reads=kv_rwset_pb2.QueryReads(kv_reads=[
                kv_rwset_pb2.KVRead(key=kv.key, version=kv_rwset_pb2.Version(block_num=kv.version.block, tx_num=kv.version.tx))
                for kv in self._seen
            ]),
        )
        self._simulator._ns(self._ns).ranges.append(info)


class TxSimulator:
    def __init__(self, state: StateReader, queries: LedgerQueries) -> None:
        self.state = state
        self.queries = queries
        self._namespaces: dict[str, _Namespace] = {}
        self._paginated = False
        self._scans: list[RangeScan] = []

    def _ns(self, ns: str) -> _Namespace:
        return self._namespaces.setdefault(ns, _Namespace())

    def _read(self, ns: str, key: str) -> tuple[bytes | None, dict[str, bytes]]:
        current = self.state.get(ns, key)
        record = self._ns(ns).reads
        if key not in record:
            record[key] = None if current is None else current.version
        if current is None:
            return None, {}
        return current.value, current.metadata_entries()

    def get_state(self, ns: str, key: str) -> bytes | None:
        return self._read(ns, key)[0]

    def get_state_metadata(self, ns: str, key: str) -> dict[str, bytes]:
        return self._read(ns, key)[1]

    def _check_writable(self) -> None:
        if self._paginated:
            raise SimulationError("a transaction that ran a paginated query cannot write (as in Fabric)")

    def set_state(self, ns: str, key: str, value: bytes) -> None:
        self._check_writable()
        self._ns(ns).writes[key] = value

    def delete_state(self, ns: str, key: str) -> None:
        self._check_writable()
        self._ns(ns).writes[key] = None

    def set_state_metadata(self, ns: str, key: str, name: str, value: bytes) -> None:
        """Set one metadata entry; the key's other entries (as committed) are kept."""
        self._check_writable()
        entries = self._ns(ns).metadata.get(key)
        if entries is None:
            entries = dict(self.get_state_metadata(ns, key))
        entries[name] = value
        self._ns(ns).metadata[key] = entries

    # ----- private data ---------------------------------------------------------------

    def _coll(self, ns: str, collection: str) -> _Collection:
        return self._ns(ns).collections.setdefault(collection, _Collection())

    def _read_hash(self, ns: str, collection: str, key: str) -> tuple[Version | None, bytes | None, dict[str, bytes]]:
        """The key's hash as committed (recorded as read): version, value hash, metadata."""
        current = self.state.get(pvtdata.hashed_ns(ns, collection), pvtdata.key_hash(key).hex())
        record = self._coll(ns, collection).reads
        version = None if current is None else current.version
        record.setdefault(key, version)
        if current is None:
            return None, None, {}
        return version, current.value, current.metadata_entries()

    def get_private(self, ns: str, collection: str, key: str) -> bytes | None:
        """The committed private value (this peer must keep the collection's data)."""
        version, _, _ = self._read_hash(ns, collection, key)
        if version is None:
            return None
        held = self.state.get(pvtdata.private_ns(ns, collection), key)
        if held is None or held.version != version:
            raise SimulationError(
                f"private data matching public hash version is not available on this peer: key {key!r} of "
                f"collection {collection} of {ns} is at block {version.block} tx {version.tx}, this peer holds "
                + ("no value" if held is None else f"block {held.version.block} tx {held.version.tx}")
                + " (it may not have received it yet)")
        return held.value

    def get_private_hash(self, ns: str, collection: str, key: str) -> bytes | None:
        """SHA-256 of the committed value: every peer of the channel has it."""
        return self._read_hash(ns, collection, key)[1]

    def get_private_metadata(self, ns: str, collection: str, key: str) -> dict[str, bytes]:
        return self._read_hash(ns, collection, key)[2]

    def set_private(self, ns: str, collection: str, key: str, value: bytes) -> None:
        self._check_writable()
        coll = self._coll(ns, collection)
        coll.writes[key] = value
        coll.purges.discard(key)

    def delete_private(self, ns: str, collection: str, key: str) -> None:
        self._check_writable()
        coll = self._coll(ns, collection)
        coll.writes[key] = None
        coll.purges.discard(key)

    def purge_private(self, ns: str, collection: str, key: str) -> None:
        """Delete the key and, at commit, every value it ever had on every member peer."""
        self._check_writable()
        coll = self._coll(ns, collection)
        coll.writes[key] = None
        coll.purges.add(key)

    def set_private_metadata(self, ns: str, collection: str, key: str, name: str, value: bytes) -> None:
        self._check_writable()
        coll = self._coll(ns, collection)
        entries = coll.metadata.get(key)
        if entries is None:
            entries = dict(self.get_private_metadata(ns, collection, key))
        entries[name] = value
        coll.metadata[key] = entries

    def private_range(self, ns: str, collection: str, start: str, end: str) -> Iterator[KV]:
        return self.queries.range(pvtdata.private_ns(ns, collection), start, end)

    def private_query(self, ns: str, collection: str, text: str) -> Page:
        return self.queries.query(pvtdata.private_ns(ns, collection), text)

    def private_results(self) -> list[CollPvtRWSet]:
        """The private write set of each collection written, for the transient store and
        the member peers (never for the block)."""
        return [CollPvtRWSet(name, cname, coll.pvt_rwset())
                for name, ns in sorted(self._namespaces.items())
                for cname, coll in sorted(ns.collections.items()) if coll.wrote]

    # ----- queries --------------------------------------------------------------------

    def range_scan(self, ns: str, start: str, end: str) -> RangeScan:
        scan = RangeScan(self, ns, start, end)
        self._scans.append(scan)
        return scan

    def range_page(self, ns: str, start: str, end: str, page_size: int, bookmark: str) -> Page:
        self._mark_paginated()
        return self.queries.range_page(ns, start, end, page_size, bookmark)

    def query(self, ns: str, text: str, page_size: int | None = None, bookmark: str | None = None) -> Page:
        """Rich queries are not re-checked at validation (Fabric does not either)."""
        if page_size is not None:
            self._mark_paginated()
        return self.queries.query(ns, text, page_size, bookmark)

    def _mark_paginated(self) -> None:
        if any(ns.wrote() for ns in self._namespaces.values()):
            raise SimulationError("a transaction that wrote cannot run a paginated query (as in Fabric)")
        self._paginated = True

    def results(self) -> bytes:
        """The TxReadWriteSet, namespaces and keys sorted."""
        for scan in self._scans:
            scan.close()
        ns_sets = []
        for name in sorted(self._namespaces):
            ns = self._namespaces[name]
            kv = kv_rwset_pb2.KVRWSet(
                reads=[
                    kv_rwset_pb2.KVRead(key=k) if v is None else
                    kv_rwset_pb2.KVRead(key=k, version=kv_rwset_pb2.Version(block_num=v.block, tx_num=v.tx))
                    for k, v in sorted(ns.reads.items())
                ],
                range_queries_info=ns.ranges,
                writes=[kv_rwset_pb2.KVWrite(key=k, is_delete=v is None, value=v or b"")
                        for k, v in sorted(ns.writes.items())],
                metadata_writes=_metadata_writes(ns.metadata),
            )
            hashed = [coll.hashed(cname, hashlib.sha256(coll.pvt_rwset()).digest() if coll.wrote else b"")
                      for cname, coll in sorted(ns.collections.items())]
            ns_sets.append(rwset_pb2.NsReadWriteSet(namespace=name, rwset=kv.SerializeToString(),
                                                    collection_hashed_rwset=hashed))
        return bytes(rwset_pb2.TxReadWriteSet(data_model=rwset_pb2.TxReadWriteSet.KV, ns_rwset=ns_sets).SerializeToString())



def _metadata_writes(metadata: dict[str, dict[str, bytes]]) -> list[kv_rwset_pb2.KVMetadataWrite]:
    return [kv_rwset_pb2.KVMetadataWrite(key=k, entries=[kv_rwset_pb2.KVMetadataEntry(name=n, value=e[n]) for n in sorted(e)])
            for k, e in sorted(metadata.items())]
