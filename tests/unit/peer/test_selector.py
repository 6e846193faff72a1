"""Mango queries compiled to SQLite: what matches, in what order, page by page, and how
malformed queries are refused.

Every query runs for real against an in-memory SQLite `state` table, because the point
of the module is the SQL it writes: the type distinctions (1 vs "1" vs true, null vs
missing) live in json_type checks, and documents are reached by two different SQL
renderings (JSON paths for documents without a backslash, json_each for the others),
so most cases are checked on documents written both ways. A property test compares
the SQL against a small Python evaluator of the same rules on random documents and
selectors.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consortia.errors import ConsortiaError
from peer.ledger.selector import (
    MangoQuery,
    SelectorError,
    canonical_json,
    install,
    parse_query,
    project,
)

pytestmark = pytest.mark.unit

DOCUMENT = "CAST(state.value AS TEXT)"


# --- helpers -------------------------------------------------------------------------------


def encode(document: object, ascii_only: bool) -> bytes:
    """A document as chaincode would store it: Python's json.dumps escapes non-ASCII by
    default (ascii_only), JavaScript's JSON.stringify does not."""
    return json.dumps(document, ensure_ascii=ascii_only).encode()


def open_state(values: Mapping[bytes, object], ascii_only: bool = False) -> sqlite3.Connection:
    """A state table holding `values`; bytes are stored as they are, anything else as JSON."""
    connection = sqlite3.connect(":memory:")
    install(connection)
    connection.execute("CREATE TABLE state (key BLOB PRIMARY KEY, value BLOB)")
    connection.executemany(
        "INSERT INTO state VALUES (?, ?)",
        [(k, v if isinstance(v, bytes) else encode(v, ascii_only)) for k, v in values.items()],
    )
    return connection


def fetch(
    connection: sqlite3.Connection,
    query: MangoQuery | str,
    page_size: int | None = None,
    bookmark: str | None = None,
) -> list[bytes]:
    """The keys a query returns, in order, as the state database would run it."""
    if isinstance(query, str):
        query = parse_query(query)
    where, params = query.to_sql(DOCUMENT)
    order = query.order_by(DOCUMENT, key="state.key")
    window = query.window(page_size, bookmark).sql()
    sql = f"SELECT state.key FROM state WHERE {where} ORDER BY {order} {window}"
    return [bytes(row[0]) for row in connection.execute(sql, params)]


def selected(values: Mapping[bytes, object], selector: object, ascii_only: bool = False) -> set[bytes]:
    connection = open_state(values, ascii_only)
    return set(fetch(connection, json.dumps({"selector": selector})))


@pytest.fixture(params=[False, True], ids=["raw-utf8", "escaped-ascii"])
def ascii_only(request: pytest.FixtureRequest) -> bool:
    """Run a test on documents stored without and with escapes (both SQL renderings)."""
    value: bool = request.param
    return value


# The values a field `v` takes in TYPED, by key: the type distinctions are checked on it.
TYPED: dict[bytes, object] = {
    b"int1": {"v": 1},
    b"real1": {"v": 1.0},
    b"int2": {"v": 2},
    b"real-half": {"v": 0.5},
    b"str1": {"v": "1"},
    b"str-a": {"v": "a"},
    b"str-b": {"v": "b"},
    b"empty-str": {"v": ""},
    b"true": {"v": True},
    b"false": {"v": False},
    b"zero": {"v": 0},
    b"null": {"v": None},
    b"missing": {"w": 1},
    b"array": {"v": [1, 2]},
    b"object": {"v": {"x": 1}},
}


def typed(selector: object, ascii_only: bool) -> set[bytes]:
    return selected(TYPED, {"v": selector}, ascii_only)


# --- equality and the type distinctions ----------------------------------------------------


@pytest.mark.parametrize(
    ("operand", "expected"),
    [
        (1, {b"int1", b"real1"}),
        (1.0, {b"int1", b"real1"}),
        ("1", {b"str1"}),
        (True, {b"true"}),
        (False, {b"false"}),
        (0, {b"zero"}),
        (None, {b"null"}),
        ("", {b"empty-str"}),
        ([1, 2], {b"array"}),
        ([2, 1], set()),
        ({"x": 1}, {b"object"}),
        ({"x": 1.0}, {b"object"}),
        ({"x": "1"}, set()),
    ],
)
def test_eq_compares_within_one_json_type(operand: object, expected: set[bytes], ascii_only: bool) -> None:
    assert typed({"$eq": operand}, ascii_only) == expected
    if not isinstance(operand, dict):
        assert typed(operand, ascii_only) == expected  # implicit equality


def test_ne_needs_the_field_and_respects_types(ascii_only: bool) -> None:
    assert typed({"$ne": 1}, ascii_only) == set(TYPED) - {b"int1", b"real1", b"missing"}
    assert typed({"$ne": None}, ascii_only) == set(TYPED) - {b"null", b"missing"}
    assert typed({"$ne": True}, ascii_only) == set(TYPED) - {b"true", b"missing"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({"$gt": 1}, {b"int2"}),
        ({"$gte": 1}, {b"int1", b"real1", b"int2"}),
        ({"$lt": 1}, {b"real-half", b"zero"}),
        ({"$lte": 0.5}, {b"real-half", b"zero"}),
        ({"$gt": "1"}, {b"str-a", b"str-b"}),
        ({"$gte": "a"}, {b"str-a", b"str-b"}),
        ({"$lt": "a"}, {b"str1", b"empty-str"}),
        ({"$lte": ""}, {b"empty-str"}),
        ({"$gt": False}, {b"true"}),
        ({"$gte": False}, {b"true", b"false"}),
        ({"$lt": True}, {b"false"}),
        ({"$lte": True}, {b"true", b"false"}),
        ({"$gt": True}, set()),
        ({"$lt": False}, set()),
        ({"$gte": None}, {b"null"}),
        ({"$lte": None}, {b"null"}),
        ({"$gt": None}, set()),
        ({"$lt": None}, set()),
        ({"$gt": 0, "$lt": 2}, {b"int1", b"real1", b"real-half"}),
    ],
)
def test_order_comparisons_stay_within_the_operand_type(
    selector: object, expected: set[bytes], ascii_only: bool
) -> None:
    assert typed(selector, ascii_only) == expected


