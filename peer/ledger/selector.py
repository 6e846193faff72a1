"""Rich queries: CouchDB Mango queries over the world state, compiled to SQLite JSON1.

Chaincode calls GetQueryResult with a Mango query, the JSON query language of the
CouchDB state database Fabric peers can use. This peer keeps world state in SQLite, so
this module turns the query into SQL that SQLite's JSON functions evaluate inside the
database (calling back into Python only for $regex and to compare arrays and objects).

    query = parse_query('{"selector": {"owner.name": "bob", "size": {"$gt": 4}}}')
    where, params = query.to_sql("CAST(state.value AS TEXT)")
    order = query.order_by("CAST(state.value AS TEXT)", key="state.key")
    window = query.window(page_size=10, bookmark="")
    sql = f"SELECT key, value FROM state WHERE ns = ? AND {where} ORDER BY {order} {window.sql()}"
    rows = connection.execute(sql, [ns, *params]).fetchall()    # after install(connection)
    bookmark = window.next_bookmark(len(rows))

What matches, following CouchDB:

- A value that is not a JSON object (not JSON at all, or an array, string, number...)
  never matches, whatever the selector.
- `{"a": 1, "b": 2}` is an implicit `$and`; `{"a": 1}` is `{"a": {"$eq": 1}}`; an object
  operand without operator keys names nested fields (`{"o": {"n": 1}}` is `{"o.n": 1}`).
  `"o.n"` is field `n` of field `o`; `\\.` in a field name is a literal dot. An empty
  object operand (`{"o": {}}`) means `o` equals `{}`.
- A condition on a missing field is false, `$ne` and `$nin` included; only
  `{"$exists": false}` matches documents lacking the field. `$not` negates the whole
  condition, so `{"$not": {"a": 1}}` does match documents without `a`.
- Types never mix: 1 equals 1.0 but never "1" or true; null matches a JSON null, not a
  missing field; `$gt` and friends compare numbers with numbers and strings with
  strings (by code point, not CouchDB's ICU collation); booleans and null compare only
  with themselves (false < true). CouchDB would rank across types here; we refuse to
  guess, so `{"$gt": 5}` never matches a string.
- Arrays and objects compare as JSON values with their key order significant:
  `{"a": 1, "b": 2}` does not equal `{"b": 2, "a": 1}`. Numbers inside them compare by
  value (1 equals 1.0) and string escapes do not matter.
- `$regex` uses Python's `re.search` (CouchDB uses Erlang's PCRE; common syntax agrees).
- `$size`, `$all` and `$elemMatch` work on arrays; `$nor` is `$not` of `$or`. Field
  paths do not index into arrays (`"tags.0"` addresses a key named "0").
- Sorting orders null < false < true < numbers < strings < arrays < objects, with
  documents lacking the field first (CouchDB would demand an index), then by key.

How a field is reached. SQLite addresses fields with JSON paths (`$."owner"."name"`)
but, before 3.45, compares path labels with the *escaped* key text of the document:
`{"\\u00e9": 1}` (what Python's json.dumps writes for "é") is not found by `$."é"`, and a
key containing `"` cannot be written in a path at all. `json_each` decodes keys
properly but is slower. So every selector is rendered twice: with paths, used for
documents containing no backslash (where escaped and decoded keys are the same
text), and with json_each, used for the others. Results are the same on every SQLite
version, which matters because peers endorsing the same proposal must agree.

The `document` SQL expression handed to `to_sql` and `order_by` appears inside
subqueries over json_each, whose own columns are named key, value, type, and so on: a
bare `value` there would silently mean json_each's column. Qualify it
(`CAST(state.value AS TEXT)`); an unqualified name is refused with ValueError.

Paging is by offset: a bookmark is base64url of a small JSON object holding the offset
of the next page and a fingerprint of the selector and sort, so a bookmark handed to a
different query is refused rather than silently skipping the wrong rows.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hashlib
import itertools
import json
import operator
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias, TypeGuard

from consortia.errors import ConsortiaError

# The SQL functions `install` registers and the compiled SQL calls.
REGEXP_FUNCTION = "regexp"
CANONICAL_JSON_FUNCTION = "mango_json"

FieldPath: TypeAlias = tuple[str, ...]

_QUERY_FIELDS = ("bookmark", "execution_stats", "fields", "limit", "selector", "skip", "sort", "use_index")
_COMBINATORS = frozenset({"$and", "$or", "$nor", "$not"})
_COMPARISONS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_FIELD_OPERATORS = frozenset(
    {"$eq", "$ne", "$in", "$nin", "$exists", "$regex", "$size", "$all", "$elemMatch", *_COMPARISONS}
)
# CouchDB operators we know and deliberately do not implement (a clearer error than "unknown").
_UNSUPPORTED = frozenset({"$mod", "$type", "$allMatch", "$keyMapMatch", "$beginsWith", "$text"})
_BOOLEAN_ORDER: dict[str, Callable[[bool, bool], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}
_INT64 = range(-(2**63), 2**63)
# Columns of json_each/json_tree: a bare one in the document expression would be captured.
_CAPTURABLE = re.compile(
    r"(?<![\w.\"`\]])(key|value|type|atom|id|parent|fullkey|path|json|root)(?![\w\"`\[])(?!\s*\()",
    re.IGNORECASE,
)


class SelectorError(ConsortiaError):
    """A Mango query is malformed or unsupported, or its bookmark is not for it."""


# --- the parsed selector ------------------------------------------------------------------


@dataclass(frozen=True)
class _And:
    parts: tuple[_Node, ...]


@dataclass(frozen=True)
class _Or:
    parts: tuple[_Node, ...]


@dataclass(frozen=True)
class _Not:
    part: _Node


@dataclass(frozen=True)
class _Test:
    """One operator applied to the value at `path` (relative to the subject)."""

    path: FieldPath
    operator: str
    operand: object


@dataclass(frozen=True)
class _ElemMatch:
    """Some element of the array at `path` matches `selector` (paths relative to it)."""

    path: FieldPath
    selector: _Node


_Node: TypeAlias = "_And | _Or | _Not | _Test | _ElemMatch"


@dataclass(frozen=True)
class SortKey:
    path: FieldPath
    descending: bool = False


# --- the query -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Which slice of the ordered matches one request returns, and how to name the next."""

    offset: int
    limit: int | None
    fingerprint: str

    def sql(self) -> str:
        """The LIMIT/OFFSET clause (integers we produced, so inlining them is safe)."""
        return f"LIMIT {-1 if self.limit is None else self.limit} OFFSET {self.offset}"

    def next_bookmark(self, returned: int) -> str:
        """The bookmark of the page after this one, given how many rows this one returned."""
        if returned < 0 or (self.limit is not None and returned > self.limit):
            raise ValueError(f"a page of limit {self.limit} cannot have returned {returned} rows")
        return _write_bookmark(self.offset + returned, self.fingerprint)


