"""access.* (DOMAIN.md §5.2, SC-09, SC-10, SC-12 approve part, invariants I10 and I11)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.chaincode.datashare.flow import (
    EVIDENCE,
    SERVED,
    catalog,
    check_invariants,
    grant,
    key,
    policy,
    policy_of,
    record,
    setup,
)

pytestmark = pytest.mark.unit


def test_sc09_cross_department_access_with_expiry(ds: Any) -> None:
    setup(ds)
    request = ds.call("stats", "access:request", "R1", "X1", "statistics", '["power_supplied_mwh"]', 30,
                      at="2023-01-05T10:00")
    assert request["status"] == "PENDING" and record(ds, "REQ", "R1")["status"] == "PENDING"
    assert ds.event() == ("AccessRequested", {"request_id": "R1", "asset_id": "X1", "granted": False})
    ds.refused("ERR_UNAUTHORIZED", "E2", "access:approve", "R1", "G1", "2023-02-04T00:00+08:00")
    ds.refused("ERR_INVALID_ARGUMENT", "E1", "access:approve", "R1", "G1", "2023-02-05T11:00+08:00",
               at="2023-01-06T10:00", naming="expires_at")
    ds.refused("ERR_INVALID_ARGUMENT", "E1", "access:approve", "R1", "G1", "2023-02-04T00:00")
    ds.call("E1", "access:approve", "R1", "G1", "2023-02-04T00:00+08:00", at="2023-01-06T10:00")
    assert ds.event() == ("AccessGranted", {"request_id": "R1", "grant_id": "G1", "asset_id": "X1",
                                            "expires_at": "2023-02-04T00:00:00+08:00"})
    assert record(ds, "GRANT", "G1")["status"] == "ACTIVE"
    assert policy_of(ds, "GRANT", "G1") == policy("OR('EmitterMSP.peer', 'MEEMSP.peer')")
    assert key("GOV", "config") not in ds.ledger.last.writes  # GENERAL: owner only
    ds.refused("ERR_CONFLICT", "E1", "access:approve", "R1", "G9", "2023-02-04T00:00+08:00")

    ds.call("stats", "access:record_access", "G1", "A1", '["power_supplied_mwh"]', SERVED, at="2023-01-10T10:00")
    assert ds.event() == ("AssetAccessed", {"asset_id": "X1", "grant_id": "G1", "access_id": "A1",
                                            "served_hash": SERVED})
    assert record(ds, "GRANT", "G1")["use_count"] == 1
    access_tx = ds.ledger.last.tx_id
    assert key("LOG", "X1", "2023-01-10T10:00:00+08:00", access_tx) in ds.ledger.state
    check_invariants(ds)
    ds.refused("ERR_GRANT_EXPIRED", "stats", "access:record_access", "G1", "A2", '["power_supplied_mwh"]', SERVED,
               at="2023-02-05T10:00")
    ds.refused("ERR_GRANT_EXPIRED", "stats", "access:record_access", "G1", "A2", '["power_supplied_mwh"]', SERVED,
               at="2023-02-04T00:00")
    ds.refused("ERR_UNAUTHORIZED", "stats", "access:record_access", "G1", "A2", '["emissions_t"]', SERVED,
               at="2023-01-11T10:00", naming="emissions_t")
    ds.refused("ERR_UNAUTHORIZED", "energy", "access:record_access", "G1", "A2", '["power_supplied_mwh"]', SERVED,
               at="2023-01-11T10:00")
    logs = ds.call("auditor", "access:logs", "X1")
    assert len(logs) == 1
    assert (logs[0]["grant_id"], logs[0]["accessor_msp"], logs[0]["tx_id"]) == ("G1", "StatsMSP", access_tx)
    assert ds.call("regulator", "access:logs", "X1") == logs == ds.call("E1", "access:logs", "X1")
    ds.refused("ERR_UNAUTHORIZED", "stats", "access:logs", "X1")
    ds.refused("ERR_UNAUTHORIZED", "public", "access:logs", "X1")


def test_read_private_returns_only_granted_fields_after_record_access(ds: Any) -> None:
    setup(ds)
    grant(ds, "R1", "G1")
    ds.refused("ERR_UNAUTHORIZED", "stats", "access:read_private", "G1", at="2023-01-10T10:00", naming="record")
    ds.call("stats", "access:record_access", "G1", "A1", '["power_supplied_mwh"]', SERVED, at="2023-01-10T10:00")
    read = ds.call("stats", "access:read_private", "G1", at="2023-01-10T10:01")
    assert read["fields"] == {"power_supplied_mwh": 174000}
    ds.refused("ERR_GRANT_EXPIRED", "stats", "access:read_private", "G1", at="2023-02-10T10:00")
    ds.refused("ERR_UNAUTHORIZED", "energy", "access:read_private", "G1", at="2023-01-10T10:01")


def test_sc10_revocation_and_not_shareable(ds: Any) -> None:
    setup(ds)
    grant(ds, "R2", "G2", who="energy")
    ds.refused("ERR_UNAUTHORIZED", "stats", "access:revoke", "G2", "no")
    ds.call("E1", "access:revoke", "G2", "policy change", at="2023-01-07T10:00")
    assert ds.event() == ("AccessRevoked", {"grant_id": "G2", "asset_id": "X1"})
    ds.refused("ERR_GRANT_REVOKED", "energy", "access:record_access", "G2", "A1", '["power_supplied_mwh"]', SERVED,
               at="2023-01-08T10:00")
    ds.refused("ERR_CONFLICT", "regulator", "access:revoke", "G2", "again")
    grant(ds, "R3", "G3", who="energy")
    ds.call("regulator", "access:revoke", "G3", "regulator")  # MEE may revoke too
    # NOT_SHARED entry: no request, and so never a grant (I11)
    ds.call("stats", "catalog:publish", "C-CORE", "core", "STD-MONTHLY-POWER", "v1", "CORE", "NOT_SHARED", "M")
    ds.call("stats", "assets:register", "Z1", "C-CORE", "ab" * 32, "u", 1, "{}", "[]")
    ds.refused("ERR_NOT_SHAREABLE", "E1", "access:request", "R4", "Z1", "p", '["period"]', 5, naming="NOT_SHARED")
    check_invariants(ds)


def test_request_checks_and_auto_approval(ds: Any) -> None:
    setup(ds)
    bad = [("R9", "X1", "p", '["nope"]', 5), ("R9", "X1", "p", '["period"]', 0), ("R9", "X1", "p", '["period"]', 366),
           ("R9", "X1", "p", "[]", 5), ("R9", "X1", "", '["period"]', 5)]
    for args in bad:
        ds.refused("ERR_INVALID_ARGUMENT", "stats", "access:request", *args)
    ds.refused("ERR_UNAUTHORIZED", "public", "access:request", "R9", "X1", "p", '["period"]', 5)
    ds.refused("ERR_NOT_FOUND", "stats", "access:request", "R9", "X9", "p", '["period"]', 5)
    catalog(ds, "C-OPEN", "GENERAL", "UNCONDITIONAL")
    ds.call("E1", "assets:register", "X5", "C-OPEN", "ab" * 32, "u", 1, "{}", "[]")
    request = ds.call("V1", "access:request", "R5", "X5", "audit", '["period"]', 10, at="2023-01-05T10:00")
    assert request["status"] == "APPROVED"
    assert ds.event() == ("AccessRequested", {"request_id": "R5", "asset_id": "X5", "granted": True,
                                              "grant_id": "R5"})
    assert record(ds, "GRANT", "R5")["expires_at"] == "2023-01-15T10:00:00+08:00"
    assert record(ds, "ORG", "VerifierMSP")["touched"] == 1
    ds.refused("ERR_CONFLICT", "V1", "access:request", "R5", "X5", "audit", '["period"]', 10)


def test_reject_and_important_grants_need_majority(ds: Any) -> None:
    setup(ds)
    ds.call("stats", "access:request", "R1", "X1", "p", '["period"]', 5)
    ds.refused("ERR_UNAUTHORIZED", "stats", "access:reject", "R1", "no")
    ds.call("E1", "access:reject", "R1", "not needed")
    assert record(ds, "REQ", "R1")["status"] == "REJECTED"
    assert ds.event() == ("AccessRejected", {"request_id": "R1", "asset_id": "X1"})
    ds.refused("ERR_CONFLICT", "E1", "access:reject", "R1", "again")
    ds.refused("ERR_CONFLICT", "E1", "access:approve", "R1", "G1", "2023-01-05T00:00+08:00")
    ds.call("stats", "catalog:publish", "C-IMP", "t", "STD-MONTHLY-POWER", "v1", "IMPORTANT", "CONDITIONAL", "M")
    ds.call("stats", "assets:register", "Y1", "C-IMP", "ab" * 32, "u", 1, "{}", "[]")
    ds.call("energy", "access:request", "R2", "Y1", "p", '["period"]', 5)
    ds.call("stats", "access:approve", "R2", "G2", "2023-01-05T00:00+08:00")
    assert key("GOV", "config") in ds.ledger.last.writes and key("ORG", "StatsMSP") in ds.ledger.last.writes


def test_disputed_ownership_blocks_approve(ds: Any) -> None:
    setup(ds)
    ds.call("E1", "ownership:claim", "X1", '["HOLD", "USE"]', EVIDENCE)
    ds.call("gd", "ownership:confirm", "X1")
    ds.call("stats", "access:request", "R1", "X1", "p", '["period"]', 30, at="2023-01-05T10:00")
    ds.call("E2", "ownership:dispute", "X1", EVIDENCE)
    ds.refused("ERR_CONFLICT", "E1", "access:approve", "R1", "G1", "2023-02-04T00:00+08:00", at="2023-01-06T10:00",
               naming="DISPUTED")
    ds.call("regulator", "ownership:confirm", "X1")
    ds.call("E1", "access:approve", "R1", "G1", "2023-02-04T00:00+08:00", at="2023-01-06T10:00")


def test_logs_are_append_only(ds: Any) -> None:
    setup(ds)
    grant(ds, "R1", "G1")
    for day in (10, 11, 12):
        ds.call("stats", "access:record_access", "G1", f"A{day}", '["power_supplied_mwh"]', SERVED,
                at=f"2023-01-{day}T10:00")
        snapshot = {k: v for k, v in ds.ledger.state.items() if k.startswith(key("LOG", "X1")[:5])}
        check_invariants(ds)
    assert len(snapshot) == 3
    assert [entry["access_id"] for entry in ds.call("auditor", "access:logs", "X1")] == ["A10", "A11", "A12"]
    assert all(k not in ds.ledger.last.writes for k in list(snapshot)[:2])
    assert json.loads(ds.ledger.state[key("GRANT", "G1")])["use_count"] == 3
