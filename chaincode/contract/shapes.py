"""What a type hint means to the contract API.

A transaction receives its arguments as strings (bytes on the wire) and returns bytes.
The type hints of a transaction method say how each argument is parsed and checked,
and how the metadata describes it. Each hint is read once, when a `ContractChaincode`
is built, into a `Shape`; a hint the API cannot honour is refused then, naming the
method and parameter, rather than at the first transaction that uses it.

Supported, as a whole argument: `str`, `int`, `float`, `bool`, `bytes`, `X | None`,
a dataclass, `list[...]` and `dict[str, ...]` (the last three as JSON). Inside JSON
(a dataclass field, a list item, a dict value) the same apart from `bytes` (JSON has
no bytes), plus `Any` (or `object`) for "any JSON value". `NewType`s count as their base type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Union

from chaincode.contract.errors import ContractDefinitionError

SCALARS: tuple[type, ...] = (str, int, float, bool, bytes)


class Shape:
    """Base of the shapes: the API's reading of one type hint."""


@dataclass(frozen=True)
class Scalar(Shape):
    """str, int, float, bool or bytes."""

    type: type


@dataclass(frozen=True)
class AnyJson(Shape):
    """Any JSON value, left as decoded."""


@dataclass(frozen=True)
class Nullable(Shape):
    """`X | None`."""

    inner: Shape


@dataclass(frozen=True)
class ListOf(Shape):
    """A JSON array whose items all have one shape."""

    item: Shape


@dataclass(frozen=True)
class MapOf(Shape):
    """A JSON object with string keys whose values all have one shape."""

    value: Shape


@dataclass(frozen=True)
class Field:
    """One field of a dataclass, as it appears in JSON."""

    name: str
    shape: Shape
    required: bool


@dataclass(eq=False)
class Record(Shape):
    """A dataclass, exchanged as a JSON object of its fields.

    `fields` is filled after the Record exists, so that a dataclass may refer to
    itself (a tree of nodes) without endless recursion.
    """

    cls: type
    fields: list[Field] = field(default_factory=list)


def type_name(hint: object) -> str:
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__qualname__
    return repr(hint).replace("typing.", "")


class ShapeReader:
    """Reads type hints into shapes, sharing one Record per dataclass."""

    def __init__(self) -> None:
        self._records: dict[type, Record] = {}

    def argument(self, hint: object, where: str) -> Shape:
        """The shape of a whole transaction argument (a string on the wire)."""
        return self._read(hint, where, nested=False, allow_any=False)

    def result(self, hint: object, where: str) -> Shape:
        """The shape of a transaction's result (only used to describe it)."""
        return self._read(hint, where, nested=False, allow_any=True)

    def _read(self, hint: object, where: str, *, nested: bool, allow_any: bool) -> Shape:
        hint = _unwrap_newtype(hint)
        if hint is Any or hint is object:
            if not allow_any:
                raise ContractDefinitionError(
                    f"{where}: Any cannot be a whole argument (a string arrives; say how to read it: "
                    f"str, int, a dataclass, dict or list for JSON)")
            return AnyJson()
        if hint in SCALARS:
            assert isinstance(hint, type)
            if hint is bytes and nested:
                raise ContractDefinitionError(f"{where}: bytes can only be a whole argument; JSON has no bytes")
            return Scalar(hint)
        if hint is list:
            return ListOf(AnyJson())
        if hint is dict:
            return MapOf(AnyJson())
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self._record(hint, where)
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin is Union or origin is types.UnionType:
            others = [a for a in args if a is not type(None)]
            if len(others) == 1 and len(args) == 2:
                return Nullable(self._read(others[0], where, nested=nested, allow_any=allow_any))
        elif origin is list and len(args) == 1:
            return ListOf(self._read(args[0], f"{where}[item]", nested=True, allow_any=True))
        elif origin is dict and len(args) == 2:
            if _unwrap_newtype(args[0]) is not str:
                raise ContractDefinitionError(f"{where}: dict keys must be str (JSON object keys), "
                                              f"found {type_name(args[0])}")
            return MapOf(self._read(args[1], f"{where}[value]", nested=True, allow_any=True))
        raise ContractDefinitionError(
            f"{where}: type {type_name(hint)} is not supported; use str, int, float, bool, bytes, "
            f"X | None, a dataclass, list[...] or dict[str, ...]")

    def _record(self, cls: type, where: str) -> Record:
        existing = self._records.get(cls)
        if existing is not None:
            return existing
        record = Record(cls)
        self._records[cls] = record
        try:
            hints = typing.get_type_hints(cls)
        except Exception as exc:
            raise ContractDefinitionError(f"{where}: cannot resolve the type hints of dataclass "
                                          f"{cls.__qualname__}: {exc}") from exc
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            shape = self._read(hints[f.name], f"{where} -> {cls.__qualname__}.{f.name}", nested=True, allow_any=True)
            record.fields.append(Field(f.name, shape, required))
        return record


def _unwrap_newtype(hint: object) -> object:
    while hasattr(hint, "__supertype__"):
        hint = hint.__supertype__
    return hint
