"""standards.register, standards.deprecate (DOMAIN.md §5.2).

A data standard is a small JSON-Schema subset: `required` (names) and `properties`
({name: {type, unit?, min?, max?}}), with types `string`, `int` and `bool`. Standard
setters of MEE and Stats register them; a majority of the governing departments
endorses (every function touches `GOV~config`).
"""

from __future__ import annotations

from typing import Any

from chaincode.contract import Context, transaction

from .common import (
    ACTIVE,
    STANDARD_SETTERS,
    STD,
    Store,
    caller,
    check_id,
    emit,
    encode,
    fail,
    now,
    parse_json,
    sha256,
)

TYPES = ("string", "int", "bool")
PROPERTY_KEYS = {"type", "unit", "min", "max"}


def _bad(message: str) -> Exception:
    return fail("ERR_INVALID_ARGUMENT", f"schema_json {message}")


def parse_schema(schema_json: str) -> dict[str, Any]:
    """The schema, checked (ERR_INVALID_ARGUMENT naming what is wrong)."""
    schema = parse_json(schema_json, "schema_json")
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        raise _bad("must be an object with 'properties'")
    unknown = set(schema) - {"title", "required", "properties"}
    if unknown:
        raise _bad(f"has unknown keys {sorted(unknown)}")
    if not isinstance(schema.get("title", ""), str):
        raise _bad("title must be a string")
    for name, spec in schema["properties"].items():
        if not isinstance(spec, dict) or spec.get("type") not in TYPES or set(spec) - PROPERTY_KEYS:
            raise _bad(f"property {name!r} must be {{type: {'/'.join(TYPES)}, unit?, min?, max?}}")
        if not isinstance(spec.get("unit", ""), str):
            raise _bad(f"property {name!r} unit must be a string")
        for bound in ("min", "max"):
            if bound in spec and (spec["type"] != "int" or isinstance(spec[bound], bool)
                                  or not isinstance(spec[bound], int)):
                raise _bad(f"property {name!r} {bound} must be a whole number on an int property")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) and r in schema["properties"] for r in required):
        raise _bad("required must list names of properties")
    return dict(schema)


class StandardTransactions:
    """Transactions of the standards contract: register, deprecate."""

    @transaction
    def register(self, ctx: Context, standard_id: str, version: str, schema_json: str) -> None:
        """Register `STD~{standard_id}~{version}` = {"standard_id", "version", "title",
        "schema", "schema_hash" (sha256 of the canonical schema JSON), "status": "ACTIVE",
        "issuer", "registered_at"} (a standard setter; ERR_CONFLICT if it exists)."""
        check_id(standard_id, "standard_id")
        check_id(version, "version")
        who = caller(ctx, STANDARD_SETTERS)
        schema = parse_schema(schema_json)
        schema_hash = sha256(encode(schema))
        store = Store(ctx)
        store.create(STD, standard_id, version, record={
            "standard_id": standard_id, "version": version, "title": schema.get("title", ""), "schema": schema,
            "schema_hash": schema_hash, "status": ACTIVE, "issuer": who.msp_id,
            "registered_at": now(ctx).isoformat()})
        store.touch_gov()
        emit(ctx, "StandardRegistered", {"standard_id": standard_id, "version": version, "schema_hash": schema_hash})

    @transaction
    def deprecate(self, ctx: Context, standard_id: str, version: str) -> None:
        """ACTIVE -> DEPRECATED (a standard setter of the issuing MSP; ERR_CONFLICT if
        already deprecated)."""
        check_id(standard_id, "standard_id")
        check_id(version, "version")
        who = caller(ctx, STANDARD_SETTERS)
        store = Store(ctx)
        standard = store.need(STD, standard_id, version)
        if standard["issuer"] != who.msp_id:
            raise fail("ERR_UNAUTHORIZED", f"only the issuer {standard['issuer']} may deprecate "
                                           f"{standard_id} {version}, found {who.msp_id}")
        if standard["status"] != ACTIVE:
            raise fail("ERR_CONFLICT", f"standard {standard_id} {version} must be ACTIVE, found {standard['status']}")
        standard.update(status="DEPRECATED", deprecated_at=now(ctx).isoformat())
        store.put(STD, standard_id, version, record=standard)
        store.touch_gov()
        emit(ctx, "StandardDeprecated", {"standard_id": standard_id, "version": version})