def test_in_and_nin(ascii_only: bool) -> None:
    assert typed({"$in": [1, "a", None, False]}, ascii_only) == {
        b"int1",
        b"real1",
        b"str-a",
        b"null",
        b"false",
    }
    assert typed({"$in": [[1, 2], {"x": 1}]}, ascii_only) == {b"array", b"object"}
    assert typed({"$in": []}, ascii_only) == set()
    assert typed({"$nin": [1, "a", None]}, ascii_only) == set(TYPED) - {
        b"int1",
        b"real1",
        b"str-a",
        b"null",
        b"missing",
    }
    assert typed({"$nin": []}, ascii_only) == set(TYPED) - {b"missing"}


def test_exists(ascii_only: bool) -> None:
    assert typed({"$exists": True}, ascii_only) == set(TYPED) - {b"missing"}
    assert typed({"$exists": False}, ascii_only) == {b"missing"}
    # A JSON null is a value: the field exists.
    assert b"null" in typed({"$exists": True}, ascii_only)


def test_a_missing_field_fails_every_condition_but_exists_false(ascii_only: bool) -> None:
    values = {b"k": {"other": 1}}
    condition: object
    for condition in (
        {"$eq": None},
        {"$ne": 1},
        {"$nin": [1]},
        {"$gt": 0},
        {"$lte": None},
        {"$regex": ""},
        {"$size": 0},
        {"$all": []},
        {"$elemMatch": {}},
    ):
        assert selected(values, {"f": condition}, ascii_only) == set(), condition
    assert selected(values, {"f": {"$exists": False}}, ascii_only) == {b"k"}


def test_not_of_a_condition_on_a_missing_field_matches(ascii_only: bool) -> None:
    # $not negates the whole condition: "it is not true that f == 1" holds without f.
    values = {b"has": {"f": 1}, b"lacks": {"g": 1}, b"other": {"f": 2}}
    assert selected(values, {"$not": {"f": 1}}, ascii_only) == {b"lacks", b"other"}
    assert selected(values, {"f": {"$not": {"$eq": 1}}}, ascii_only) == {b"lacks", b"other"}
    assert selected(values, {"f": {"$ne": 1}}, ascii_only) == {b"other"}


# --- nesting and the implicit forms --------------------------------------------------------

PEOPLE: dict[bytes, object] = {
    b"alice": {"name": "alice", "age": 31, "owner": {"name": "bob", "city": "Oslo"}, "tags": ["a", "b"]},
    b"bob": {"name": "bob", "age": 25, "owner": {"name": "carol"}, "tags": ["b"]},
    b"carol": {"name": "carol", "age": 40, "owner": "bob", "tags": []},
    b"dave": {"name": "dave", "owner": {"name": "bob", "city": "Bergen"}},
}


def test_implicit_and_over_several_fields(ascii_only: bool) -> None:
    assert selected(PEOPLE, {"owner.name": "bob", "age": {"$gt": 30}}, ascii_only) == {b"alice"}


def test_nested_object_operand_names_nested_fields(ascii_only: bool) -> None:
    dotted = selected(PEOPLE, {"owner.name": "bob"}, ascii_only)
    nested = selected(PEOPLE, {"owner": {"name": "bob"}}, ascii_only)
    assert dotted == nested == {b"alice", b"dave"}
    assert selected(PEOPLE, {"owner": {"name": "bob", "city": {"$regex": "^B"}}}, ascii_only) == {b"dave"}


def test_operators_and_subfields_mix_in_one_operand(ascii_only: bool) -> None:
    selector = {"owner": {"$exists": True, "city": {"$exists": False}}}
    assert selected(PEOPLE, selector, ascii_only) == {b"bob", b"carol"}


def test_combinators_inside_a_field_apply_to_that_field(ascii_only: bool) -> None:
    either_end = {"age": {"$or": [{"$lt": 26}, {"$gt": 35}]}}
    assert selected(PEOPLE, either_end, ascii_only) == {b"bob", b"carol"}
    both = {"owner": {"$and": [{"name": "bob"}, {"city": "Oslo"}]}}
    assert selected(PEOPLE, both, ascii_only) == {b"alice"}


def test_empty_object_operand_means_equal_to_an_empty_object(ascii_only: bool) -> None:
    values = {b"empty": {"o": {}}, b"full": {"o": {"a": 1}}, b"none": {}}
    assert selected(values, {"o": {}}, ascii_only) == {b"empty"}


