"""Turning what a transaction returns into the response payload.

Every endorsing peer runs the transaction and the client compares their responses
byte for byte, so the same result must always become the same bytes: JSON is written
compactly with its keys sorted (Python sorts by code point on every platform), and
floats that JSON cannot represent (NaN, infinities) are refused rather than written
in a dialect some reader would reject.

    None                      -> b""
    str                       -> its UTF-8
    bytes, bytearray          -> as they are
    bool, int, float          -> JSON text (true, 42, 1.5)
    dict, list, tuple, dataclass -> compact JSON with sorted keys
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any


def serialize_result(value: object) -> bytes:
    """The payload for a transaction result; TypeError/ValueError for what JSON cannot hold."""
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return canonical_json(value)


def canonical_json(value: object) -> bytes:
    """Compact JSON with sorted keys: the same value gives the same bytes everywhere."""
    plain = to_json_value(value, "result")
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def to_json_value(value: object, path: str) -> Any:
    """`value` as plain JSON types; dataclasses become objects of their fields."""
    return _plain(value, (path,))


# Where a value sits in the result, as (parent, kind, step): rendered only for an error
# message, so that a large result does not format a path for every element.
_Path = tuple[Any, ...]


def _render(path: _Path) -> str:
    steps: list[str] = []
    while len(path) == 3:
        path, kind, step = path
        steps.append(f".{step}" if kind == "field" else f"[{json.dumps(step)}]" if kind == "key" else f"[{step}]")
    return str(path[0]) + "".join(reversed(steps))


def _plain(value: object, path: _Path) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{_render(path)} is {value}, which JSON cannot represent")
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name), (path, "field", f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        plain: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{_render(path)} has the key {key!r} ({type(key).__name__}); "
                                f"JSON object keys are strings")
            plain[key] = _plain(item, (path, "key", key))
        return plain
    if isinstance(value, (list, tuple)):
        return [_plain(item, (path, "index", i)) for i, item in enumerate(value)]
    raise TypeError(f"{_render(path)} is a {type(value).__name__}, which has no JSON form; return None, str, bytes, "
                    f"bool, int, float, a list, a dict or a dataclass")
