"""The common fixture of DOMAIN.md §8 for the datashare tests (anchors, STD-MONTHLY-POWER
v1, catalog C-MD of E1, asset X1), readers of the fake ledger, policies and invariants."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chaincode.shim.stub import ChaincodeStub
from consortia.policy import parse_signature_policy, signature_policy_bytes

GOV = ("MEEMSP", "ProvGDMSP", "ProvSDMSP", "StatsMSP", "EnergyMSP")
MAJORITY = "OutOf(3, " + ", ".join(f"'{m}.peer'" for m in GOV) + ")"
SCHEMA = {"title": "Monthly power generation data", "required": ["period", "emissions_t", "power_supplied_mwh"],
          "properties": {"period": {"type": "string"}, "emissions_t": {"type": "int", "min": 0, "unit": "t"},
                         "power_supplied_mwh": {"type": "int", "min": 0, "unit": "MWh"}}}
X1_PAYLOAD = json.dumps({"period": "2021-12", "emissions_t": 156000, "power_supplied_mwh": 174000}).encode()
X1_META = {"period": "2021-12", "emissions_t": {"value": 156000, "unit": "t"},
           "power_supplied_mwh": {"value": 174000, "unit": "MWh"}}
EVIDENCE = "e0" * 32
SERVED = "5e" * 32


def sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def key(kind: str, *parts: str) -> str:
    return ChaincodeStub.create_composite_key(kind, list(parts))


def record(ds: Any, kind: str, *parts: str) -> Any:
    return json.loads(ds.ledger.state[key(kind, *parts)])


def policy_of(ds: Any, kind: str, *parts: str) -> bytes:
    return bytes(ds.ledger.policies[key(kind, *parts)])


def policy(text: str) -> bytes:
    return signature_policy_bytes(parse_signature_policy(text))


def setup(ds: Any) -> None:
    """Anchors, the standard, catalog C-MD (E1, GENERAL, CONDITIONAL), asset X1 with payload."""
    ds.call("regulator", "governance:init", at="2023-01-01T09:00")
    ds.call("mee_std", "standards:register", "STD-MONTHLY-POWER", "v1", json.dumps(SCHEMA), at="2023-01-01T09:00")
    catalog(ds, "C-MD", "GENERAL", "CONDITIONAL")
    ds.call("E1", "assets:register", "X1", "C-MD", sha(X1_PAYLOAD), "s3://e1/2021-12", len(X1_PAYLOAD),
            json.dumps(X1_META), "[]", at="2023-01-02T09:00", transient={"payload": X1_PAYLOAD})


def catalog(ds: Any, catalog_id: str, classification: str, share_type: str, who: str = "E1") -> None:
    ds.call(who, "catalog:publish", catalog_id, f"catalog {catalog_id}", "STD-MONTHLY-POWER", "v1", classification,
            share_type, "MONTHLY", *(("E1",) if who == "E1" else ()), at="2023-01-01T10:00")


def grant(ds: Any, request_id: str, grant_id: str, who: str = "stats", fields: tuple[str, ...] =
          ("power_supplied_mwh",), asset: str = "X1") -> None:
    """`who` asks for `fields` of `asset` for 30 days on 2023-01-05; E1 grants to 2023-02-04."""
    ds.call(who, "access:request", request_id, asset, "statistics", json.dumps(list(fields)), 30,
            at="2023-01-05T10:00")
    ds.call("E1", "access:approve", request_id, grant_id, "2023-02-04T00:00+08:00", at="2023-01-06T10:00")


def check_invariants(ds: Any) -> None:
    """I10 (each LOG~ under a grant ACTIVE and unexpired at its time) and I11 (no grant on
    a NOT_SHARED or CORE catalog entry)."""
    state = {k: json.loads(v) for k, v in ds.ledger.state.items()}
    for k, value in state.items():
        kind, parts = ChaincodeStub.split_composite_key(k)
        if kind == "LOG":
            granted = state[key("GRANT", value["grant_id"])]
            assert parts[1] < granted["expires_at"] or value["at"] < granted["expires_at"]
            assert granted["granted_at"] <= value["at"]
        if kind == "GRANT":
            entry = state[key("CAT", state[key("AST", value["asset_id"])]["catalog_id"])]
            assert entry["share_type"] != "NOT_SHARED" and entry["classification"] != "CORE"