def test_and_or_nor_not(ascii_only: bool) -> None:
    everyone = set(PEOPLE)
    assert selected(PEOPLE, {"$and": [{"age": {"$gt": 20}}, {"age": {"$lt": 35}}]}, ascii_only) == {
        b"alice",
        b"bob",
    }
    assert selected(PEOPLE, {"$or": [{"name": "bob"}, {"owner": "bob"}]}, ascii_only) == {b"bob", b"carol"}
    assert selected(PEOPLE, {"$nor": [{"name": "bob"}, {"owner": "bob"}]}, ascii_only) == everyone - {
        b"bob",
        b"carol",
    }
    assert selected(PEOPLE, {"$not": {"owner.name": "bob"}}, ascii_only) == {b"bob", b"carol"}
    assert selected(PEOPLE, {"$and": []}, ascii_only) == everyone
    assert selected(PEOPLE, {"$or": []}, ascii_only) == set()
    assert selected(PEOPLE, {"$nor": []}, ascii_only) == everyone
    assert selected(PEOPLE, {}, ascii_only) == everyone


# --- regex ---------------------------------------------------------------------------------


def test_regex_searches_text_values_only(ascii_only: bool) -> None:
    values = {b"s": {"f": "Grüße"}, b"n": {"f": 12}, b"t": {"f": True}, b"x": {"f": "x12"}}
    assert selected(values, {"f": {"$regex": "^Gr"}}, ascii_only) == {b"s"}
    assert selected(values, {"f": {"$regex": "üß"}}, ascii_only) == {b"s"}
    assert selected(values, {"f": {"$regex": "12"}}, ascii_only) == {b"x"}  # never the number 12
    assert selected(values, {"f": {"$regex": "(?i)^GRÜ"}}, ascii_only) == {b"s"}


def test_installed_regexp_function() -> None:
    connection = open_state({})
    run = connection.execute
    assert run("SELECT regexp('^a', 'abc'), regexp('^b', 'abc'), 'abc' REGEXP 'b'").fetchone() == (1, 0, 1)
    assert run("SELECT regexp('1', 1), regexp('x', NULL), regexp(NULL, 'x')").fetchone() == (0, 0, 0)


def test_canonical_json_ignores_spelling_but_not_key_order() -> None:
    assert canonical_json(json.loads('[1.0, "\\u00e9", {"a": 2e0}]')) == canonical_json([1, "é", {"a": 2}])
    assert canonical_json({"a": 1, "b": 2}) != canonical_json({"b": 2, "a": 1})
    assert canonical_json([True]) != canonical_json([1])
    connection = open_state({})
    row = connection.execute(
        "SELECT mango_json('[1.0, \"\\u00e9\"]'), mango_json(3), mango_json('{')"
    ).fetchone()
    assert row == ('[1,"\\u00e9"]', None, None)


# --- arrays ---------------------------------------------------------------------------------

BASKETS: dict[bytes, object] = {
    b"b1": {"items": [{"sku": "apple", "qty": 3}, {"sku": "pear", "qty": 1}], "tags": ["red", "fruit"]},
    b"b2": {"items": [{"sku": "apple", "qty": 1}], "tags": ["fruit"]},
    b"b3": {"items": [], "tags": []},
    b"b4": {"items": {"sku": "apple", "qty": 9}, "tags": "fruit"},
    b"b5": {"items": [5, 10, "apple"], "tags": [["fruit"], 1, 1.0]},
}


def test_size(ascii_only: bool) -> None:
    assert selected(BASKETS, {"tags": {"$size": 1}}, ascii_only) == {b"b2"}
    assert selected(BASKETS, {"tags": {"$size": 0}}, ascii_only) == {b"b3"}
    assert selected(BASKETS, {"items": {"$size": 3}}, ascii_only) == {b"b5"}


def test_all(ascii_only: bool) -> None:
    assert selected(BASKETS, {"tags": {"$all": ["fruit"]}}, ascii_only) == {b"b1", b"b2"}
    assert selected(BASKETS, {"tags": {"$all": ["fruit", "red"]}}, ascii_only) == {b"b1"}
    assert selected(BASKETS, {"tags": {"$all": [["fruit"], 1]}}, ascii_only) == {b"b5"}
    # CouchDB: an empty $all matches only an empty array; a non-array never.
    assert selected(BASKETS, {"tags": {"$all": []}}, ascii_only) == {b"b3"}


def test_elem_match_on_objects_and_scalars(ascii_only: bool) -> None:
    selector = {"items": {"$elemMatch": {"sku": "apple", "qty": {"$gte": 2}}}}
    assert selected(BASKETS, selector, ascii_only) == {b"b1"}  # b4 is an object, not an array
    assert selected(BASKETS, {"items": {"$elemMatch": {"$gt": 7}}}, ascii_only) == {b"b5"}
    assert selected(BASKETS, {"items": {"$elemMatch": {"$eq": "apple"}}}, ascii_only) == {b"b5"}
    assert selected(BASKETS, {"items": {"$elemMatch": {}}}, ascii_only) == {b"b1", b"b2", b"b5"}
    negated = {"items": {"$elemMatch": {"$not": {"sku": "apple"}}}}
    assert selected(BASKETS, negated, ascii_only) == {b"b1", b"b5"}


def test_elem_match_nests(ascii_only: bool) -> None:
    values = {
        b"deep": {"rows": [{"cells": [1, 2]}, {"cells": [7]}]},
        b"shallow": {"rows": [{"cells": [1, 2]}]},
    }
    selector = {"rows": {"$elemMatch": {"cells": {"$elemMatch": {"$gt": 5}}}}}
    assert selected(values, selector, ascii_only) == {b"deep"}


def test_arrays_are_never_searched_implicitly(ascii_only: bool) -> None:
    assert selected(BASKETS, {"tags": "fruit"}, ascii_only) == {b"b4"}
    assert selected(BASKETS, {"tags.0": "red"}, ascii_only) == set()


