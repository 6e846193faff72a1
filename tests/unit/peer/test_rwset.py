"""parse_rwset turns Fabric's TxReadWriteSet into plain values without losing anything
validation and commit need: reads with their version (or none: the key did not exist),
range queries with what they returned (or the fact that they were summarised), writes
and deletes, metadata writes, and the hashed sets of private data collections. Anything
it cannot accept is a MessageError saying what is wrong.
"""

from __future__ import annotations

import pytest
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

from consortia.errors import MessageError
from peer.ledger.rwset import (
    CollHashedRWSet,
    HashedMetadataWrite,
    HashedRead,
    HashedWrite,
    KVRead,
    KVWrite,
    MetadataWrite,
    NsRWSet,
    RangeQuery,
    TxRWSet,
    Version,
    parse_rwset,
)
from tests.support.transactions import NsWrites, rwset_bytes

pytestmark = pytest.mark.unit


def read(key: str, version: tuple[int, int] | None) -> kv_rwset_pb2.KVRead:
    if version is None:
        return kv_rwset_pb2.KVRead(key=key)
    return kv_rwset_pb2.KVRead(key=key, version=kv_rwset_pb2.Version(block_num=version[0], tx_num=version[1]))


def tx_rwset(*namespaces: rwset_pb2.NsReadWriteSet, data_model: int = rwset_pb2.TxReadWriteSet.KV) -> bytes:
    return bytes(rwset_pb2.TxReadWriteSet(data_model=data_model, ns_rwset=list(namespaces)).SerializeToString())


H1, H2, VH = b"\x01" * 32, b"\x02" * 32, b"\x0f" * 32
HASHED = kv_rwset_pb2.HashedRWSet(
    hashed_reads=[kv_rwset_pb2.KVReadHash(key_hash=H1),
                  kv_rwset_pb2.KVReadHash(key_hash=H2, version=kv_rwset_pb2.Version(block_num=4, tx_num=1))],
    hashed_writes=[kv_rwset_pb2.KVWriteHash(key_hash=H1, value_hash=VH),
                   kv_rwset_pb2.KVWriteHash(key_hash=H2, is_delete=True, is_purge=True)],
    metadata_writes=[kv_rwset_pb2.KVMetadataWriteHash(key_hash=H1, entries=[
        kv_rwset_pb2.KVMetadataEntry(name="VALIDATION_PARAMETER", value=b"policy")])],
)


def ns(name: str, kv: kv_rwset_pb2.KVRWSet | None = None, collections: tuple[str, ...] = (),
       raw: bytes | None = None, hashed: bytes = b"") -> rwset_pb2.NsReadWriteSet:
    return rwset_pb2.NsReadWriteSet(
        namespace=name,
        rwset=raw if raw is not None else (kv or kv_rwset_pb2.KVRWSet()).SerializeToString(),
        collection_hashed_rwset=[
            rwset_pb2.CollectionHashedReadWriteSet(collection_name=c, hashed_rwset=hashed or HASHED.SerializeToString(),
                                                   pvt_rwset_hash=b"p" * 32)
            for c in collections
        ],
    )


