"""Chaincode queries over the ledger: range scans in key order, paged as Fabric pages them
(a page size and a bookmark, the key the next page starts at, '' after the last page),
and the history of a key, newest first, with the value, transaction id, timestamp and
delete flag of each change by a valid transaction, read back from the blocks.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric_protos.ledger.queryresult import kv_query_result_pb2

from consortia.ledger.blockstore import BlockStore
from consortia.protoutil import block as blocks
from consortia.protoutil.envelope import unpack_envelope
from peer.ledger.kvledger import PeerLedger
from peer.ledger.queries import (
    KV,
    MAX_UNICODE_RUNE,
    MIN_UNICODE_RUNE,
    LedgerQueries,
    Page,
    QueryError,
)
from peer.ledger.rwset import Version
from peer.ledger.selector import SelectorError
from peer.ledger.statedb import BlockUpdates, StateDB, StateUpdate, VersionedValue
from tests.support.chain import Chain, Channel, commit, fresh, make_channel
from tests.support.transactions import NsWrites

pytestmark = pytest.mark.unit

KEYS = [f"key{i:02}" for i in range(25)] + ["\x00idx\x00a\x00", "\x00idx\x00b\x00", "zz", "é"]


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateDB]:
    db = StateDB(tmp_path / "ledger.db")
    db.apply(BlockUpdates(
        number=0,
        state={("cc", k): StateUpdate(k.encode(), Version(0, i)) for i, k in enumerate(KEYS)}
        | {("other", "key00"): StateUpdate(b"elsewhere", Version(0, 99))},
        history=[], txids=[], commit_hash=b"h0",
    ))
    yield db
    db.close()


@pytest.fixture
def queries(state: StateDB, tmp_path: Path) -> Iterator[LedgerQueries]:
    store = BlockStore(tmp_path / "blocks")
    yield LedgerQueries(state, store)
    store.close()


def all_pages(queries: LedgerQueries, start: str, end: str, size: int) -> list[Page]:
    pages = [queries.range_page("cc", start, end, size)]
    while pages[-1].bookmark:
        assert len(pages) < 100, "paging does not end"
        pages.append(queries.range_page("cc", start, end, size, pages[-1].bookmark))
    return pages


# ----- point reads and plain ranges ----------------------------------------------------------


def test_get(queries: LedgerQueries) -> None:
    assert queries.get("cc", "key03") == VersionedValue(b"key03", Version(0, 3), None)
    assert queries.get("other", "key00") == VersionedValue(b"elsewhere", Version(0, 99), None)
    assert queries.get("cc", "nope") is None


def test_range_with_bounds(queries: LedgerQueries) -> None:
    found = list(queries.range("cc", "key05", "key08"))
    assert found == [KV(f"key{i:02}", f"key{i:02}".encode(), Version(0, i)) for i in (5, 6, 7)]


def test_range_unbounded_end_and_composite_keys(queries: LedgerQueries) -> None:
    assert [kv.key for kv in queries.range("cc", "key24", "")] == ["key24", "zz", "é"]
    assert [kv.key for kv in queries.range("cc", "", "")][:2] == ["\x00idx\x00a\x00", "\x00idx\x00b\x00"]
    composite = [kv.key for kv in queries.range("cc", MIN_UNICODE_RUNE + "idx" + MIN_UNICODE_RUNE,
                                                MIN_UNICODE_RUNE + "idx" + MIN_UNICODE_RUNE + MAX_UNICODE_RUNE)]
    assert composite == ["\x00idx\x00a\x00", "\x00idx\x00b\x00"]
    # Starting after U+0000 leaves the composite keys out.
    assert "\x00idx\x00a\x00" not in [kv.key for kv in queries.range("cc", "\x01", MAX_UNICODE_RUNE)]


# ----- paged ranges -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 7, 10, 28, 29, 100])
def test_pages_return_every_key_once_in_order(queries: LedgerQueries, size: int) -> None:
    pages = all_pages(queries, "", "", size)
    keys = [kv.key for page in pages for kv in page.items]
    assert keys == sorted(KEYS, key=str.encode)
    assert len(keys) == len(set(keys))
    assert all(len(page.items) == size for page in pages[:-1])
    assert 1 <= len(pages[-1].items) <= size
    assert len(pages) == -(-len(KEYS) // size)  # no empty page after an exact fit
    assert pages[-1].bookmark == ""
    for page, following in itertools.pairwise(pages):
        assert page.bookmark == following.items[0].key  # the bookmark is where the next page starts


def test_pages_within_bounds(queries: LedgerQueries) -> None:
    pages = all_pages(queries, "key03", "key13", 4)
    assert [[kv.key for kv in p.items] for p in pages] == [
        ["key03", "key04", "key05", "key06"], ["key07", "key08", "key09", "key10"], ["key11", "key12"]]
    assert [p.bookmark for p in pages] == ["key07", "key11", ""]
    assert pages[0].items[0] == KV("key03", b"key03", Version(0, 3))


def test_page_that_ends_at_the_range_end_has_no_bookmark(queries: LedgerQueries) -> None:
    page = queries.range_page("cc", "key03", "key07", 4)
    assert [kv.key for kv in page.items] == ["key03", "key04", "key05", "key06"]
    assert page.bookmark == ""  # key07 exists but is outside the range


def test_empty_range_is_one_empty_page(queries: LedgerQueries) -> None:
    assert queries.range_page("cc", "m", "n", 5) == Page([], "")
    assert queries.range_page("nobody", "", "", 5) == Page([], "")


def test_bookmark_at_the_start_or_between_keys_is_accepted(queries: LedgerQueries) -> None:
    assert queries.range_page("cc", "key03", "key13", 2, "key03").items[0].key == "key03"
    page = queries.range_page("cc", "key03", "key13", 2, "key055")  # not a key: resume at the next one
    assert [kv.key for kv in page.items] == ["key06", "key07"] and page.bookmark == "key08"
    assert queries.range_page("cc", "key03", "", 2, "zz") == Page(
        [KV("zz", b"zz", Version(0, KEYS.index("zz"))), KV("é", "é".encode(), Version(0, KEYS.index("é")))], "")


def test_paging_goes_on_when_the_bookmarked_key_was_deleted(queries: LedgerQueries, state: StateDB) -> None:
    first = queries.range_page("cc", "key00", "key10", 3)
    assert first.bookmark == "key03"
    state.apply(BlockUpdates(number=1, state={("cc", "key03"): StateUpdate(None, Version(1, 0))},
                             history=[], txids=[], commit_hash=b"h1"))
    second = queries.range_page("cc", "key00", "key10", 3, first.bookmark)
    assert [kv.key for kv in second.items] == ["key04", "key05", "key06"]


@pytest.mark.parametrize(
    ("start", "end", "bookmark"),
    [("key03", "key13", "key02"), ("key03", "key13", "key13"), ("key03", "key13", "zz"), ("key03", "", "a"),
     ("a", "b", "\x00idx\x00a\x00")],
)
def test_bookmark_outside_the_range_is_rejected(queries: LedgerQueries, start: str, end: str, bookmark: str) -> None:
    with pytest.raises(QueryError) as rejected:
        queries.range_page("cc", start, end, 5, bookmark)
    assert str(rejected.value) == f"bookmark {bookmark!r} is outside the range [{start!r}, {end!r})"


@pytest.mark.parametrize("size", [0, -1, -100])
def test_page_size_must_be_positive(queries: LedgerQueries, size: int) -> None:
    with pytest.raises(QueryError, match=f"^page size must be positive, found {size}$"):
        queries.range_page("cc", "", "", size)
    with pytest.raises(QueryError, match="page size must be positive"):
        queries.range_page("cc", "key00", "key05", size, "key01")


# ----- history ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Channel:
    return make_channel(tmp_path_factory.mktemp("ch1"))


@pytest.fixture(scope="module")
def history_ledger(channel: Channel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PeerLedger, Chain]]:
    """Key "k" written, overwritten, deleted and written again over blocks 1..5, with
    invalid transactions writing it in between."""
    chain = Chain(channel)
    chain.next_block([channel.writes({"k": b"v1", "j": b"j1"})])
    chain.next_block([
        channel.tx({"cc": NsWrites(writes={"k": b"bad"})}, endorsers=[channel.peers[1]]),  # policy failure
        channel.writes({"k": b"v2"}),
        channel.tx({"cc": NsWrites(writes={"k": b"v2"}, reads={"k": (1, 0)})}),  # MVCC: k changed by tx 1
    ])
    chain.next_block([channel.writes({"k": None}), channel.tx({"cc": NsWrites(metadata={"j": {"note": b"n"}})})])
    chain.next_block([channel.writes({"other-key": b"x"})])
    chain.next_block([
        channel.writes({"k": b""}),
        channel.tx({"cc": NsWrites(writes={"k": b"v5"}), "other": NsWrites(writes={"k": b"other-5"})}),
    ])
    ledger = PeerLedger(tmp_path_factory.mktemp("history"))
    for block in chain.made:
        commit(channel, ledger, fresh(block))
    yield ledger, chain
    ledger.close()


def expected(chain: Chain, number: int, index: int, value: bytes, is_delete: bool = False) -> kv_query_result_pb2.KeyModification:
    envelope = unpack_envelope(chain.made[number].data.data[index])
    return kv_query_result_pb2.KeyModification(
        tx_id=envelope.tx_id, value=value, timestamp=envelope.channel_header.timestamp, is_delete=is_delete)


def test_history_chain_has_the_intended_codes(history_ledger: tuple[PeerLedger, Chain]) -> None:
    ledger, _ = history_ledger
    assert [list(blocks.transactions_filter(ledger.blocks.get(n))) for n in range(1, 6)] == [
        [0], [10, 0, 11], [0, 0], [0], [0, 0]]


def test_history_newest_first_with_txid_value_timestamp_and_delete(history_ledger: tuple[PeerLedger, Chain]) -> None:
    ledger, chain = history_ledger
    found = LedgerQueries(ledger.state(), ledger.blocks).history("cc", "k")
    assert found == [
        expected(chain, 5, 1, b"v5"),
        expected(chain, 5, 0, b""),
        expected(chain, 3, 0, b"", is_delete=True),
        expected(chain, 2, 1, b"v2"),
        expected(chain, 1, 0, b"v1"),
    ]
    assert [m.is_delete for m in found] == [False, False, True, False, False]
    assert len({m.tx_id for m in found}) == 5 and all(m.tx_id for m in found)
    assert all(m.timestamp.seconds > 0 for m in found)
    # Timestamps are the transactions' own, newest first.
    stamps = [(m.timestamp.seconds, m.timestamp.nanos) for m in found]
    assert stamps == sorted(stamps, reverse=True)


def test_history_leaves_out_invalid_transactions(history_ledger: tuple[PeerLedger, Chain]) -> None:
    ledger, chain = history_ledger
    found = LedgerQueries(ledger.state(), ledger.blocks).history("cc", "k")
    invalid = {unpack_envelope(chain.made[2].data.data[i]).tx_id for i in (0, 2)}
    assert invalid.isdisjoint(m.tx_id for m in found)
    assert b"bad" not in [m.value for m in found]


def test_history_of_one_namespace_only(history_ledger: tuple[PeerLedger, Chain]) -> None:
    ledger, chain = history_ledger
    queries = LedgerQueries(ledger.state(), ledger.blocks)
    assert queries.history("other", "k") == [expected(chain, 5, 1, b"other-5")]
    assert queries.history("cc", "other-key") == [expected(chain, 4, 0, b"x")]


def test_history_ignores_metadata_writes_and_unknown_keys(history_ledger: tuple[PeerLedger, Chain]) -> None:
    ledger, chain = history_ledger
    queries = LedgerQueries(ledger.state(), ledger.blocks)
    assert queries.history("cc", "j") == [expected(chain, 1, 0, b"j1")]
    assert queries.history("cc", "never") == []
    assert queries.history("nobody", "k") == []


def test_history_through_a_reader_and_a_block_store_of_its_own(history_ledger: tuple[PeerLedger, Chain]) -> None:
    ledger, _ = history_ledger
    before = LedgerQueries(ledger.state(), ledger.blocks).history("cc", "k")
    store = BlockStore(ledger.folder)
    reader = ledger.db.reader()
    try:
        again = LedgerQueries(reader, store).history("cc", "k")
    finally:
        store.close()
        reader._db.close()
    assert again == before and len(again) == 5


def test_history_result_is_fabrics_message(history_ledger: tuple[PeerLedger, Chain]) -> None:
    ledger, chain = history_ledger
    found = LedgerQueries(ledger.state(), ledger.blocks).history("cc", "k")
    assert all(isinstance(m, kv_query_result_pb2.KeyModification) for m in found)
    decoded = kv_query_result_pb2.KeyModification.FromString(found[2].SerializeToString())
    assert decoded.is_delete and decoded.tx_id == unpack_envelope(chain.made[3].data.data[0]).tx_id


# --- rich queries --------------------------------------------------------------------------


def test_rich_query_through_the_ledger(state: StateDB, tmp_path: Path) -> None:
    docs = {f"asset{i}": {"owner": "alice" if i % 2 else "bob", "size": i} for i in range(7)}
    updates = {("assets", k): StateUpdate(json.dumps(v).encode(), Version(1, i)) for i, (k, v) in enumerate(docs.items())}
    updates[("assets", "binary")] = StateUpdate(b"\x00\x01 not json", Version(1, 9))
    updates[("other", "asset9")] = StateUpdate(json.dumps({"owner": "alice", "size": 99}).encode(), Version(1, 10))
    state.apply(BlockUpdates(number=1, state=updates, history=[], txids=[], commit_hash=b"h"))
    store = BlockStore(tmp_path / "blocks")
    queries = LedgerQueries(state.reader(), store)
    page = queries.query("assets", json.dumps({"selector": {"owner": "alice", "size": {"$gte": 3}},
                                               "sort": [{"size": "desc"}]}))
    assert [kv.key for kv in page.items] == ["asset5", "asset3"] and page.bookmark == ""
    assert json.loads(page.items[0].value) == {"owner": "alice", "size": 5}
    projected = queries.query("assets", json.dumps({"selector": {"owner": "bob"}, "fields": ["size"]}))
    assert [json.loads(kv.value) for kv in projected.items] == [{"size": 0}, {"size": 2}, {"size": 4}, {"size": 6}]
    # Paged: every match exactly once, then an empty bookmark.
    seen, bookmark = [], ""
    while True:
        page = queries.query("assets", json.dumps({"selector": {"size": {"$gte": 0}}}), page_size=3, bookmark=bookmark)
        seen += [kv.key for kv in page.items]
        bookmark = page.bookmark
        if not bookmark:
            break
    assert seen == sorted(docs)
    with pytest.raises(SelectorError, match="unknown operator"):
        queries.query("assets", '{"selector": {"owner": {"$eqq": "bob"}}}')
    store.close()