def test_container_equality_ignores_escapes_and_number_spelling() -> None:
    values: dict[bytes, object] = {
        b"escaped": b'{"v": ["\\u00e9", 1.0, {"k": 2E0}]}',
        b"raw": '{"v": ["é", 1, {"k": 2}]}'.encode(),
        b"reordered": b'{"v": ["\\u00e9", 1, {"k": 2, "j": 0}]}',
    }
    assert selected(values, {"v": ["é", 1, {"k": 2}]}) == {b"escaped", b"raw"}


# --- field names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "selector"),
    [
        ({"first name": "x"}, {"first name": "x"}),
        ({"price$": 3}, {"price$": 3}),
        ({"a.b": 1}, {"a\\.b": 1}),
        ({"a": {"b.c": {"d": 1}}}, {"a.b\\.c.d": 1}),
        ({"o": {"$x": 1}}, {"o.$x": 1}),
        ({'say "hi"': 1}, {'say "hi"': 1}),
        ({"back\\slash": 1}, {"back\\slash": 1}),
        ({"tab\there": 1}, {"tab\there": 1}),
        ({"prénom": "zoë"}, {"prénom": "zoë"}),
        ({"数量": 2}, {"数量": {"$gt": 1}}),
        ({"R&D <x>": 1}, {"R&D <x>": 1}),
        ({"o'brien": 1}, {"o'brien": 1}),
        ({"x'); DROP TABLE state; --": 1}, {"x'); DROP TABLE state; --": 1}),
        ({"[0]": 1}, {"[0]": 1}),
    ],
)
def test_field_names_are_matched_exactly(
    document: dict[str, object], selector: dict[str, object], ascii_only: bool
) -> None:
    values = {b"hit": document, b"miss": {"unrelated": 1}}
    connection = open_state(values, ascii_only)
    assert set(fetch(connection, json.dumps({"selector": selector}))) == {b"hit"}
    assert connection.execute("SELECT count(*) FROM state").fetchone() == (2,)


def test_keys_escaped_by_the_writer_are_found() -> None:
    # Go's encoding/json writes "<" as \u003c; Python's json.dumps writes é as \u00e9.
    values = {b"go": b'{"R\\u0026D \\u003cx\\u003e": 1}', b"py": b'{"pr\\u00e9nom": "zo\\u00eb"}'}
    assert selected(values, {"R&D <x>": 1}) == {b"go"}
    assert selected(values, {"prénom": "zoë"}) == {b"py"}
    assert selected(values, {"prénom": {"$regex": "^zo"}}) == {b"py"}


# --- values that are not JSON objects --------------------------------------------------------

NOT_OBJECTS: dict[bytes, object] = {
    b"text": b"plain text",
    b"empty": b"",
    b"array": b"[1, 2]",
    b"string": b'"hello"',
    b"number": b"42",
    b"null": b"null",
    b"binary": b"\xff\xfe\x00\x01",
    b"truncated": b'{"a": 1',
    b"json5": b"{a: 1}",
    b"nan": b'{"a": NaN}',
}


@pytest.mark.parametrize(
    "selector",
    [{}, {"a": {"$exists": False}}, {"$not": {"a": 1}}, {"$nor": [{"a": 1}]}, {"a": {"$ne": 2}}],
)
def test_values_that_are_not_json_objects_never_match(selector: object) -> None:
    values = {**NOT_OBJECTS, b"object": {"a": 1}}
    connection = open_state(values)
    query = parse_query(json.dumps({"selector": selector, "sort": ["a"]}))
    assert set(fetch(connection, query)) <= {b"object"}


# --- sorting ---------------------------------------------------------------------------------

MIXED: dict[bytes, object] = {
    b"k01": {"v": "b"},
    b"k02": {"v": 2},
    b"k03": {"v": None},
    b"k04": {"w": 0},
    b"k05": {"v": True},
    b"k06": {"v": [1]},
    b"k07": {"v": False},
    b"k08": {"v": 1.5},
    b"k09": {"v": {"a": 1}},
    b"k10": {"v": "a"},
    b"k11": {"v": 2.0},
    b"k12": {"v": "B"},
    b"k13": {"w": 1},
}
# missing < null < false < true < numbers < strings < arrays < objects; ties by key.
MIXED_ASCENDING = [
    b"k04", b"k13", b"k03", b"k07", b"k05", b"k08", b"k02", b"k11", b"k12", b"k10", b"k01", b"k06", b"k09",
]  # fmt: skip


def test_sort_ascending_over_mixed_types(ascii_only: bool) -> None:
    connection = open_state(MIXED, ascii_only)
    assert fetch(connection, '{"selector": {}, "sort": ["v"]}') == MIXED_ASCENDING
    assert fetch(connection, '{"selector": {}, "sort": [{"v": "asc"}]}') == MIXED_ASCENDING


def test_sort_descending_reverses_values_but_not_the_key_tie_break(ascii_only: bool) -> None:
    connection = open_state(MIXED, ascii_only)
    expected = [
        b"k09",
        b"k06",
        b"k01",
        b"k10",
        b"k12",
        b"k02",
        b"k11",
        b"k08",
        b"k05",
        b"k07",
        b"k03",
        b"k04",
        b"k13",
    ]
    assert fetch(connection, '{"selector": {}, "sort": [{"v": "desc"}]}') == expected


def test_without_sort_rows_come_in_key_order() -> None:
    connection = open_state({b"b": {"v": 1}, b"\x00a": {"v": 1}, b"a": {"v": 1}, b"ab": {"v": 1}})
    assert fetch(connection, '{"selector": {"v": 1}}') == [b"\x00a", b"a", b"ab", b"b"]