@dataclass(frozen=True)
class MangoQuery:
    """A parsed, validated Mango query; `start` is the offset its bookmark resumes at."""

    selector: _Node
    sort: tuple[SortKey, ...] = ()
    limit: int | None = None
    skip: int = 0
    start: int | None = None
    fields: tuple[FieldPath, ...] | None = None
    fingerprint: str = ""

    def to_sql(self, document: str) -> tuple[str, list[object]]:
        """A parenthesized WHERE condition on `document` (SQL giving the value as TEXT), and
        the parameters of its `?` placeholders, in order."""
        doc = _document(document)
        root = _Subject(doc)
        by_path = _Compiler("path").selector(self.selector, root)
        by_each = _Compiler("each").selector(self.selector, root)
        guard = "(CASE WHEN json_valid({}) IS NOT 1 THEN 0 WHEN json_type({}) <> 'object' THEN 0 "
        if by_path == by_each:  # no field is looked at: one rendering serves every document
            where = _sql(guard + "ELSE {} END)", doc, doc, by_path)
        else:
            where = _sql(
                guard + "WHEN instr({}, '\\') = 0 THEN {} ELSE {} END)", doc, doc, doc, by_path, by_each
            )
        return where.text, list(where.params)

    def order_by(self, document: str, key: str = "key") -> str:
        """The ORDER BY terms (no placeholders): each sort field by type rank then value,
        and finally `key` ascending so equal documents come in a stable order."""
        doc = _document(document)
        terms: list[str] = []
        for sort_key in self.sort:
            direction = " DESC" if sort_key.descending else " ASC"
            for term in (_sort_rank, _sort_value):
                by_path = term(_Compiler("path"), _Subject(doc), sort_key.path)
                by_each = term(_Compiler("each"), _Subject(doc), sort_key.path)
                either = _sql(
                    "CASE WHEN json_valid({}) IS NOT 1 THEN NULL WHEN instr({}, '\\') = 0 THEN {} ELSE {} END",
                    doc,
                    doc,
                    by_path,
                    by_each,
                )
                assert not either.params, "sort terms carry no parameters"
                terms.append(either.text + direction)
        terms.append(f"{key} ASC")
        return ", ".join(terms)

    def window(self, page_size: int | None = None, bookmark: str | None = None) -> Window:
        """The window to fetch: from `bookmark` (or the query's own, or `skip`), at most
        `page_size` rows (or the query's `limit`). '' as bookmark means the first page,
        as Fabric's GetQueryResultWithPagination sends it."""
        if page_size is not None and (isinstance(page_size, bool) or page_size <= 0):
            raise SelectorError(f"page size must be a positive integer, found {page_size}")
        start = self.start if bookmark is None else _read_bookmark(bookmark, self.fingerprint)
        return Window(
            offset=self.skip if start is None else start,
            limit=self.limit if page_size is None else page_size,
            fingerprint=self.fingerprint,
        )

    def project_value(self, value: bytes) -> bytes:
        """The value as returned to chaincode: unchanged without `fields` (the very bytes
        stored), else the projected document as compact JSON."""
        if self.fields is None:
            return value
        try:
            document = json.loads(value)
        except ValueError as exc:
            raise SelectorError(f"only JSON objects can be projected; this value is not JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise SelectorError(f"only JSON objects can be projected; this value is {_describe(document)}")
        projected = project(document, self.fields)
        return json.dumps(projected, ensure_ascii=False, separators=(",", ":")).encode()


def project(document: Mapping[str, object], fields: Iterable[FieldPath]) -> dict[str, object]:
    """Keep only `fields` of `document` (nested ones nested, missing ones left out), in
    the order the fields are listed; the document itself is not modified."""
    result: dict[str, object] = {}
    for path in fields:
        found = _lookup(document, path)
        if found is _MISSING:
            continue
        target = result
        for name in path[:-1]:
            inner = target.get(name)
            if not isinstance(inner, dict):
                inner = {}
                target[name] = inner
            target = inner
        target[path[-1]] = copy.deepcopy(found)
    return result


_MISSING = object()


def _lookup(document: Mapping[str, object], path: FieldPath) -> object:
    current: object = document
    for name in path:
        if not isinstance(current, dict) or name not in current:
            return _MISSING
        current = current[name]
    return current


def install(connection: sqlite3.Connection) -> None:
    """Register the SQL functions compiled queries call: `regexp(pattern, text)` (Python
    `re.search`, 0 for anything but text) and `mango_json(text)` (the canonical form of a
    JSON array or object, see `canonical_json`). Both are deterministic, so SQLite may
    use them anywhere a built-in could go."""

    @functools.lru_cache(maxsize=256)
    def compiled(pattern: str) -> re.Pattern[str]:
        return re.compile(pattern)

    def regexp(pattern: object, text: object) -> int:
        if not isinstance(pattern, str) or not isinstance(text, str):
            return 0
        return 1 if compiled(pattern).search(text) else 0

    def canonical(text: object) -> str | None:
        if not isinstance(text, str):
            return None
        try:
            return canonical_json(json.loads(text))
        except ValueError:
            return None

    connection.create_function(REGEXP_FUNCTION, 2, regexp, deterministic=True)
    connection.create_function(CANONICAL_JSON_FUNCTION, 1, canonical, deterministic=True)


def canonical_json(value: object) -> str:
    """One text per JSON value, so arrays and objects can be compared in SQL: compact,
    ASCII-only (escapes decided here, not by whoever wrote the document), integral
    numbers written as integers (so [1.0] equals [1], as 1.0 equals 1), key order kept."""
    return json.dumps(_integral(value), ensure_ascii=True, separators=(",", ":"))


def _integral(value: object) -> object:
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    if isinstance(value, list):
        return [_integral(item) for item in value]
    if isinstance(value, dict):
        return {name: _integral(item) for name, item in value.items()}
    return value


# --- parsing -------------------------------------------------------------------------------


def parse_query(text: str) -> MangoQuery:
    """Parse and check a Mango query; every problem raises SelectorError naming its place."""
    query = _load(text)
    if not isinstance(query, dict):
        raise SelectorError(f"query must be a JSON object, found {_describe(query)}")
    unknown = [name for name in query if name not in _QUERY_FIELDS]
    if unknown:
        raise SelectorError(f"unknown query field {unknown[0]!r}; expected one of {', '.join(_QUERY_FIELDS)}")
    if "selector" not in query:
        raise SelectorError('query has no selector; expected {"selector": {...}}')
    selector = _selector(query["selector"], "selector", (), element=False)
    sort = _sort(query.get("sort", []))
    fields = _fields(query.get("fields"))
    limit = query.get("limit")
    if limit is not None and (not _is_int(limit) or limit <= 0):
        raise SelectorError(f"limit must be a positive integer, found {_describe(limit)}")
    skip = query.get("skip", 0)
    if not _is_int(skip) or skip < 0:
        raise SelectorError(f"skip must be a non-negative integer, found {_describe(skip)}")
    _check_hints(query)
    fingerprint = _fingerprint(query["selector"], sort)
    start = None
    if "bookmark" in query:
        bookmark = query["bookmark"]
        if not isinstance(bookmark, str):
            raise SelectorError(f"bookmark must be a string, found {_describe(bookmark)}")
        start = _read_bookmark(bookmark, fingerprint)
    return MangoQuery(selector, sort, limit, skip, start, fields, fingerprint)


def _load(text: str) -> object:
    """json.loads, refusing what is ambiguous (a key given twice), not JSON (NaN), or not
    something SQLite can hold (numbers beyond 64 bits or doubles, unpaired surrogates)."""

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        result: dict[str, object] = {}
        for name, value in items:
            if name in result:
                raise SelectorError(f"query has the key {name!r} twice in one object")
            result[name] = value
        return result

    def constant(name: str) -> object:
        raise SelectorError(f"query is not valid JSON: {name} is not a JSON number")

    def integer(digits: str) -> int:
        number = int(digits)
        if number not in _INT64:
            raise SelectorError(f"number {digits} in the query is outside the 64-bit integer range")
        return number

    def real(digits: str) -> float:
        number = float(digits)
        if number in (float("inf"), float("-inf")):
            raise SelectorError(f"number {digits} in the query is too large")
        return number

    try:
        query = json.loads(
            text, object_pairs_hook=pairs, parse_constant=constant, parse_int=integer, parse_float=real
        )
    except json.JSONDecodeError as exc:
        raise SelectorError(f"query is not valid JSON: {exc}") from exc
    _check_text(query)
    return query


def _check_text(value: object) -> None:
    """Lone surrogates (`"\\ud800"`) are valid JSON escapes but not text SQLite can hold."""
    strings: Iterable[object]
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise SelectorError(f"query text {value!r} holds an unpaired surrogate escape") from exc
        return
    if isinstance(value, dict):
        strings = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        strings = value
    else:
        return
    for item in strings:
        _check_text(item)


def _selector(selector: object, where: str, prefix: FieldPath, element: bool) -> _Node:
    """The conditions of one selector object, whose fields are relative to `prefix`.
    `element` says operators may apply to the subject itself (inside $elemMatch)."""
    if not isinstance(selector, dict):
        raise SelectorError(f"{where} must be a selector object, found {_describe(selector)}")
    parts: list[_Node] = []
    for name, operand in selector.items():
        here = f"{where}.{name}"
        if name in _COMBINATORS:
            parts.append(_combinator(name, operand, here, prefix, element))
        elif name.startswith("$"):
            if name in _UNSUPPORTED:
                raise SelectorError(f"operator {name!r} in {where} is not supported")
            if name not in _FIELD_OPERATORS:
                raise SelectorError(f"unknown operator {name!r} in {where}")
            if not prefix and not element:
                raise SelectorError(
                    f'operator {name!r} in {where} needs a field, as in {{"field": {{"{name}": ...}}}}'
                )
            parts.append(_operator(name, operand, here, prefix))
        else:
            path = prefix + _field_path(name, where)
            if isinstance(operand, dict) and operand:
                parts.append(_selector(operand, here, path, element))
            else:
                parts.append(_Test(path, "$eq", operand))
    return parts[0] if len(parts) == 1 else _And(tuple(parts))


def _combinator(name: str, operand: object, where: str, prefix: FieldPath, element: bool) -> _Node:
    if name == "$not":
        return _Not(_selector(operand, where, prefix, element))
    if not isinstance(operand, list):
        raise SelectorError(f"{where} must be a list of selectors, found {_describe(operand)}")
    parts = tuple(_selector(item, f"{where}[{i}]", prefix, element) for i, item in enumerate(operand))
    if name == "$and":
        return _And(parts)
    if name == "$or":
        return _Or(parts)
    return _Not(_Or(parts))  # $nor


def _operator(name: str, operand: object, where: str, path: FieldPath) -> _Node:
    if name in _COMPARISONS and isinstance(operand, (list, dict)):
        raise SelectorError(f"{where} needs a number, string, boolean or null, found {_describe(operand)}")
    if name in ("$in", "$nin", "$all"):
        if not isinstance(operand, list):
            raise SelectorError(f"{where} must be a list of values, found {_describe(operand)}")
        return _Test(path, name, tuple(operand))
    if name == "$exists" and not isinstance(operand, bool):
        raise SelectorError(f"{where} must be true or false, found {_describe(operand)}")
    if name == "$regex":
        if not isinstance(operand, str):
            raise SelectorError(f"{where} must be a regular expression string, found {_describe(operand)}")
        try:
            re.compile(operand)
        except re.error as exc:
            raise SelectorError(f"{where} is not a valid regular expression: {exc}") from exc
    if name == "$size" and (not _is_int(operand) or operand < 0):
        raise SelectorError(f"{where} must be a non-negative integer, found {_describe(operand)}")
    if name == "$elemMatch":
        return _ElemMatch(path, _selector(operand, where, (), element=True))
    return _Test(path, name, operand)


def _field_path(name: str, where: str) -> FieldPath:
    """Split a dotted field name; `\\.` stands for a dot inside one name."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(name):
        if name.startswith("\\.", i):
            current.append(".")
            i += 2
        elif name[i] == ".":
            parts.append("".join(current))
            current = []
            i += 1
        else:
            current.append(name[i])
            i += 1
    parts.append("".join(current))
    if not all(parts):
        raise SelectorError(f"field name {name!r} in {where} has an empty part")
    if "\x00" in name:
        raise SelectorError(f"field name {name!r} in {where} contains a NUL character")
    return tuple(parts)


def _sort(sort: object) -> tuple[SortKey, ...]:
    if not isinstance(sort, list):
        raise SelectorError(f"sort must be a list, found {_describe(sort)}")
    keys: list[SortKey] = []
    for i, item in enumerate(sort):
        where = f"sort[{i}]"
        if isinstance(item, str):
            keys.append(SortKey(_field_path(item, where)))
        elif isinstance(item, dict) and len(item) == 1:
            [(name, direction)] = item.items()
            if direction not in ("asc", "desc"):
                raise SelectorError(f'{where}.{name} must be "asc" or "desc", found {json.dumps(direction)}')
            keys.append(SortKey(_field_path(name, where), descending=direction == "desc"))
        else:
            raise SelectorError(
                f'{where} must be a field name or {{"field": "asc" | "desc"}}, found {_describe(item)}'
            )
    return tuple(keys)


def _fields(fields: object) -> tuple[FieldPath, ...] | None:
    """The projection; absent or empty means the whole document, as in CouchDB."""
    if fields is None:
        return None
    if not isinstance(fields, list):
        raise SelectorError(f"fields must be a list of field names, found {_describe(fields)}")
    paths: list[FieldPath] = []
    for i, item in enumerate(fields):
        if not isinstance(item, str):
            raise SelectorError(f"fields[{i}] must be a field name, found {_describe(item)}")
        paths.append(_field_path(item, f"fields[{i}]"))
    return tuple(paths) or None


def _check_hints(query: dict[str, object]) -> None:
    """use_index and execution_stats steer CouchDB; we accept and ignore them, but only
    in the shapes CouchDB accepts, so a typo is still reported."""
    hint = query.get("use_index")
    if hint is not None and not (
        isinstance(hint, str)
        or (isinstance(hint, list) and 1 <= len(hint) <= 2 and all(isinstance(h, str) for h in hint))
    ):
        raise SelectorError(
            f"use_index must be a design document name or [design document, index name], found {_describe(hint)}"
        )
    stats = query.get("execution_stats")
    if stats is not None and not isinstance(stats, bool):
        raise SelectorError(f"execution_stats must be true or false, found {_describe(stats)}")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return repr(value)
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# --- bookmarks -----------------------------------------------------------------------------


def _fingerprint(selector: object, sort: tuple[SortKey, ...]) -> str:
    canonical = json.dumps(
        {"selector": selector, "sort": [[list(k.path), k.descending] for k in sort]},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _write_bookmark(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"offset": offset, "query": fingerprint}, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode("ascii")


def _read_bookmark(bookmark: str, fingerprint: str) -> int | None:
    """The offset a bookmark resumes at; None for '' (the first page)."""
    if bookmark == "":
        return None
    try:
        raw = base64.b64decode(bookmark + "=" * (-len(bookmark) % 4), altchars=b"-_", validate=True)
        data = json.loads(raw)
    except (ValueError, binascii.Error) as exc:
        raise SelectorError(f"bookmark {bookmark!r} is not one this peer issued") from exc
    if not (
        isinstance(data, dict)
        and set(data) == {"offset", "query"}
        and _is_int(data["offset"])
        and data["offset"] >= 0
        and isinstance(data["query"], str)
    ):
        raise SelectorError(f"bookmark {bookmark!r} is not one this peer issued")
    if data["query"] != fingerprint:
        raise SelectorError("bookmark belongs to a different query (its selector or sort differ)")
    offset: int = data["offset"]
    return offset


# --- compiling to SQL ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Sql:
    """A piece of SQL and the values of its `?` placeholders, in text order; pieces are only
    ever combined by `_sql`, so the parameters cannot drift from their placeholders."""

    text: str
    params: tuple[object, ...] = ()


_TRUE = _Sql("1")
_FALSE = _Sql("0")


def _sql(template: str, *parts: _Sql) -> _Sql:
    """Fill the `{}` slots of a constant template with pieces, in order."""
    pieces = template.split("{}")
    if len(pieces) != len(parts) + 1:
        raise AssertionError(f"template {template!r} has {len(pieces) - 1} slots for {len(parts)} parts")
    text = [pieces[0]]
    params: list[object] = []
    for part, piece in zip(parts, pieces[1:]):
        text += [part.text, piece]
        params.extend(part.params)
    return _Sql("".join(text), tuple(params))


def _join(separator: str, parts: Sequence[_Sql]) -> _Sql:
    return _sql(separator.join(["{}"] * len(parts)), *parts)


def _literal(text: str) -> _Sql:
    """A SQL string literal; doubling quotes is all SQLite needs (NUL is refused earlier)."""
    return _Sql("'" + text.replace("'", "''") + "'")


def _values(values: Sequence[object]) -> _Sql:
    return _Sql(", ".join(["?"] * len(values)), tuple(values))


def _document(document: str) -> _Sql:
    found = _CAPTURABLE.search(document)
    if found:
        raise ValueError(
            f"document expression {document!r} names {found.group(1)!r} without its table; inside the "
            f"json_each subqueries of the compiled query that would mean json_each's own column. "
            f"Qualify it, as in CAST(state.value AS TEXT)"
        )
    return _Sql(f"({document})")


@dataclass(frozen=True)
class _Subject:
    """What field paths start from: a JSON document (SQL giving its text, NULL when it is
    not an object) and, inside $elemMatch, the element's own type and value."""

    document: _Sql
    type: _Sql | None = None
    value: _Sql | None = None


_Condition = Callable[[_Sql, _Sql], _Sql]


class _Compiler:
    """Renders selectors with one way of reaching fields: "path" (json_type/json_extract
    with a JSON path) or "each" (json_each, which decodes escaped keys). A condition is
    always written as a function of the SQL giving the field's json type and its value,
    and evaluates to 0 or 1, never NULL, so NOT works as the selector means it."""

    def __init__(self, strategy: Literal["path", "each"]) -> None:
        self.strategy = strategy
        self._aliases = 0

    def _alias(self) -> str:
        self._aliases += 1
        return f"mango_each_{self._aliases}"

    def selector(self, node: _Node, subject: _Subject) -> _Sql:
        if isinstance(node, _And):
            return (
                _sql("({})", _join(" AND ", [self.selector(p, subject) for p in node.parts]))
                if node.parts
                else _TRUE
            )
        if isinstance(node, _Or):
            return (
                _sql("({})", _join(" OR ", [self.selector(p, subject) for p in node.parts]))
                if node.parts
                else _FALSE
            )
        if isinstance(node, _Not):
            return _sql("(NOT {})", self.selector(node.part, subject))
        if isinstance(node, _ElemMatch):
            return self.present(subject, node.path, lambda t, v: self._elem_match(node.selector, t, v))
        if node.operator == "$exists":
            return (
                self.present(subject, node.path, lambda t, v: _TRUE)
                if node.operand
                else self.absent(subject, node.path)
            )
        return self.present(subject, node.path, lambda t, v: self._condition(node, t, v))

    def present(self, subject: _Subject, path: FieldPath, condition: _Condition) -> _Sql:
        """The field exists and satisfies `condition`."""
        if not path:
            return self.at(subject, path, condition)
        return _sql("ifnull({}, 0)", self.at(subject, path, condition))

    def absent(self, subject: _Subject, path: FieldPath) -> _Sql:
        if not path:
            return _FALSE
        return _sql("({} IS NULL)", self.at(subject, path, lambda t, v: _TRUE))

    def at(self, subject: _Subject, path: FieldPath, expression: _Condition) -> _Sql:
        """`expression` of the field at `path`, or NULL when there is no such field."""
        if not path:
            assert subject.type is not None and subject.value is not None, "operators need a field"
            return expression(subject.type, subject.value)
        if self.strategy == "path":
            return self._at_path(subject, path, expression)
        return self._at_each(subject, path, expression)

    def _at_path(self, subject: _Subject, path: FieldPath, expression: _Condition) -> _Sql:
        # Used only for documents without a backslash, whose keys cannot hold '"', '\' or
        # control characters: a name with one of those is simply not there.
        if any(_needs_escape(name) for name in path):
            return _Sql("NULL")
        json_path = _literal("$" + "".join(f'."{name}"' for name in path))
        kind = _sql("json_type({}, {})", subject.document, json_path)
        value = _sql("json_extract({}, {})", subject.document, json_path)
        return _sql("CASE WHEN {} IS NOT NULL THEN {} END", kind, expression(kind, value))

    def _at_each(self, subject: _Subject, path: FieldPath, expression: _Condition) -> _Sql:
        aliases = [self._alias() for _ in path]
        sources = [_sql(f"json_each({{}}) AS {aliases[0]}", subject.document)]
        for outer, inner in itertools.pairwise(aliases):
            sources.append(
                _Sql(f"json_each(CASE WHEN {outer}.type = 'object' THEN {outer}.value END) AS {inner}")
            )
        names = [_sql(f"{alias}.key = {{}}", _literal(name)) for alias, name in zip(aliases, path)]
        last = aliases[-1]
        # LIMIT 1: like a JSON path, look at the first member of that name only.
        return _sql(
            "(SELECT {} FROM {} WHERE {} LIMIT 1)",
            expression(_Sql(f"{last}.type"), _Sql(f"{last}.value")),
            _join(", ", sources),
            _join(" AND ", names),
        )

    def _condition(self, test: _Test, kind: _Sql, value: _Sql) -> _Sql:
        name, operand = test.operator, test.operand
        if name == "$eq":
            return _member(kind, value, (operand,))
        if name == "$ne":
            return _sql("(NOT {})", _member(kind, value, (operand,)))
        if name == "$in":
            return _member(kind, value, _as_tuple(operand))
        if name == "$nin":
            return _sql("(NOT {})", _member(kind, value, _as_tuple(operand)))
        if name in _COMPARISONS:
            return _compare(kind, value, name, operand)
        if name == "$regex":
            return _if_type(kind, "text", _sql(f"{REGEXP_FUNCTION}({{}}, {{}})", _values([operand]), value))
        if name == "$size":
            return _if_array(kind, _sql("json_array_length({}) = {}", value, _values([operand])))
        if name == "$all":
            return self._all(kind, value, _as_tuple(operand))
        raise AssertionError(f"operator {name} passed parsing but has no SQL")

    def _all(self, kind: _Sql, value: _Sql, items: tuple[object, ...]) -> _Sql:
        """An array holding every item; with no items, CouchDB matches only an empty array."""
        if not items:
            return _if_array(kind, _sql("json_array_length({}) = 0", value))
        checks = []
        for item in items:
            alias = self._alias()
            element = _member(_Sql(f"{alias}.type"), _Sql(f"{alias}.value"), (item,))
            checks.append(
                _sql(f"EXISTS (SELECT 1 FROM json_each({{}}) AS {alias} WHERE {{}})", value, element)
            )
        return _if_array(kind, _join(" AND ", checks))

    def _elem_match(self, selector: _Node, kind: _Sql, value: _Sql) -> _Sql:
        alias = self._alias()
        element = _Subject(
            document=_Sql(f"(CASE WHEN {alias}.type = 'object' THEN {alias}.value END)"),
            type=_Sql(f"{alias}.type"),
            value=_Sql(f"{alias}.value"),
        )
        inner = self.selector(selector, element)
        return _if_array(
            kind, _sql(f"EXISTS (SELECT 1 FROM json_each({{}}) AS {alias} WHERE {{}})", value, inner)
        )


def _if_array(kind: _Sql, condition: _Sql) -> _Sql:
    return _if_type(kind, "array", condition)


def _if_type(kind: _Sql, json_type: str, condition: _Sql) -> _Sql:
    """`condition`, evaluated only for values of `json_type`. A CASE, not AND: SQLite
    evaluates both sides of an AND, and JSON functions raise "malformed JSON" on the plain
    text of a string value (Python functions would merely be called for nothing)."""
    return _sql(f"(CASE WHEN {{}} = '{json_type}' THEN {{}} ELSE 0 END)", kind, condition)


def _needs_escape(name: str) -> bool:
    return '"' in name or "\\" in name or any(ord(c) < 0x20 for c in name)


def _as_tuple(operand: object) -> tuple[object, ...]:
    assert isinstance(operand, tuple), "list operands are stored as tuples"
    return operand


def _member(kind: _Sql, value: _Sql, items: tuple[object, ...]) -> _Sql:
    """The field equals one of `items`, each compared within its own JSON type."""
    numbers = [item for item in items if _is_number(item)]
    texts = [item for item in items if isinstance(item, str)]
    atoms = sorted({_atom_type(item) for item in items if item is None or isinstance(item, bool)})
    arrays = [canonical_json(item) for item in items if isinstance(item, list)]
    objects = [canonical_json(item) for item in items if isinstance(item, dict)]
    alternatives: list[_Sql] = []
    if numbers:
        alternatives.append(_sql("({} IN ('integer', 'real') AND {} IN ({}))", kind, value, _values(numbers)))
    if texts:
        alternatives.append(_sql("({} = 'text' AND {} IN ({}))", kind, value, _values(texts)))
    if atoms:
        alternatives.append(_sql("{} IN (" + ", ".join(f"'{a}'" for a in atoms) + ")", kind))
    for container, canonical in (("array", arrays), ("object", objects)):
        if canonical:
            same = _sql(f"{CANONICAL_JSON_FUNCTION}({{}}) IN ({{}})", value, _values(canonical))
            alternatives.append(_if_type(kind, container, same))
    if not alternatives:
        return _FALSE
    return _sql("({})", _join(" OR ", alternatives))


def _atom_type(item: object) -> str:
    return "null" if item is None else "true" if item is True else "false"


def _compare(kind: _Sql, value: _Sql, name: str, operand: object) -> _Sql:
    """$gt and friends, within the operand's type only."""
    if operand is None:
        return _sql("({} = 'null')", kind) if name in ("$gte", "$lte") else _FALSE
    if isinstance(operand, bool):
        order = _BOOLEAN_ORDER[name]
        atoms = [_atom_type(candidate) for candidate in (False, True) if order(candidate, operand)]
        if not atoms:
            return _FALSE
        return _sql("{} IN (" + ", ".join(f"'{a}'" for a in atoms) + ")", kind)
    sql_operator = _COMPARISONS[name]
    types = "('integer', 'real')" if _is_number(operand) else "('text')"
    return _sql(f"({{}} IN {types} AND {{}} {sql_operator} {{}})", kind, value, _values([operand]))


def _sort_rank(compiler: _Compiler, root: _Subject, path: FieldPath) -> _Sql:
    """CouchDB's order of types; 0 for a missing field, so those come first."""
    rank = (
        "CASE {} WHEN 'null' THEN 1 WHEN 'false' THEN 2 WHEN 'true' THEN 3 WHEN 'integer' THEN 4 "
        "WHEN 'real' THEN 4 WHEN 'text' THEN 5 WHEN 'array' THEN 6 ELSE 7 END"
    )
    return _sql("ifnull({}, 0)", compiler.at(root, path, lambda t, v: _sql(rank, t)))


def _sort_value(compiler: _Compiler, root: _Subject, path: FieldPath) -> _Sql:
    """Within one type: numbers by value, strings by code point, arrays and objects by
    their JSON text (deterministic, though not CouchDB's element-wise order)."""
    return compiler.at(root, path, lambda t, v: v)
