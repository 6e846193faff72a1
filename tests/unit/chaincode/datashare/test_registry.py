"""governance.init, standards, catalog.publish, assets, ownership (DOMAIN.md §5.2, SC-10, SC-11, SC-12)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.chaincode.datashare.flow import (
    EVIDENCE,
    GOV,
    MAJORITY,
    SCHEMA,
    X1_PAYLOAD,
    key,
    policy,
    policy_of,
    record,
    setup,
    sha,
)

pytestmark = pytest.mark.unit


def test_init_creates_the_anchors_once(ds: Any) -> None:
    ds.refused("ERR_UNAUTHORIZED", "gd", "governance:init")
    ds.call("regulator", "governance:init")
    assert record(ds, "GOV", "config") == {"governing_msps": list(GOV), "majority": 3}
    assert policy_of(ds, "GOV", "config") == policy(MAJORITY)
    assert record(ds, "ORG", "EmitterMSP") == {"msp_id": "EmitterMSP", "kind": "ENTERPRISE"}
    assert policy_of(ds, "ORG", "StatsMSP") == policy("AND('StatsMSP.peer')")
    ds.refused("ERR_CONFLICT", "regulator", "governance:init")


def test_standards_register_and_deprecate(ds: Any) -> None:
    ds.call("regulator", "governance:init")
    ds.refused("ERR_UNAUTHORIZED", "gd", "standards:register", "S", "v1", json.dumps(SCHEMA))
    ds.refused("ERR_INVALID_ARGUMENT", "mee_std", "standards:register", "S", "v1", "{not json", naming="schema_json")
    ds.refused("ERR_INVALID_ARGUMENT", "mee_std", "standards:register", "S", "v1",
               json.dumps({"properties": {"a": {"type": "float"}}}), naming="'a'")
    ds.refused("ERR_INVALID_ARGUMENT", "mee_std", "standards:register", "S", "v 1", json.dumps(SCHEMA))
    ds.call("stats_std", "standards:register", "S", "v1", json.dumps(SCHEMA))
    std = record(ds, "STD", "S", "v1")
    assert (std["status"], std["issuer"], std["title"]) == ("ACTIVE", "StatsMSP", SCHEMA["title"])
    assert std["schema_hash"] == sha(json.dumps(SCHEMA, sort_keys=True, separators=(",", ":")).encode())
    assert ds.event() == ("StandardRegistered", {"standard_id": "S", "version": "v1",
                                                 "schema_hash": std["schema_hash"]})
    assert record(ds, "GOV", "config")["touched"] == 1  # majority endorses
    ds.refused("ERR_CONFLICT", "mee_std", "standards:register", "S", "v1", json.dumps(SCHEMA))
    ds.refused("ERR_UNAUTHORIZED", "mee_std", "standards:deprecate", "S", "v1", naming="issuer")
    ds.refused("ERR_NOT_FOUND", "stats_std", "standards:deprecate", "S", "v2")
    ds.call("stats_std", "standards:deprecate", "S", "v1")
    assert record(ds, "STD", "S", "v1")["status"] == "DEPRECATED"
    assert ds.event() == ("StandardDeprecated", {"standard_id": "S", "version": "v1"})
    ds.refused("ERR_CONFLICT", "stats_std", "standards:deprecate", "S", "v1")
    ds.refused("ERR_INVALID_ARGUMENT", "stats", "catalog:publish", "C", "t", "S", "v1", "GENERAL", "CONDITIONAL",
               "MONTHLY", naming="ACTIVE")


def test_catalog_publish_rules_and_policy(ds: Any) -> None:
    setup(ds)
    entry = record(ds, "CAT", "C-MD")
    assert (entry["owner_msp"], entry["owner_entity"], entry["classification"], entry["share_type"]) == \
        ("EmitterMSP", "E1", "GENERAL", "CONDITIONAL")
    assert policy_of(ds, "CAT", "C-MD") == policy(f"AND('EmitterMSP.peer', {MAJORITY})")
    # SC-10: CORE must be NOT_SHARED; IMPORTANT may not be UNCONDITIONAL
    args = ("t", "STD-MONTHLY-POWER", "v1")
    ds.refused("ERR_INVALID_ARGUMENT", "stats", "catalog:publish", "C-CORE", *args, "CORE", "CONDITIONAL", "M",
               naming="CORE")
    ds.refused("ERR_INVALID_ARGUMENT", "stats", "catalog:publish", "C-IMP", *args, "IMPORTANT", "UNCONDITIONAL", "M")
    ds.refused("ERR_NOT_FOUND", "stats", "catalog:publish", "C-X", "t", "NOPE", "v1", "GENERAL", "CONDITIONAL", "M")
    ds.refused("ERR_UNAUTHORIZED", "E1", "catalog:publish", "C-X", *args, "GENERAL", "CONDITIONAL", "M", "E2")
    ds.refused("ERR_UNAUTHORIZED", "V1", "catalog:publish", "C-X", *args, "GENERAL", "CONDITIONAL", "M")
    ds.refused("ERR_CONFLICT", "E1", "catalog:publish", "C-MD", *args, "GENERAL", "CONDITIONAL", "M", "E1")
    ds.call("stats", "catalog:publish", "C-CORE", *args, "CORE", "NOT_SHARED", "M")
    assert ds.event()[0] == "CatalogEntryPublished"
    assert policy_of(ds, "CAT", "C-CORE") == policy(f"AND('StatsMSP.peer', {MAJORITY})")
    assert record(ds, "ORG", "StatsMSP")["touched"] == 1


def test_assets_register_with_payload_and_hash_mismatch(ds: Any) -> None:
    setup(ds)
    asset = record(ds, "AST", "X1")
    assert (asset["content_hash"], asset["pdc"], asset["status"], asset["version"]) == \
        (sha(X1_PAYLOAD), "_implicit_org_EmitterMSP", "ACTIVE", 1)
    assert ds.ledger.private["_implicit_org_EmitterMSP"][key("AST", "X1")] == X1_PAYLOAD
    assert policy_of(ds, "AST", "X1") == policy(f"AND('EmitterMSP.peer', {MAJORITY})")
    # SC-11: a payload whose sha256 differs from content_hash
    ds.refused("ERR_HASH_MISMATCH", "E1", "assets:register", "X3", "C-MD", "ab" * 32, "u", 1, "{}", "[]",
               transient={"payload": b"other"})
    ds.refused("ERR_UNAUTHORIZED", "E2", "assets:register", "X3", "C-MD", "ab" * 32, "u", 1, "{}", "[]")
    ds.refused("ERR_NOT_FOUND", "E1", "assets:register", "X3", "C-MD", "ab" * 32, "u", 1, "{}", '["X9"]')
    ds.refused("ERR_CONFLICT", "E1", "assets:register", "X1", "C-MD", "ab" * 32, "u", 1, "{}", "[]")
    ds.refused("ERR_INVALID_ARGUMENT", "E1", "assets:register", "X3", "C-MD", "AB", "u", 1, "{}", "[]")
    ds.call("E1", "assets:register", "X3", "C-MD", "ab" * 32, "u", 1, "{}", '["X1"]')
    assert record(ds, "AST", "X3")["parents"] == ["X1"] and record(ds, "AST", "X3")["pdc"] is None
    assert ds.event() == ("AssetRegistered", {"asset_id": "X3", "catalog_id": "C-MD", "content_hash": "ab" * 32,
                                              "pdc": None})


def test_important_payload_goes_to_gov_sensitive(ds: Any) -> None:
    setup(ds)
    ds.call("stats", "catalog:publish", "C-IMP", "t", "STD-MONTHLY-POWER", "v1", "IMPORTANT", "CONDITIONAL", "M")
    ds.call("stats", "assets:register", "Y1", "C-IMP", sha(b"secret"), "u", 6, "{}", "[]",
            transient={"payload": b"secret"})
    assert ds.ledger.private["govSensitive"][key("AST", "Y1")] == b"secret"
    assert b"secret" not in ds.ledger.last.event.payload


def test_an_enterprises_important_payload_stays_in_its_own_collection(ds: Any) -> None:
    """govSensitive's members are the governing departments: an enterprise keeps its
    important data in its implicit collection, which its peer may write and hold."""
    setup(ds)
    ds.call("E1", "catalog:publish", "C-EIMP", "t", "STD-MONTHLY-POWER", "v1", "IMPORTANT", "CONDITIONAL", "M", "E1")
    ds.call("E1", "assets:register", "Y2", "C-EIMP", sha(b"plant data"), "u", 10, "{}", "[]",
            transient={"payload": b"plant data"})
    assert record(ds, "AST", "Y2")["pdc"] == "_implicit_org_EmitterMSP"
    assert ds.ledger.private["_implicit_org_EmitterMSP"][key("AST", "Y2")] == b"plant data"
    assert key("AST", "Y2") not in ds.ledger.private.get("govSensitive", {})


def test_validate_sc11_and_verify_content(ds: Any) -> None:
    setup(ds)
    x2 = {"period": "2021-12", "power_supplied_mwh": {"value": 174000000, "unit": "kWh"}}
    ds.call("E1", "assets:register", "X2", "C-MD", "cd" * 32, "u", 1, json.dumps(x2), "[]")
    ds.refused("ERR_UNAUTHORIZED", "E1", "assets:validate", "X2")
    ds.refused("ERR_NOT_FOUND", "stats", "assets:validate", "X9")
    result = ds.call("stats", "assets:validate", "X2")
    assert result["passed"] is False and len(result["errors"]) == 2
    assert "emissions_t: missing" in result["errors"][0] and "unit must be MWh" in result["errors"][1]
    assert record(ds, "QA", "X2") == result
    assert ds.event() == ("AssetValidated", {"asset_id": "X2", "passed": False, "error_count": 2})
    assert ds.call("gd", "assets:validate", "X1")["passed"] is True
    assert ds.call("stats", "assets:verify_content", "X1", "00" * 32) == {"match": False}
    assert ds.call("auditor", "assets:verify_content", "X1", sha(X1_PAYLOAD)) == {"match": True}
    ds.refused("ERR_NOT_FOUND", "stats", "assets:verify_content", "X9", "00")


def test_ownership_sc12(ds: Any) -> None:
    setup(ds)
    ds.refused("ERR_UNAUTHORIZED", "E2", "ownership:claim", "X1", '["HOLD"]', EVIDENCE)
    ds.refused("ERR_INVALID_ARGUMENT", "E1", "ownership:claim", "X1", '["SELL"]', EVIDENCE)
    ds.refused("ERR_NOT_FOUND", "gd", "ownership:confirm", "X1")
    ds.call("E1", "ownership:claim", "X1", '["HOLD", "USE"]', EVIDENCE)
    assert record(ds, "OWN", "X1")["status"] == "CLAIMED"
    assert ds.event() == ("OwnershipClaimed", {"asset_id": "X1", "rights": ["HOLD", "USE"],
                                               "evidence_hash": EVIDENCE})
    ds.refused("ERR_CONFLICT", "E1", "ownership:claim", "X1", '["HOLD"]', EVIDENCE)
    ds.refused("ERR_UNAUTHORIZED", "E1", "ownership:confirm", "X1")
    gov, org = record(ds, "GOV", "config").get("touched", 0), record(ds, "ORG", "EmitterMSP")["touched"]
    ds.call("gd", "ownership:confirm", "X1")
    # the transaction writes GOV~config (OutOf(3, GOV)) and ORG~EmitterMSP (owner peer):
    # on a network ProvGD + MEE alone fail the policy; + Stats + the owner's peer pass.
    writes = ds.ledger.last.writes
    assert key("GOV", "config") in writes and key("ORG", "EmitterMSP") in writes
    assert record(ds, "GOV", "config")["touched"] == gov + 1 and record(ds, "ORG", "EmitterMSP")["touched"] == org + 1
    assert record(ds, "OWN", "X1")["status"] == "CONFIRMED"
    assert ds.event() == ("OwnershipConfirmed", {"asset_id": "X1"})
    ds.refused("ERR_CONFLICT", "gd", "ownership:confirm", "X1")
    ds.refused("ERR_UNAUTHORIZED", "V1", "ownership:dispute", "X1", EVIDENCE)
    ds.call("E2", "ownership:dispute", "X1", EVIDENCE)
    assert record(ds, "OWN", "X1")["status"] == "DISPUTED"
    assert ds.event() == ("OwnershipDisputed", {"asset_id": "X1", "evidence_hash": EVIDENCE})
    ds.refused("ERR_CONFLICT", "gd", "ownership:dispute", "X1", EVIDENCE)
    ds.call("regulator", "ownership:confirm", "X1")
    assert record(ds, "OWN", "X1")["status"] == "CONFIRMED"


def test_provenance_lists_every_ancestor_once_and_the_records_history(ds: Any) -> None:
    """X4 derives from X3 and X1, X3 from X1: the lineage is X3 then X1 (once), and the
    history is the one transaction that wrote X4's record."""
    setup(ds)
    ds.call("E1", "assets:register", "X3", "C-MD", "ab" * 32, "u3", 1, "{}", '["X1"]', at="2023-01-03T09:00")
    ds.call("E1", "assets:register", "X4", "C-MD", "cd" * 32, "u4", 1, "{}", '["X3", "X1"]', at="2023-01-04T09:00")
    written_by = ds.ledger.last.tx_id
    found = ds.call("auditor", "assets:provenance", "X4")
    assert found["asset"] == record(ds, "AST", "X4")
    assert [(a["asset_id"], a["parents"]) for a in found["lineage"]] == [("X3", ["X1"]), ("X1", [])]
    assert found["lineage"][1]["content_hash"] == sha(X1_PAYLOAD)
    assert found["history"] == [{"tx_id": written_by, "timestamp": "2023-01-04T01:00:00+00:00", "is_delete": False,
                                 "status": "ACTIVE", "version": 1, "content_hash": "cd" * 32}]
    assert ds.call("stats", "assets:provenance", "X1")["lineage"] == []
    ds.refused("ERR_NOT_FOUND", "stats", "assets:provenance", "X9")
    ds.refused("ERR_INVALID_ARGUMENT", "stats", "assets:provenance", "X 9")