def test_sort_by_several_fields_and_nested_fields(ascii_only: bool) -> None:
    values = {
        b"1": {"o": {"city": "Oslo"}, "age": 30},
        b"2": {"o": {"city": "Bergen"}, "age": 30},
        b"3": {"o": {"city": "Oslo"}, "age": 20},
        b"4": {"o": {"city": "Bergen"}, "age": 40},
    }
    connection = open_state(values, ascii_only)
    query = '{"selector": {}, "sort": [{"o.city": "asc"}, {"age": "desc"}]}'
    assert fetch(connection, query) == [b"4", b"2", b"1", b"3"]


def test_documents_written_with_and_without_escapes_sort_together() -> None:
    values: dict[bytes, object] = {
        b"a": b'{"n\\u00e4me": "\\u00e9"}',
        b"b": '{"näme": "e"}'.encode(),
        b"c": '{"näme": "z"}'.encode(),
    }
    connection = open_state(values)
    assert fetch(connection, '{"selector": {}, "sort": ["näme"]}') == [b"b", b"c", b"a"]


# --- limit, skip and bookmarks -----------------------------------------------------------------


def numbered(count: int) -> dict[bytes, object]:
    """Documents whose sort order (by `n`, descending) differs from their key order."""
    return {f"key{i:02d}".encode(): {"n": (i * 7) % count, "even": i % 2 == 0} for i in range(count)}


def test_limit_and_skip() -> None:
    connection = open_state(numbered(10))
    everything = fetch(connection, '{"selector": {}, "sort": [{"n": "desc"}]}')
    assert len(everything) == 10
    assert fetch(connection, '{"selector": {}, "sort": [{"n": "desc"}], "limit": 3}') == everything[:3]
    assert fetch(connection, '{"selector": {}, "sort": [{"n": "desc"}], "skip": 8}') == everything[8:]
    query = '{"selector": {}, "sort": [{"n": "desc"}], "limit": 3, "skip": 4}'
    assert fetch(connection, query) == everything[4:7]
    assert fetch(connection, query, page_size=5) == everything[4:9]  # the page size wins over limit


@pytest.mark.parametrize("page_size", [1, 2, 3, 7, 50])
def test_bookmarks_return_every_match_exactly_once(page_size: int) -> None:
    connection = open_state(numbered(23))
    query = parse_query('{"selector": {"even": true}, "sort": [{"n": "desc"}]}')
    everything = fetch(connection, query)
    assert len(everything) == 12
    seen: list[bytes] = []
    bookmark = ""
    while True:
        window = query.window(page_size, bookmark)
        rows = fetch(connection, query, page_size, bookmark)
        seen += rows
        bookmark = window.next_bookmark(len(rows))
        if len(rows) < page_size:
            break
    assert seen == everything


def test_a_bookmark_can_travel_inside_the_query_text() -> None:
    connection = open_state(numbered(10))
    text = {"selector": {}, "sort": ["n"], "limit": 4}
    first = parse_query(json.dumps(text))
    rows = fetch(connection, first)
    bookmark = first.window().next_bookmark(len(rows))
    second = parse_query(json.dumps({**text, "bookmark": bookmark}))
    assert second.start == 4
    assert fetch(connection, second) == fetch(connection, '{"selector": {}, "sort": ["n"]}')[4:8]
    # The bookmark replaces skip: it already counts from the first match.
    assert parse_query(json.dumps({**text, "skip": 2, "bookmark": bookmark})).window().offset == 4


def test_a_bookmark_of_another_query_is_refused() -> None:
    query = parse_query('{"selector": {"a": 1}, "sort": ["n"]}')
    bookmark = query.window(2).next_bookmark(2)
    for other in ('{"selector": {"a": 2}, "sort": ["n"]}', '{"selector": {"a": 1}, "sort": [{"n": "desc"}]}'):
        with pytest.raises(SelectorError, match="bookmark belongs to a different query"):
            parse_query(other).window(2, bookmark)
    # limit, skip and fields do not change which rows come in which order.
    assert (
        parse_query('{"selector": {"a": 1}, "sort": ["n"], "limit": 9, "fields": ["a"]}')
        .window(2, bookmark)
        .offset
        == 2
    )


@pytest.mark.parametrize(
    "bookmark",
    ["not base64!", "eyJ9", "e30", "WzFd", "eyJvZmZzZXQiOi0xLCJxdWVyeSI6IngifQ", "é"],
    ids=["alphabet", "bad-json", "empty-object", "array", "negative-offset", "non-ascii"],
)
def test_malformed_bookmarks_are_refused(bookmark: str) -> None:
    query = parse_query('{"selector": {}}')
    with pytest.raises(SelectorError, match=re.escape(f"bookmark {bookmark!r} is not one this peer issued")):
        query.window(5, bookmark)


def test_page_size_must_be_positive() -> None:
    query = parse_query('{"selector": {}}')
    with pytest.raises(SelectorError, match="page size must be a positive integer, found 0"):
        query.window(0)
    with pytest.raises(ValueError, match="cannot have returned 6 rows"):
        query.window(5).next_bookmark(6)


# --- projection --------------------------------------------------------------------------------


def test_project_keeps_listed_fields_nested_and_skips_missing_ones() -> None:
    document: dict[str, Any] = {"a": 1, "o": {"x": 1, "y": {"z": 2}, "w": 3}, "b": [1, 2]}
    fields = [("o", "y", "z"), ("b",), ("missing",), ("a", "deeper"), ("o", "w")]
    assert project(document, fields) == {"o": {"y": {"z": 2}, "w": 3}, "b": [1, 2]}
    assert project(document, [("o",), ("o", "x")]) == {"o": {"x": 1, "y": {"z": 2}, "w": 3}}
    assert project(document, [("o", "x"), ("o",)]) == {"o": {"x": 1, "y": {"z": 2}, "w": 3}}
    projected: dict[str, Any] = project(document, [("o",)])
    projected["o"]["x"] = 99
    assert document["o"]["x"] == 1  # a copy, not the document itself


