"""DOMAIN.md §8 SC-01 steps 1-5: listing, plans, monthly data, annual reports and
verification of E1 and E2 for 2021; the numbers add up and raw data stays private."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.chaincode.mrv.flow import (
    FINDINGS,
    approve_plan,
    key,
    peers,
    plan_of,
    policy_of,
    raw_of,
    record,
    register,
    report_hash,
    sha,
    submit_report,
    submit_year,
)

pytestmark = pytest.mark.unit


def test_sc01_steps_1_to_5(mrv: Any) -> None:
    register(mrv, "E1", "E2")  # step 1
    assert record(mrv, "ENTMRV", "E1")["est_annual_t"] == 1_850_000
    assert record(mrv, "ENTMRV", "E2")["est_annual_t"] == 1_150_000

    approve_plan(mrv, "E1", "E2")  # step 2
    for entity in ("E1", "E2"):
        assert record(mrv, "PLAN", entity, "P1")["status"] == "APPROVED"

    for entity in ("E1", "E2"):  # step 3
        submit_year(mrv, entity)
    months = {entity: [record(mrv, "MD", entity, f"2021-{m:02d}") for m in range(1, 13)] for entity in ("E1", "E2")}
    assert sum(md["emissions_t"] for md in months["E1"]) == 1_850_000
    assert sum(md["power_supplied_mwh"] for md in months["E1"]) == 2_000_000
    assert sum(md["emissions_t"] for md in months["E2"]) == 1_150_000
    assert sum(md["power_supplied_mwh"] for md in months["E2"]) == 1_400_000
    assert not any(md["late"] for entity in months for md in months[entity])
    # raw payloads only in mrvRawGD; public state has their hashes and no raw content
    private = mrv.ledger.private
    assert set(private) == {"mrvRawGD"}
    assert private["mrvRawGD"][key("PLAN", "E1", "P1")] == plan_of("E1")
    assert private["mrvRawGD"][key("MD", "E1", "2021-03", "v1")] == raw_of("E1", "2021-03")
    assert months["E1"][2]["data_hash"] == sha(raw_of("E1", "2021-03"))
    assert record(mrv, "PLAN", "E1", "P1")["plan_hash"] == sha(plan_of("E1"))
    public = b"".join(mrv.ledger.state.values())
    assert b"coal_t" not in public and b"coal sampling" not in public

    submit_report(mrv, "E1")  # step 4, 2022-03-20
    submit_report(mrv, "E2")
    e1 = record(mrv, "AR", "E1", "2021", "v1")
    assert (e1["emissions_t"], e1["power_supplied_mwh"], e1["heat_supplied_gj"]) == (1_850_000, 2_000_000, 0)
    assert (e1["status"], e1["late"]) == ("SUBMITTED", False)
    e2 = record(mrv, "AR", "E2", "2021", "v1")
    assert (e2["emissions_t"], e2["power_supplied_mwh"], e2["status"], e2["late"]) == (1_150_000, 1_400_000,
                                                                                        "SUBMITTED", False)
    assert policy_of(mrv, "AR", "E1", "2021", "v1") == peers("ProvGDMSP")

    for entity, (t, mwh) in (("E1", (1_850_000, 2_000_000)), ("E2", (1_150_000, 1_400_000))):  # step 5
        mrv.call("gd", "assign_verifier", entity, 2021, "V1", at="2022-04-01T10:00")
        assert policy_of(mrv, "AR", entity, "2021", "v1") == peers("VerifierMSP", "ProvGDMSP")
        mrv.call("V1", "submit_verification", entity, 2021, t, mwh, 0, FINDINGS, at="2022-06-10T10:00")
        assert policy_of(mrv, "AR", entity, "2021", "v1") == peers("ProvGDMSP", "MEEMSP")
        mrv.call("gd", "confirm_verification", entity, 2021, at="2022-06-15T10:00")
        assert mrv.event() == ("ReportVerified", {"entity_id": entity, "year": 2021, "version": 1,
                                                  "verified_emissions_t": t, "report_hash": report_hash(entity)})
        assert policy_of(mrv, "AR", entity, "2021", "v1") == peers("ProvGDMSP", "MEEMSP")
        report = mrv.call("auditor", "get_report", entity, 2021)
        assert report == record(mrv, "AR", entity, "2021", "v1")
        assert (report["status"], report["verified_emissions_t"], report["verified_power_mwh"], report["verifier"],
                report["verified_at"]) == ("VERIFIED", t, mwh, "V1", "2022-06-15T10:00:00+08:00")
