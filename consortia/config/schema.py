"""Typed, validated configuration from YAML, with errors that name file, line and field.

A configuration is a tree of frozen dataclasses. `load` parses the YAML into nodes
(keeping line numbers), then builds the dataclass tree field by field: unknown keys,
missing fields, wrong types and duplicate keys are all reported, every one of them, as
`FILE:LINE path.to[2].field: what was expected, what was found`. Semantic checks
that come after (cross references, port clashes) report through the same `Problems`,
which remembers the line of every path it has seen.

Supported field types: str, int, bool, `Duration` ("2s", "500ms"), `ByteSize`
("10 MB"), `Literal[...]`, `list[T]`, `dict[str, T]`, `T | None`, nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from consortia.errors import ConfigError

T = TypeVar("T")

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str": "a string",
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:null": "nothing (null)",
}


# The last step of a path: ".name" or "[3]" (a bare top-level name has no dot).
_PARENT = re.compile(r"(\.?[^.\[]+|\[\d+\])$")


class Duration(int):
    """A duration in milliseconds, written in YAML as `2s`, `500ms`, `1m` or a number of ms."""

    _UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = re.fullmatch(r"\s*(\d+)\s*(ms|s|m|h)?\s*", text)
        if not match:
            raise ValueError(f"expected a duration such as 2s, 500ms or 1m, found {text!r}")
        return cls(int(match.group(1)) * cls._UNITS[match.group(2) or "ms"])


class ByteSize(int):
    """A size in bytes, written in YAML as `10 MB`, `512 KB`, `99 MiB` or a plain number."""

    _UNITS = {"": 1, "B": 1, "KB": 1024, "KIB": 1024, "MB": 1024**2, "MIB": 1024**2, "GB": 1024**3, "GIB": 1024**3}

    @classmethod
    def parse(cls, text: str) -> ByteSize:
        match = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", text)
        unit = match.group(2).upper() if match else ""
        if not match or unit not in cls._UNITS:
            raise ValueError(f"expected a size such as 10 MB, 512 KB or a number of bytes, found {text!r}")
        return cls(int(match.group(1)) * cls._UNITS[unit])


class Problems:
    """Collects problems with their file and line; raises them all at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[str, int] = {}
        self.items: list[tuple[int, str]] = []

    def line_of(self, path: str) -> int:
        """Line of `path`, or of its nearest ancestor that has one."""
        while path and path not in self.lines:
            path = _PARENT.sub("", path)
        return self.lines.get(path, 1)

    def add(self, path: str, message: str, line: int | None = None) -> None:
        where = line if line is not None else self.line_of(path)
        label = f"{path}: " if path else ""
        self.items.append((where, f"{self.source}:{where} {label}{message}"))

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError([text for _, text in sorted(self.items, key=lambda item: item[0])])


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    kind = _SCALAR_TAGS.get(node.tag, "a value")
    return f"{kind} {node.value!r}" if node.tag != "tag:yaml.org,2002:null" else kind