def test_project_value_from_the_query() -> None:
    query = parse_query('{"selector": {}, "fields": ["owner.name", "color", "a\\\\.b"]}')
    value = '{"color": "red", "owner": {"name": "bø", "age": 3}, "a.b": 1, "size": 2}'.encode()
    assert query.project_value(value) == '{"owner":{"name":"bø"},"color":"red","a.b":1}'.encode()
    unprojected = parse_query('{"selector": {}, "fields": []}')
    assert unprojected.fields is None
    assert unprojected.project_value(value) is value


# --- malformed queries -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "query is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        ("[]", "query must be a JSON object, found an array"),
        ("{}", 'query has no selector; expected {"selector": {...}}'),
        (
            '{"selector": {}, "r": 1}',
            (
                "unknown query field 'r'; expected one of bookmark, execution_stats, fields, limit, "
                "selector, skip, sort, use_index"
            ),
        ),
        ('{"selector": []}', "selector must be a selector object, found an array"),
        ('{"selector": {"a": 1, "a": 2}}', "query has the key 'a' twice in one object"),
        ('{"selector": {"a": NaN}}', "query is not valid JSON: NaN is not a JSON number"),
        ('{"selector": {"a": 1e999}}', "number 1e999 in the query is too large"),
        (
            '{"selector": {"a": 18446744073709551616}}',
            "number 18446744073709551616 in the query is outside the 64-bit integer range",
        ),
        ('{"selector": {"a": "\\ud800"}}', "query text '\\ud800' holds an unpaired surrogate escape"),
        ('{"selector": {"$and": "x"}}', "selector.$and must be a list of selectors, found a string"),
        ('{"selector": {"$or": [1]}}', "selector.$or[0] must be a selector object, found 1"),
        ('{"selector": {"$nor": {}}}', "selector.$nor must be a list of selectors, found an object"),
        ('{"selector": {"$not": []}}', "selector.$not must be a selector object, found an array"),
        ('{"selector": {"owner": {"$regexx": "a"}}}', "unknown operator '$regexx' in selector.owner"),
        (
            '{"selector": {"$or": [{"a": {"$bogus": 1}}]}}',
            "unknown operator '$bogus' in selector.$or[0].a",
        ),
        ('{"selector": {"n": {"$mod": [2, 0]}}}', "operator '$mod' in selector.n is not supported"),
        ('{"selector": {"n": {"$type": "string"}}}', "operator '$type' in selector.n is not supported"),
        (
            '{"selector": {"$gt": 1}}',
            'operator \'$gt\' in selector needs a field, as in {"field": {"$gt": ...}}',
        ),
        (
            '{"selector": {"a": {"$gt": [1]}}}',
            "selector.a.$gt needs a number, string, boolean or null, found an array",
        ),
        (
            '{"selector": {"a": {"$lte": {}}}}',
            "selector.a.$lte needs a number, string, boolean or null, found an object",
        ),
        ('{"selector": {"a": {"$in": 1}}}', "selector.a.$in must be a list of values, found 1"),
        ('{"selector": {"a": {"$nin": "ab"}}}', "selector.a.$nin must be a list of values, found a string"),
        ('{"selector": {"a": {"$all": null}}}', "selector.a.$all must be a list of values, found null"),
        (
            '{"selector": {"a": {"$exists": "yes"}}}',
            "selector.a.$exists must be true or false, found a string",
        ),
        (
            '{"selector": {"a": {"$regex": 5}}}',
            "selector.a.$regex must be a regular expression string, found 5",
        ),
        ('{"selector": {"a": {"$regex": "("}}}', "selector.a.$regex is not a valid regular expression: "),
        ('{"selector": {"a": {"$size": -1}}}', "selector.a.$size must be a non-negative integer, found -1"),
        ('{"selector": {"a": {"$size": 1.5}}}', "selector.a.$size must be a non-negative integer, found 1.5"),
        (
            '{"selector": {"a": {"$size": true}}}',
            "selector.a.$size must be a non-negative integer, found true",
        ),
        (
            '{"selector": {"a": {"$elemMatch": 3}}}',
            "selector.a.$elemMatch must be a selector object, found 3",
        ),
        (
            '{"selector": {"a": {"$elemMatch": {"$nope": 3}}}}',
            "unknown operator '$nope' in selector.a.$elemMatch",
        ),
        ('{"selector": {"a..b": 1}}', "field name 'a..b' in selector has an empty part"),
        ('{"selector": {"o": {".b": 1}}}', "field name '.b' in selector.o has an empty part"),
        ('{"selector": {"a.": 1}}', "field name 'a.' in selector has an empty part"),
        ('{"selector": {"": 1}}', "field name '' in selector has an empty part"),
        ('{"selector": {"a\\u0000": 1}}', "field name 'a\\x00' in selector contains a NUL character"),
        ('{"selector": {}, "sort": "a"}', "sort must be a list, found a string"),
        (
            '{"selector": {}, "sort": [1]}',
            'sort[0] must be a field name or {"field": "asc" | "desc"}, found 1',
        ),
        (
            '{"selector": {}, "sort": [{"a": "asc", "b": "asc"}]}',
            'sort[0] must be a field name or {"field": "asc" | "desc"}, found an object',
        ),
        ('{"selector": {}, "sort": ["a", {"b": "up"}]}', 'sort[1].b must be "asc" or "desc", found "up"'),
        ('{"selector": {}, "sort": ["a..b"]}', "field name 'a..b' in sort[0] has an empty part"),
        ('{"selector": {}, "fields": "a"}', "fields must be a list of field names, found a string"),
        ('{"selector": {}, "fields": ["a", 2]}', "fields[1] must be a field name, found 2"),
        ('{"selector": {}, "limit": 0}', "limit must be a positive integer, found 0"),
        ('{"selector": {}, "limit": 2.0}', "limit must be a positive integer, found 2.0"),
        ('{"selector": {}, "limit": "10"}', "limit must be a positive integer, found a string"),
        ('{"selector": {}, "limit": true}', "limit must be a positive integer, found true"),
        ('{"selector": {}, "skip": -1}', "skip must be a non-negative integer, found -1"),
        ('{"selector": {}, "skip": null}', "skip must be a non-negative integer, found null"),
        (
            '{"selector": {}, "use_index": 5}',
            "use_index must be a design document name or [design document, index name], found 5",
        ),
        (
            '{"selector": {}, "use_index": ["a", "b", "c"]}',
            "use_index must be a design document name or [design document, index name], found an array",
        ),
        ('{"selector": {}, "execution_stats": 1}', "execution_stats must be true or false, found 1"),
        ('{"selector": {}, "bookmark": 5}', "bookmark must be a string, found 5"),
        ('{"selector": {}, "bookmark": "%%"}', "bookmark '%%' is not one this peer issued"),
    ],
)
def test_malformed_queries_are_refused_with_the_place_named(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as raised:
        parse_query(text)
    assert str(raised.value).startswith(message)
    assert isinstance(raised.value, ConsortiaError)


def test_hints_are_accepted_and_ignored() -> None:
    query = parse_query(
        '{"selector": {"a": 1}, "use_index": ["_design/idx", "by-a"], "execution_stats": true}'
    )
    assert query == parse_query('{"selector": {"a": 1}}')
    assert parse_query('{"selector": {}, "use_index": "_design/idx"}').limit is None


def test_an_unqualified_document_column_is_refused() -> None:
    query = parse_query('{"selector": {"a": 1}}')
    with pytest.raises(ValueError, match="names 'value' without its table"):
        query.to_sql("CAST(value AS TEXT)")
    with pytest.raises(ValueError, match="names 'value' without its table"):
        query.order_by("value")
    assert query.to_sql("CAST(state.value AS TEXT)")[1] == [1, 1]  # once per rendering
    assert query.to_sql("json(state.value)")[1] == [1, 1]


# --- the property: SQL agrees with a plain evaluator of the same rules --------------------------

MISSING = object()


def kind_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def same(a: object, b: object) -> bool:
    """Mango equality: same JSON type, then same value; arrays and objects member-wise,
    object key order included."""
    if kind_of(a) != kind_of(b):
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def split(name: str) -> tuple[str, ...]:
    return tuple(part.replace("\x00", ".") for part in name.replace("\\.", "\x00").split("."))


def field(subject: object, path: tuple[str, ...]) -> object:
    for name in path:
        if not isinstance(subject, dict) or name not in subject:
            return MISSING
        subject = subject[name]
    return subject


def reference(selector: dict[str, Any], subject: object, path: tuple[str, ...] = ()) -> bool:
    return all(entry(name, operand, subject, path) for name, operand in selector.items())


def entry(name: str, operand: Any, subject: object, path: tuple[str, ...]) -> bool:
    if name == "$and":
        return all(reference(s, subject, path) for s in operand)
    if name == "$or":
        return any(reference(s, subject, path) for s in operand)
    if name == "$nor":
        return not any(reference(s, subject, path) for s in operand)
    if name == "$not":
        return not reference(operand, subject, path)
    if name.startswith("$"):
        return holds(name, operand, field(subject, path))
    inner = path + split(name)
    if isinstance(operand, dict) and operand:
        return reference(operand, subject, inner)
    return holds("$eq", operand, field(subject, inner))


def holds(name: str, operand: Any, value: Any) -> bool:
    if name == "$exists":
        return (value is not MISSING) is operand
    if value is MISSING:
        return False
    if name == "$eq":
        return same(value, operand)
    if name == "$ne":
        return not same(value, operand)
    if name == "$in":
        return any(same(value, x) for x in operand)
    if name == "$nin":
        return not any(same(value, x) for x in operand)
    if name in ("$gt", "$gte", "$lt", "$lte"):
        if kind_of(value) != kind_of(operand):
            return False
        if operand is None:
            return name in ("$gte", "$lte")
        outcome: bool = {
            "$gt": value > operand,
            "$gte": value >= operand,
            "$lt": value < operand,
            "$lte": value <= operand,
        }[name]
        return outcome
    if name == "$regex":
        return isinstance(value, str) and re.search(operand, value) is not None
    if name == "$size":
        return isinstance(value, list) and len(value) == operand
    if name == "$all":
        if not isinstance(value, list):
            return False
        return all(any(same(e, x) for e in value) for x in operand) if operand else value == []
    if name == "$elemMatch":
        return isinstance(value, list) and any(reference(operand, element) for element in value)
    raise AssertionError(name)


# Small pools so that random documents and selectors often meet: most conditions are on
# "a", which half the documents have, as a scalar, an array or an object.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(0, 2),
    st.sampled_from([0.5, 1.0]),
    st.sampled_from(["", "a", "1", "é", "x\\y", 'q"']),
)
small_objects = st.dictionaries(st.sampled_from(["a", "b"]), scalars, max_size=2)
values = st.one_of(scalars, scalars, st.lists(scalars, max_size=2), small_objects)
field_values = st.one_of(values, st.lists(small_objects, max_size=2))
documents = st.fixed_dictionaries({}, optional={"a": field_values, "é x": field_values, "a.b": field_values})
fields = st.sampled_from(["a", "a", "a", "é x", "a.a", "a.b", "a\\.b", "missing"])