FULL = kv_rwset_pb2.KVRWSet(
    reads=[read("r-new", None), read("r-old", (7, 3)), read("r-zero", (0, 0))],
    range_queries_info=[
        kv_rwset_pb2.RangeQueryInfo(
            start_key="a", end_key="m", itr_exhausted=True,
            raw_reads=kv_rwset_pb2.QueryReads(kv_reads=[read("b", (1, 0)), read("c", (2, 5))]),
        ),
        kv_rwset_pb2.RangeQueryInfo(start_key="m", end_key="", itr_exhausted=False,
                                    raw_reads=kv_rwset_pb2.QueryReads()),
        kv_rwset_pb2.RangeQueryInfo(
            start_key="x", end_key="z", itr_exhausted=True,
            reads_merkle_hashes=kv_rwset_pb2.QueryReadsMerkleSummary(max_degree=50, max_level=1,
                                                                      max_level_hashes=[b"h1", b"h2"]),
        ),
    ],
    writes=[
        kv_rwset_pb2.KVWrite(key="w", value=b"value"),
        kv_rwset_pb2.KVWrite(key="w-empty", value=b""),
        kv_rwset_pb2.KVWrite(key="gone", is_delete=True),
        kv_rwset_pb2.KVWrite(key="\x00comp\x00k\x00", value=b"\x00\xff binary"),
    ],
    metadata_writes=[
        kv_rwset_pb2.KVMetadataWrite(key="w", entries=[
            kv_rwset_pb2.KVMetadataEntry(name="VALIDATION_PARAMETER", value=b"policy"),
            kv_rwset_pb2.KVMetadataEntry(name="note", value=b"n"),
        ]),
        kv_rwset_pb2.KVMetadataWrite(key="cleared"),
    ],
)


def test_round_trip_of_every_part() -> None:
    parsed = parse_rwset(tx_rwset(ns("cc", FULL, collections=("col1", "col2")), ns("lib")))
    assert parsed == TxRWSet(namespaces=(
        NsRWSet(
            namespace="cc",
            reads=(KVRead("r-new", None), KVRead("r-old", Version(7, 3)), KVRead("r-zero", Version(0, 0))),
            range_queries=(
                RangeQuery("a", "m", True, (KVRead("b", Version(1, 0)), KVRead("c", Version(2, 5))), False),
                RangeQuery("m", "", False, (), False),
                RangeQuery("x", "z", True, (), True),
            ),
            writes=(
                KVWrite("w", False, b"value"),
                KVWrite("w-empty", False, b""),
                KVWrite("gone", True, b""),
                KVWrite("\x00comp\x00k\x00", False, b"\x00\xff binary"),
            ),
            metadata_writes=(
                MetadataWrite("w", (("VALIDATION_PARAMETER", b"policy"), ("note", b"n"))),
                MetadataWrite("cleared", ()),
            ),
            collections=tuple(CollHashedRWSet(
                collection=name,
                reads=(HashedRead(H1, None), HashedRead(H2, Version(4, 1))),
                writes=(HashedWrite(H1, False, VH, False), HashedWrite(H2, True, b"", True)),
                metadata_writes=(HashedMetadataWrite(H1, (("VALIDATION_PARAMETER", b"policy"),)),),
                pvt_rwset_hash=b"p" * 32,
            ) for name in ("col1", "col2")),
        ),
        NsRWSet(namespace="lib", reads=(), range_queries=(), writes=(), metadata_writes=(), collections=()),
    ))


@pytest.mark.parametrize(("collections", "hashed", "problem"), [
    (("",), b"", "collection with no name"),
    (("c", "c"), b"", "twice"),
    (("c",), b"\xff\xff", "hashed read-write set of collection 'c' of cc"),
    (("c",), kv_rwset_pb2.HashedRWSet(hashed_reads=[kv_rwset_pb2.KVReadHash(key_hash=b"short")]).SerializeToString(),
     "key hash of 5 bytes"),
])
def test_a_malformed_collection_set_is_refused(collections: tuple[str, ...], hashed: bytes, problem: str) -> None:
    with pytest.raises(MessageError, match=problem):
        parse_rwset(tx_rwset(ns("cc", collections=collections, hashed=hashed)))


def test_a_read_at_version_zero_is_not_a_read_of_a_missing_key() -> None:
    reads = parse_rwset(tx_rwset(ns("cc", FULL))).namespaces[0].reads
    assert reads[2] == KVRead("r-zero", Version(0, 0))
    assert reads[0].version is None
    assert reads[2].version is not None


