"""Turning a transaction's string arguments into the values its type hints ask for.

Clients send every argument as a string. Parsing is strict on purpose: the same
argument must mean the same thing on every endorsing peer and in every client
library, so there is exactly one spelling of each value:

* `int`: a JSON integer: optional minus sign, ASCII digits, no leading zero (`"-3"`;
  not `"1.5"`, `"+3"`, `"007"`, `"1_000"`, `" 3"` or `"true"`);
* `float`: a JSON number, finite;
* `bool`: `"true"` or `"false"`;
* `str`: the UTF-8 text; `bytes`: the argument exactly as received;
* `X | None`: the empty string means None, anything else is read as X;
* a dataclass, `list[...]`, `dict[str, ...]`: JSON of that top-level type, every
  nested value checked against its hint. JSON with NaN/Infinity or a key given twice
  is refused; a dataclass refuses unknown fields and needs its fields without defaults.

A mismatch raises `ArgumentError`, which says where (`.field`, `[index]`), what was
expected and what was found; the router adds the transaction and parameter names.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from chaincode.contract.shapes import (
    AnyJson,
    ListOf,
    MapOf,
    Nullable,
    Record,
    Scalar,
    Shape,
)

INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
SHOWN = 60  # characters of a received value quoted in a message


class ArgumentError(Exception):
    """An argument does not match its hint; `path` locates it inside a JSON argument."""

    def __init__(self, expected: str, found: str, path: str = "") -> None:
        self.expected = expected
        self.found = found
        self.path = path
        super().__init__(f"{path or 'value'} must be {expected}, got {found}")


def parse_argument(raw: bytes, shape: Shape) -> object:
    """The value of one whole argument as received on the wire."""
    if isinstance(shape, Nullable):
        return None if raw == b"" else parse_argument(raw, shape.inner)
    if isinstance(shape, Scalar) and shape.type is bytes:
        return raw
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ArgumentError(f"{describe(shape)} in UTF-8", _quote_bytes(raw)) from None
    if isinstance(shape, Scalar):
        return _parse_scalar(text, shape.type)
    try:
        value = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ArgumentError(describe(shape), f"{_quote(text)} (not valid JSON: {reason})") from None
    return from_json(value, shape, "")


def _parse_scalar(text: str, kind: type) -> object:
    if kind is str:
        return text
    if kind is bool:
        if text in ("true", "false"):
            return text == "true"
        raise ArgumentError("true or false", _quote(text))
    if kind is int:
        if INTEGER.fullmatch(text):
            try:
                return int(text)
            except ValueError:  # longer than Python's integer-string limit
                pass
        raise ArgumentError("an integer", _quote(text))
    if kind is float:
        if NUMBER.fullmatch(text):
            number = float(text)
            if math.isfinite(number):
                return number
        raise ArgumentError("a finite number", _quote(text))
    raise AssertionError(f"unexpected scalar {kind}")  # ShapeReader admits no others


def from_json(value: Any, shape: Shape, path: str) -> object:
    """Check a decoded JSON value against `shape`, building dataclasses on the way."""
    if isinstance(shape, AnyJson):
        return value
    if isinstance(shape, Nullable):
        if value is None:
            return None
        try:
            return from_json(value, shape.inner, path)
        except ArgumentError as exc:
            if exc.path != path:  # deeper inside: that value is what is wrong
                raise
            raise ArgumentError(describe(shape, in_json=True), exc.found, path) from None
    if isinstance(shape, Scalar):
        kind = shape.type
        if kind is bool and isinstance(value, bool):
            return value
        if kind is str and isinstance(value, str):
            return value
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if (kind is float and isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value)):
            return float(value)
        raise ArgumentError(describe(shape, in_json=True), _show_json(value), path)
    if isinstance(shape, ListOf):
        if not isinstance(value, list):
            raise ArgumentError(describe(shape), _show_json(value), path)
        return [from_json(item, shape.item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(shape, MapOf):
        if not isinstance(value, dict):
            raise ArgumentError(describe(shape), _show_json(value), path)
        return {key: from_json(item, shape.value, f"{path}[{json.dumps(key)}]") for key, item in value.items()}
    if isinstance(shape, Record):
        return _record(value, shape, path)
    raise AssertionError(f"unexpected shape {shape!r}")


def _record(value: Any, shape: Record, path: str) -> object:
    if not isinstance(value, dict):
        raise ArgumentError(describe(shape), _show_json(value), path)
    known = {f.name for f in shape.fields}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ArgumentError(f"{describe(shape)} with fields {', '.join(sorted(known))}",
                            f"unknown field {json.dumps(unknown[0])}", path)
    kwargs: dict[str, object] = {}
    for f in shape.fields:
        if f.name in value:
            kwargs[f.name] = from_json(value[f.name], f.shape, f"{path}.{f.name}")
        elif f.required:
            raise ArgumentError(f"{describe(shape)} with field {json.dumps(f.name)}",
                                "an object without it", path)
    try:
        return shape.cls(**kwargs)
    except (TypeError, ValueError) as exc:  # the dataclass's own checks (__post_init__)
        raise ArgumentError(f"a valid {shape.cls.__name__}", f"{_show_json(value)} ({exc})", path) from None


def describe(shape: Shape, *, in_json: bool = False) -> str:
    """How a message names what a shape expects: "an integer", "a JSON array", ..."""
    if isinstance(shape, Scalar):
        if shape.type is bool:
            return "a boolean" if in_json else "true or false"
        return {str: "a string", int: "an integer", float: "a finite number", bytes: "bytes"}[shape.type]
    if isinstance(shape, Nullable):
        inner = describe(shape.inner, in_json=in_json)
        return f"{inner} or null" if in_json else f"{inner} or empty"
    if isinstance(shape, ListOf):
        return "a JSON array"
    if isinstance(shape, MapOf):
        return "a JSON object"
    if isinstance(shape, Record):
        return f"a JSON object ({shape.cls.__name__})"
    return "any JSON value"


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {json.dumps(key)} appears twice")
        result[key] = value
    return result


def _quote(text: str) -> str:
    return repr(text if len(text) <= SHOWN else text[:SHOWN] + "...")


def _quote_bytes(raw: bytes) -> str:
    return repr(raw if len(raw) <= SHOWN else raw[:SHOWN] + b"...")


def _show_json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= SHOWN else text[:SHOWN] + "..."