def condition() -> st.SearchStrategy[dict[str, Any]]:
    comparisons = st.sampled_from(["$gt", "$gte", "$lt", "$lte"])
    return st.one_of(
        st.builds(lambda v: {"$eq": v}, values),
        st.builds(lambda v: {"$ne": v}, values),
        st.builds(lambda op, v: {op: v}, comparisons, scalars),
        st.builds(lambda op, v: {op: v}, comparisons, scalars),  # twice: they have the most cases
        st.builds(lambda v: {"$in": v}, st.lists(values, max_size=3)),
        st.builds(lambda v: {"$nin": v}, st.lists(values, max_size=3)),
        st.builds(lambda v: {"$exists": v}, st.booleans()),
        st.builds(lambda v: {"$regex": v}, st.sampled_from(["^a", "b", "é", "^$", "1", "\\\\"])),
        st.builds(lambda v: {"$size": v}, st.integers(0, 3)),
        st.builds(lambda v: {"$all": v}, st.lists(scalars, max_size=2)),
        st.builds(lambda v: {"$elemMatch": {"$eq": v}}, scalars),
        st.builds(lambda op, v: {"$elemMatch": {op: v}}, comparisons, scalars),
        st.builds(lambda f, v: {"$elemMatch": {f: v}}, st.sampled_from(["a", "b"]), scalars),
        st.builds(lambda c: {"$not": c}, st.builds(lambda v: {"$eq": v}, scalars)),
    )


