"""JSON Schema for shapes, as Fabric's contract metadata writes them.

Fabric's contract schema allows a deterministic subset of JSON Schema (draft 04):
`type`, `format`, `items`, `properties`, `required`, `additionalProperties`, `$ref`,
and no `anyOf`. Dataclasses are described once under `components.schemas` and
referred to by `{"$ref": "#/components/schemas/Name"}`, as fabric-contract-api does
for its `@Object` types; an optional value is a `type` list with "null" where a type
is known, and otherwise (an optional dataclass) its plain schema.
"""

from __future__ import annotations

from typing import Any

from chaincode.contract.errors import ContractDefinitionError
from chaincode.contract.shapes import (
    AnyJson,
    ListOf,
    MapOf,
    Nullable,
    Record,
    Scalar,
    Shape,
)

COMPONENTS_REF = "#/components/schemas/"

JsonObject = dict[str, Any]


class SchemaWriter:
    """Writes schemas, collecting the dataclasses they use as components."""

    def __init__(self) -> None:
        self.components: dict[str, JsonObject] = {}
        self._owners: dict[str, type] = {}

    def schema(self, shape: Shape) -> JsonObject:
        if isinstance(shape, Scalar):
            if shape.type is bytes:
                return {"type": "string", "format": "binary"}
            return {"type": {str: "string", int: "integer", float: "number", bool: "boolean"}[shape.type]}
        if isinstance(shape, AnyJson):
            return {}
        if isinstance(shape, Nullable):
            inner = self.schema(shape.inner)
            if isinstance(inner.get("type"), str):
                return {**inner, "type": [inner["type"], "null"]}
            return inner
        if isinstance(shape, ListOf):
            item = self.schema(shape.item)
            return {"type": "array", "items": item} if item else {"type": "array"}
        if isinstance(shape, MapOf):
            value = self.schema(shape.value)
            return {"type": "object", "additionalProperties": value} if value else {"type": "object"}
        if isinstance(shape, Record):
            return {"$ref": COMPONENTS_REF + self._component(shape)}
        raise AssertionError(f"unexpected shape {shape!r}")

    def _component(self, record: Record) -> str:
        name = record.cls.__name__
        owner = self._owners.get(name)
        if owner is record.cls:
            return name
        if owner is not None:
            raise ContractDefinitionError(
                f"two dataclasses are both named {name} ({owner.__module__}.{owner.__qualname__} and "
                f"{record.cls.__module__}.{record.cls.__qualname__}); the metadata names components by class name")
        self._owners[name] = record.cls
        self.components[name] = {}  # taken before the fields, so a dataclass may refer to itself
        component: JsonObject = {
            "$id": name,
            "type": "object",
            "properties": {f.name: self.schema(f.shape) for f in record.fields},
            "additionalProperties": False,
        }
        required = [f.name for f in record.fields if f.required]
        if required:  # draft 04 wants a non-empty list or none
            component["required"] = required
        self.components[name] = component
        return name