class _Builder:
    def __init__(self, problems: Problems, base_dir: Path) -> None:
        self.problems = problems
        self.base_dir = base_dir
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, target: Any, path: str) -> Any:
        self.problems.lines.setdefault(path, node.start_mark.line + 1)
        origin = typing.get_origin(target)
        args = typing.get_args(target)
        if origin in (typing.Union, types.UnionType):
            inner = [a for a in args if a is not type(None)]
            if node.tag == "tag:yaml.org,2002:null":
                return None
            return self.build(node, inner[0], path)
        if origin is typing.Literal:
            value = self.scalar(node, path, str)
            if value is not None and value not in args:
                self.problems.add(path, f"expected one of {', '.join(map(str, args))}, found {value!r}")
                return None
            return value
        if origin is list:
            if not isinstance(node, yaml.SequenceNode):
                self.problems.add(path, f"expected a list, found {_describe(node)}")
                return None
            return [self.build(item, args[0], f"{path}[{i}]") for i, item in enumerate(node.value)]
        if origin is dict:
            if not isinstance(node, yaml.MappingNode):
                self.problems.add(path, f"expected a mapping, found {_describe(node)}")
                return None
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.scalar(key_node, path, str)
                if key is None:
                    continue
                if key in result:
                    self.problems.add(_join(path, key), "appears twice", key_node.start_mark.line + 1)
                result[key] = self.build(value_node, args[1], _join(path, key))
            return result
        if dataclasses.is_dataclass(target):
            return self.dataclass(node, target, path)
        return self.scalar(node, path, target)

    def scalar(self, node: yaml.Node, path: str, target: Any) -> Any:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            expected = {str: "a string", int: "an integer", bool: "true or false"}.get(target, "a value")
            self.problems.add(path, f"expected {expected}, found {_describe(node)}")
            return None
        if target is str:
            # Plain scalars such as 1.0 or yes are taken as the text the user wrote.
            return str(node.value)
        value = self.constructor.construct_object(node, deep=True)
        if target is bool:
            if not isinstance(value, bool):
                self.problems.add(path, f"expected true or false, found {_describe(node)}")
                return None
            return value
        if target is int:
            if isinstance(value, bool) or not isinstance(value, int):
                self.problems.add(path, f"expected an integer, found {_describe(node)}")
                return None
            return value
        if target in (Duration, ByteSize):
            # A plain number is milliseconds or bytes; a negative one is refused like "-1ms".
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return target(value)
            try:
                return target.parse(str(node.value))
            except ValueError as exc:
                self.problems.add(path, str(exc))
                return None
        if target is Path:
            return (self.base_dir / str(node.value)).resolve()
        raise TypeError(f"schema field type {target!r} is not supported")

    def dataclass(self, node: yaml.Node, target: Any, path: str) -> Any:
        if not isinstance(node, yaml.MappingNode):
            self.problems.add(path, f"expected a mapping, found {_describe(node)}")
            return None
        hints = typing.get_type_hints(target)
        fields = {f.name: f for f in dataclasses.fields(target) if f.init}
        values: dict[str, Any] = {}
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            field_path = _join(path, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                self.problems.add(field_path, "appears twice", line)
                continue
            seen.add(key)
            if key not in fields:
                close = difflib.get_close_matches(key, list(fields), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(fields)})"
                self.problems.add(field_path, f"unknown field{hint}", line)
                continue
            self.problems.lines.setdefault(field_path, line)
            values[key] = self.build(value_node, hints[key], field_path)
        missing = [name for name, spec in fields.items() if name not in seen and _required(spec)]
        for name in missing:
            self.problems.add(_join(path, name), "is required")
        # A None for a field that cannot be None means a problem was reported below it.
        broken = any(v is None and not _optional(hints[k]) for k, v in values.items())
        if missing or broken:
            return None
        return target(**values)


def _required(spec: dataclasses.Field[Any]) -> bool:
    return spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING


def _optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


def parse_yaml(text: str, source: str) -> yaml.Node:
    """Compose YAML into nodes; a syntax error becomes a ConfigError with its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError([f"{source}:{line} not valid YAML: {exc.problem}"]) from exc
    if node is None:
        raise ConfigError([f"{source}:1 the file is empty"])
    return node


def load(
    path: str | Path,
    target: type[T],
    validate: Callable[[T, Problems], None] | None = None,
    *,
    text: str | None = None,
) -> tuple[T, Problems]:
    """Load `path` as a `target` dataclass; raise ConfigError listing every problem.

    `validate` runs the semantic checks once the structure is sound. Relative paths
    in the file resolve against the file's folder.
    """
    file = Path(path)
    source = str(path)
    if text is None:
        try:
            text = file.read_text()
        except OSError as exc:
            raise ConfigError([f"{source}: cannot read: {exc.strerror or exc}"]) from exc
    node = parse_yaml(text, source)
    problems = Problems(source)
    value = _Builder(problems, file.parent.resolve()).build(node, target, "")
    problems.raise_if_any()
    if validate is not None:
        validate(value, problems)
        problems.raise_if_any()
    return value, problems