leaves = st.one_of(
    st.builds(lambda f, c: {f: c}, fields, condition()),
    st.builds(lambda f, v: {f: v}, fields, values),  # implicit $eq (an object operand nests)
    st.builds(
        lambda f, g, c: {f: {g: c}}, st.sampled_from(["a", "é x"]), st.sampled_from(["a", "b"]), condition()
    ),
)
selectors = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda parts: {"$and": parts}, st.lists(inner, max_size=3)),
        st.builds(lambda parts: {"$or": parts}, st.lists(inner, max_size=3)),
        st.builds(lambda parts: {"$nor": parts}, st.lists(inner, max_size=2)),
        st.builds(lambda part: {"$not": part}, inner),
        st.builds(lambda a, b: {**a, **b}, inner, inner),
    ),
    max_leaves=6,
)


def stored(docs: list[tuple[dict[str, Any], bool]]) -> Iterator[tuple[bytes, object]]:
    for i, (document, ascii_only) in enumerate(docs):
        yield f"doc{i:02d}".encode(), encode(document, ascii_only)
    yield b"not-json", b"{not json"
    yield b"array", b"[1]"


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(st.tuples(documents, st.booleans()), min_size=4, max_size=10), selector=selectors)
def test_sql_agrees_with_the_reference_evaluator(
    docs: list[tuple[dict[str, Any], bool]], selector: dict[str, Any]
) -> None:
    connection = open_state(dict(stored(docs)))
    expected = {
        f"doc{i:02d}".encode() for i, (document, _) in enumerate(docs) if reference(selector, document)
    }
    assert set(fetch(connection, json.dumps({"selector": selector}))) == expected


@settings(max_examples=500, deadline=None)
@given(
    docs=st.lists(st.tuples(st.fixed_dictionaries({"a": values}), st.booleans()), min_size=4, max_size=10),
    selector=condition(),
    negate=st.booleans(),
)
def test_single_conditions_agree_with_the_reference_evaluator(
    docs: list[tuple[dict[str, Any], bool]], selector: dict[str, Any], negate: bool
) -> None:
    """One operator on a field every document has: the type distinctions, densely."""
    query = {"a": {"$not": selector} if negate else selector}
    connection = open_state(dict(stored(docs)))
    expected = {f"doc{i:02d}".encode() for i, (document, _) in enumerate(docs) if reference(query, document)}
    assert set(fetch(connection, json.dumps({"selector": query}))) == expected


def rank(value: object) -> tuple[int, object]:
    """CouchDB's type order, missing first; values only compared within one type."""
    if value is MISSING:
        return (0, 0)
    if value is None:
        return (1, 0)
    if isinstance(value, bool):
        return (2 + value, 0)
    if isinstance(value, (int, float)):
        return (4, value)
    if isinstance(value, str):
        return (5, value)
    raise AssertionError(value)


@settings(max_examples=200, deadline=None)
@given(
    docs=st.lists(
        st.tuples(st.dictionaries(st.sampled_from(["s", "t"]), scalars), st.booleans()), max_size=10
    ),
    descending=st.booleans(),
)
def test_sort_agrees_with_the_reference_order(
    docs: list[tuple[dict[str, Any], bool]], descending: bool
) -> None:
    connection = open_state({f"doc{i:02d}".encode(): encode(d, a) for i, (d, a) in enumerate(docs)})
    direction = "desc" if descending else "asc"
    got = fetch(connection, json.dumps({"selector": {}, "sort": [{"s": direction}]}))
    keyed = sorted((f"doc{i:02d}".encode(), d) for i, (d, _) in enumerate(docs))
    expected = [k for k, d in sorted(keyed, key=lambda kd: rank(field(kd[1], ("s",))), reverse=descending)]
    assert got == expected
