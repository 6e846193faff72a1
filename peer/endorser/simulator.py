"""TxSimulator: a proposal's execution against one snapshot of committed state.

It never writes to the state. Reads come from a snapshot taken when the simulation
starts (commits of new blocks proceed meanwhile and are not seen), and are recorded
with the version read; writes and metadata writes are recorded; range scans record
what they returned so validation can detect phantoms. Like Fabric, a transaction does
not read its own writes, and a transaction that ran a paginated query may not write
(its results could not be validated).

`results()` gives the TxReadWriteSet with namespaces and keys sorted, so that every
endorser of the same proposal produces the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

from consortia.errors import ConsortiaError
from peer.ledger.queries import KV, LedgerQueries, Page
from peer.ledger.rwset import Version
from peer.ledger.statedb import StateReader


class SimulationError(ConsortiaError):
    """The chaincode asked for something the simulation cannot do."""


@dataclass
class _Namespace:
    reads: dict[str, Version | None] = field(default_factory=dict)
    writes: dict[str, bytes | None] = field(default_factory=dict)
    metadata: dict[str, dict[str, bytes]] = field(default_factory=dict)
    ranges: list[kv_rwset_pb2.RangeQueryInfo] = field(default_factory=list)


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
        if any(ns.writes or ns.metadata for ns in self._namespaces.values()):
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
                metadata_writes=[
                    kv_rwset_pb2.KVMetadataWrite(key=k, entries=[
                        kv_rwset_pb2.KVMetadataEntry(name=n, value=e[n]) for n in sorted(e)
                    ])
                    for k, e in sorted(ns.metadata.items())
                ],
            )
            ns_sets.append(rwset_pb2.NsReadWriteSet(namespace=name, rwset=kv.SerializeToString()))
        return bytes(rwset_pb2.TxReadWriteSet(data_model=rwset_pb2.TxReadWriteSet.KV, ns_rwset=ns_sets).SerializeToString())