def test_range_query_without_raw_reads_is_not_a_merkle_summary() -> None:
    queries = parse_rwset(tx_rwset(ns("cc", FULL))).namespaces[0].range_queries
    assert [q.merkle_summary for q in queries] == [False, False, True]
    bare = kv_rwset_pb2.KVRWSet(range_queries_info=[kv_rwset_pb2.RangeQueryInfo(start_key="a", end_key="b")])
    assert parse_rwset(tx_rwset(ns("cc", bare))).namespaces[0].range_queries == (RangeQuery("a", "b", False, (), False),)


def test_values_are_bytes_and_parts_are_immutable() -> None:
    parsed = parse_rwset(tx_rwset(ns("cc", FULL)))
    space = parsed.namespaces[0]
    assert all(type(w.value) is bytes for w in space.writes)
    assert all(type(v) is bytes for m in space.metadata_writes for _, v in m.entries)
    with pytest.raises(AttributeError):
        space.namespace = "other"  # type: ignore[misc]
    hash(parsed)  # frozen all the way down


def test_namespaces_keep_their_order() -> None:
    parsed = parse_rwset(tx_rwset(ns("zeta"), ns("alpha"), ns("mid")))
    assert [n.namespace for n in parsed.namespaces] == ["zeta", "alpha", "mid"]


def test_written_keys_lists_writes_then_metadata_writes() -> None:
    space = parse_rwset(tx_rwset(ns("cc", FULL))).namespaces[0]
    assert space.written_keys == ["w", "w-empty", "gone", "\x00comp\x00k\x00", "w", "cleared"]


def test_empty_rwset_has_no_namespaces() -> None:
    assert parse_rwset(b"") == TxRWSet(namespaces=())
    assert parse_rwset(tx_rwset()) == TxRWSet(namespaces=())


def test_what_test_endorsers_produce_parses_back() -> None:
    data = rwset_bytes({
        "cc": NsWrites(reads={"a": (1, 2), "b": None}, writes={"c": b"3", "d": None}, metadata={"c": {"n": b"v"}},
                       ranges=[("a", "z", True, [("a", (1, 2))])]),
    })
    space = parse_rwset(data).namespaces[0]
    assert space.reads == (KVRead("a", Version(1, 2)), KVRead("b", None))
    assert space.writes == (KVWrite("c", False, b"3"), KVWrite("d", True, b""))
    assert space.metadata_writes == (MetadataWrite("c", (("n", b"v"),)),)
    assert space.range_queries == (RangeQuery("a", "z", True, (KVRead("a", Version(1, 2)),), False),)


# ----- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("garbage", [b"\xff\xff\xff", b"garbage!", b"\x0a\x05ab", b"\x08"])
def test_garbage_bytes(garbage: bytes) -> None:
    with pytest.raises(MessageError, match=r"^read-write set is not a valid rwset\.TxReadWriteSet"):
        parse_rwset(garbage)


def test_garbage_namespace_rwset_names_the_namespace() -> None:
    with pytest.raises(MessageError, match=r"^read-write set of mycc is not a valid kvrwset\.KVRWSet"):
        parse_rwset(tx_rwset(ns("ok"), ns("mycc", raw=b"\xff\xff\xff")))


@pytest.mark.parametrize("model", [1, 7])
def test_data_model_other_than_kv(model: int) -> None:
    with pytest.raises(MessageError) as rejected:
        parse_rwset(tx_rwset(ns("cc", FULL), data_model=model))
    assert str(rejected.value) == f"read-write set has data model {model}; only KV (0) is supported"


def test_namespace_without_a_name() -> None:
    with pytest.raises(MessageError) as rejected:
        parse_rwset(tx_rwset(ns("cc"), ns("")))
    assert str(rejected.value) == "read-write set has a namespace with no name"


def test_namespace_listed_twice() -> None:
    with pytest.raises(MessageError) as rejected:
        parse_rwset(tx_rwset(ns("cc"), ns("lib"), ns("cc", FULL)))
    assert str(rejected.value) == "read-write set lists namespace 'cc' twice"
