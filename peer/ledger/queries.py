"""The world-state queries chaincode can make.

Give it a reader inside `StateReader.snapshot()` and every query of a simulation sees
the same committed state.

Point reads, range scans in key order with Fabric's pagination (a page size and a
bookmark, the key to resume from), rich JSON queries (CouchDB Mango selectors, see
`selector`), and the history of a key, newest first, with the value each valid
transaction wrote and its transaction id and timestamp (read back from the blocks).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fabric_protos.ledger.queryresult import kv_query_result_pb2
from google.protobuf import timestamp_pb2

from consortia.errors import ConsortiaError
from consortia.ledger.blockstore import BlockStore
from consortia.protoutil.transaction import unpack_transaction
from peer.ledger.rwset import Version, parse_rwset
from peer.ledger.selector import parse_query
from peer.ledger.statedb import StateReader, VersionedValue

# Fabric's first and last code points: composite keys live between them.
MIN_UNICODE_RUNE = "\x00"
MAX_UNICODE_RUNE = "\U0010ffff"


class QueryError(ConsortiaError):
    """A query is malformed; the message says how."""


@dataclass(frozen=True)
class KV:
    key: str
    value: bytes
    version: Version


@dataclass(frozen=True)
class Page:
    """One page of results and the bookmark that continues after it ('' when done)."""

    items: list[KV]
    bookmark: str


class LedgerQueries:
    def __init__(self, state: StateReader, blocks: BlockStore) -> None:
        self.state = state
        self.blocks = blocks

    def get(self, ns: str, key: str) -> VersionedValue | None:
        return self.state.get(ns, key)

    def range(self, ns: str, start: str, end: str) -> Iterator[KV]:
        """Every key in [start, end) in byte order ('' as `end`: to the last key)."""
        for key, value in self.state.range(ns, start, end):
            yield KV(key, value.value, value.version)

    def range_page(self, ns: str, start: str, end: str, page_size: int, bookmark: str = "") -> Page:
        """One page of a range scan, resuming at `bookmark` (a key of the range) if given."""
        if page_size <= 0:
            raise QueryError(f"page size must be positive, found {page_size}")
        begin = start
        if bookmark:
            if bookmark < start or (end and bookmark >= end):
                raise QueryError(f"bookmark {bookmark!r} is outside the range [{start!r}, {end!r})")
            begin = bookmark
        rows = [KV(k, v.value, v.version) for k, v in self.state.range(ns, begin, end, limit=page_size + 1)]
        if len(rows) > page_size:
            return Page(rows[:page_size], rows[page_size].key)
        return Page(rows, "")

    def query(self, ns: str, text: str, page_size: int | None = None, bookmark: str | None = None) -> Page:
        """A rich query (CouchDB Mango JSON); with `page_size`, one page and the bookmark
        of the next ('' when this page is the last). SelectorError for a bad query."""
        query = parse_query(text)
        document = "CAST(state.value AS TEXT)"
        where, params = query.to_sql(document)
        window = query.window(page_size, bookmark)
        rows = [
            KV(key, query.project_value(value.value), value.version)
            for key, value in self.state.select(ns, where, params, query.order_by(document, "state.key"), window.sql())
        ]
        more = window.limit is not None and len(rows) == window.limit
        return Page(rows, window.next_bookmark(len(rows)) if more and page_size is not None else "")

    def history(self, ns: str, key: str) -> list[kv_query_result_pb2.KeyModification]:
        """Every change of `key` by a valid transaction, newest first, as Fabric returns it."""
        found = []
        for version in self.state.history(ns, key):
            tx = unpack_transaction(self.blocks.get(version.block).data.data[version.tx])
            rwset = parse_rwset(tx.actions[0].chaincode_action.results)
            write = next(
                (w for n in rwset.namespaces if n.namespace == ns for w in n.writes if w.key == key), None
            )
            if write is None:
                continue
            stamp = timestamp_pb2.Timestamp()
            stamp.CopyFrom(tx.envelope.channel_header.timestamp)
            found.append(
                kv_query_result_pb2.KeyModification(
                    tx_id=tx.tx_id, value=write.value, timestamp=stamp, is_delete=write.is_delete
                )
            )
        return found
