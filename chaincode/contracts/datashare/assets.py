"""assets.register, assets.validate, assets.verify_content, assets.provenance (DOMAIN.md §5.2).

An asset is one data set under a catalog entry: public state keeps its sha256, where it
lives off-chain, its metadata and its parents (provenance). A payload sent as the
transient field `payload` must hash to `content_hash`; it goes into `govSensitive` for
IMPORTANT and CORE data of a governing department and into the owner's implicit
collection otherwise. An enterprise's important data thus stays with the enterprise:
`govSensitive` has only the governing departments as members (DOMAIN.md §4.2), so an
enterprise's peer could neither write nor hold it; who else may read it is decided by
grants, which for IMPORTANT data need the majority's endorsement.

Provenance is the assets an asset was derived from, and theirs in turn (registration
refuses unknown parents and ids are never reused, so the parents form a DAG), with the
transactions that wrote the asset's record, from the ledger's history of its key.

Validation checks the metadata against the catalog entry's standard. A property that
declares a unit is given as {"value": v, "unit": u}, others as plain values.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from chaincode.contract import Context, transaction

from .common import (
    ACTIVE,
    AST,
    CAT,
    GENERAL,
    GOV,
    GOV_SENSITIVE,
    MEMBERS,
    OFFICER_ROLES,
    QA,
    STD,
    Store,
    caller,
    check_hash,
    check_id,
    check_text,
    emit,
    fail,
    non_negative,
    now,
    owner,
    owner_and_majority,
    parse_json,
    sha256,
)

TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "int": (int,), "bool": (bool,)}
LINEAGE_FIELDS = ("asset_id", "catalog_id", "owner_msp", "content_hash", "created_at", "parents")


def collection_for(catalog: dict[str, Any]) -> str:
    """Where the payload of an asset of `catalog` is kept."""
    if catalog["classification"] == GENERAL or catalog["owner_msp"] not in GOV:
        return f"_implicit_org_{catalog['owner_msp']}"
    return GOV_SENSITIVE


def check_metadata(schema: dict[str, Any], metadata: dict[str, Any]) -> list[str]:
    """What in `metadata` breaks `schema`, one message per problem, in a fixed order."""
    errors = [f"{name}: missing required field" for name in schema.get("required", []) if name not in metadata]
    for name, spec in sorted(schema["properties"].items()):
        if name not in metadata:
            continue
        value = metadata[name]
        if spec.get("unit"):
            if not isinstance(value, dict) or set(value) != {"value", "unit"}:
                errors.append(f"{name}: must be {{value, unit}} in {spec['unit']}")
                continue
            if value["unit"] != spec["unit"]:
                errors.append(f"{name}: unit must be {spec['unit']}, found {value['unit']}")
            value = value["value"]
        if not isinstance(value, TYPES[spec["type"]]) or (spec["type"] == "int" and isinstance(value, bool)):
            errors.append(f"{name}: must be of type {spec['type']}")
            continue
        if "min" in spec and value < spec["min"]:
            errors.append(f"{name}: must be at least {spec['min']}, found {value}")
        if "max" in spec and value > spec["max"]:
            errors.append(f"{name}: must be at most {spec['max']}, found {value}")
    return errors


class AssetTransactions:
    """Transactions of the assets contract: register, validate, verify_content."""

    @transaction
    def register(self, ctx: Context, asset_id: str, catalog_id: str, content_hash: str, uri: str,
                 size_bytes: int, metadata_json: str, parents_json: str) -> None:
        """Register `AST~{asset_id}` = {"asset_id", "catalog_id", "owner_msp",
        "owner_entity", "content_hash", "uri", "size_bytes", "metadata", "parents", "pdc",
        "created_at", "version": 1, "status": "ACTIVE"} with policy AND(owner peer,
        OutOf(3, GOV)) (the catalog entry's owner). Parents must exist (ERR_NOT_FOUND);
        a transient `payload` must hash to `content_hash` (ERR_HASH_MISMATCH). Touches
        `ORG~{owner}`.
        """
        check_id(asset_id, "asset_id")
        check_id(catalog_id, "catalog_id")
        check_hash(content_hash, "content_hash")
        check_text(uri, "uri", 1024)
        non_negative(size_bytes, "size_bytes")
        metadata = parse_json(metadata_json, "metadata_json")
        if not isinstance(metadata, dict):
            raise fail("ERR_INVALID_ARGUMENT", f"metadata_json must be a JSON object, found {metadata_json!r}")
        parents = parse_json(parents_json, "parents_json")
        if not isinstance(parents, list) or len(set(map(str, parents))) != len(parents):
            raise fail("ERR_INVALID_ARGUMENT", f"parents_json must be a JSON list of distinct ids, found {parents_json!r}")
        for parent in parents:
            check_id(parent, "parents_json entry")
        store = Store(ctx)
        catalog = store.need(CAT, catalog_id)
        owner(ctx, catalog, f"catalog entry {catalog_id}")
        for parent in parents:
            store.need(AST, parent)
        payload = ctx.stub.get_transient().get("payload", b"")
        pdc = None
        if payload:
            found = sha256(bytes(payload))
            if found != content_hash:
                raise fail("ERR_HASH_MISMATCH", f"content_hash {content_hash} is not the sha256 of the transient "
                                                f"payload ({found})")
            pdc = collection_for(catalog)
        store.create(AST, asset_id, record={
            "asset_id": asset_id, "catalog_id": catalog_id, "owner_msp": catalog["owner_msp"],
            "owner_entity": catalog["owner_entity"], "content_hash": content_hash, "uri": uri,
            "size_bytes": size_bytes, "metadata": metadata, "parents": parents, "pdc": pdc,
            "created_at": now(ctx).isoformat(), "version": 1, "status": ACTIVE},
            policy=owner_and_majority(catalog["owner_msp"]))
        if pdc is not None:
            ctx.stub.put_private_data(pdc, store.key(AST, asset_id), bytes(payload))
        store.touch_org(catalog["owner_msp"])
        emit(ctx, "AssetRegistered", {"asset_id": asset_id, "catalog_id": catalog_id,
                                      "content_hash": content_hash, "pdc": pdc})

    @transaction
    def validate(self, ctx: Context, asset_id: str) -> dict[str, Any]:
        """Check the asset's metadata against its catalog entry's standard (a GOV officer)
        and write `QA~{asset_id}` = {"asset_id", "standard_id", "version", "passed",
        "errors", "checked_at", "checked_by"}; returns that record."""
        check_id(asset_id, "asset_id")
        who = caller(ctx, OFFICER_ROLES)
        store = Store(ctx)
        asset = store.need(AST, asset_id)
        catalog = store.need(CAT, asset["catalog_id"])
        standard = store.need(STD, catalog["standard_id"], catalog["version"])
        errors = check_metadata(standard["schema"], asset["metadata"])
        result = {"asset_id": asset_id, "standard_id": standard["standard_id"], "version": standard["version"],
                  "passed": not errors, "errors": errors, "checked_at": now(ctx).isoformat(),
                  "checked_by": who.msp_id}
        store.put(QA, asset_id, record=result)
        emit(ctx, "AssetValidated", {"asset_id": asset_id, "passed": not errors, "error_count": len(errors)})
        return result

    @transaction(submit=False)
    def verify_content(self, ctx: Context, asset_id: str, presented_hash: str) -> dict[str, bool]:
        """{"match": whether `presented_hash` is the asset's content_hash} (any member)."""
        check_id(asset_id, "asset_id")
        caller(ctx, MEMBERS)
        asset = Store(ctx).need(AST, asset_id)
        return {"match": presented_hash == asset["content_hash"]}

    @transaction(submit=False)
    def provenance(self, ctx: Context, asset_id: str) -> dict[str, Any]:
        """{"asset": `AST~{asset_id}`, "lineage": every ancestor once, nearest first, each
        {"asset_id", "catalog_id", "owner_msp", "content_hash", "created_at", "parents"},
        "history": the record's writes, newest first, each {"tx_id", "timestamp",
        "is_delete", "status", "version", "content_hash"}} (any member)."""
        check_id(asset_id, "asset_id")
        caller(ctx, MEMBERS)
        store = Store(ctx)
        asset = store.need(AST, asset_id)
        lineage, seen, queue = [], {asset_id}, list(asset["parents"])
        while queue:
            parent_id = queue.pop(0)
            if parent_id in seen:
                continue
            seen.add(parent_id)
            parent = store.need(AST, parent_id)
            lineage.append({field: parent[field] for field in LINEAGE_FIELDS})
            queue.extend(parent["parents"])
        history = []
        with ctx.stub.get_history_for_key(store.key(AST, asset_id)) as modifications:
            for change in modifications:
                written = json.loads(change.value) if change.value else {}
                history.append({"tx_id": change.tx_id, "timestamp": change.timestamp.ToDatetime(dt.UTC).isoformat(),
                                "is_delete": change.is_delete, "status": written.get("status"),
                                "version": written.get("version"), "content_hash": written.get("content_hash")})
        return {"asset": asset, "lineage": lineage, "history": history}
