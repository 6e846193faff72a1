"""mrv.assign_verifier, mrv.submit_verification, mrv.confirm_verification (DOMAIN.md §5.1),
SC-06 (third bullet) and the immutability of a verified report (SC-08)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.chaincode.mrv.flow import (
    FINDINGS,
    peers,
    policy_of,
    record,
    refused,
    reported,
    verify,
)

pytestmark = pytest.mark.unit

FIGURES = ("E1", 2021, 1_850_000, 2_000_000, 0, FINDINGS)


@pytest.fixture
def submitted(mrv: Any) -> Any:
    reported(mrv, "E1", "E2")
    return mrv


@pytest.fixture
def assigned(submitted: Any) -> Any:
    submitted.call("gd", "assign_verifier", "E1", 2021, "V1", at="2022-04-01T10:00")
    return submitted


def test_assign_verifier(assigned: Any) -> None:
    assert record(assigned, "VA", "E1", "2021") == {"agency_id": "V1", "assigned_by": "ProvGDMSP",
                                                    "assigned_at": "2022-04-01T10:00:00+08:00"}
    assert record(assigned, "AR", "E1", "2021", "v1")["status"] == "UNDER_VERIFICATION"
    assert policy_of(assigned, "AR", "E1", "2021", "v1") == peers("VerifierMSP", "ProvGDMSP")
    assert assigned.event() == ("VerifierAssigned", {"entity_id": "E1", "year": 2021, "version": 1,
                                                     "agency_id": "V1"})


def test_assign_verifier_twice_is_a_conflict(assigned: Any) -> None:
    refused(assigned, "ERR_CONFLICT", "gd", "assign_verifier", "E1", 2021, "V2", naming="UNDER_VERIFICATION")


def test_assign_verifier_without_a_report_is_not_found(submitted: Any) -> None:
    refused(submitted, "ERR_NOT_FOUND", "gd", "assign_verifier", "E1", 2020, "V1")


@pytest.mark.parametrize("who", ["sd", "gd_as_sd", "gd_dept", "E1", "V1", "regulator", "auditor"])
def test_assign_verifier_needs_an_officer_of_the_entitys_province(submitted: Any, who: str) -> None:
    refused(submitted, "ERR_UNAUTHORIZED", who, "assign_verifier", "E1", 2021, "V1")


def test_assign_verifier_checks_its_arguments(submitted: Any) -> None:
    refused(submitted, "ERR_INVALID_ARGUMENT", "gd", "assign_verifier", "E1", 2021, "V 1")
    refused(submitted, "ERR_INVALID_ARGUMENT", "gd", "assign_verifier", "E1", 1999, "V1")


def test_submit_verification(assigned: Any) -> None:
    assigned.call("V1", "submit_verification", *FIGURES, at="2022-06-10T10:00")

    report = record(assigned, "AR", "E1", "2021", "v1")
    assert report["status"] == "UNDER_VERIFICATION"
    assert {k: report[k] for k in ("verified_emissions_t", "verified_power_mwh", "verified_heat_gj", "findings_hash",
                                   "verifier", "verification_submitted_at")} == {
        "verified_emissions_t": 1_850_000, "verified_power_mwh": 2_000_000, "verified_heat_gj": 0,
        "findings_hash": FINDINGS, "verifier": "V1", "verification_submitted_at": "2022-06-10T10:00:00+08:00"}
    assert policy_of(assigned, "AR", "E1", "2021", "v1") == peers("ProvGDMSP", "MEEMSP")
    assert assigned.event() == ("VerificationSubmitted", {
        "entity_id": "E1", "year": 2021, "version": 1, "agency_id": "V1", "findings_hash": FINDINGS,
        "verified_emissions_t": 1_850_000, "verified_power_mwh": 2_000_000, "verified_heat_gj": 0})


def test_submit_verification_only_by_the_assigned_agency(assigned: Any) -> None:
    refused(assigned, "ERR_UNAUTHORIZED", "V2", "submit_verification", *FIGURES, naming="V2")
    for who in ("gd", "E1", "regulator", "auditor"):
        refused(assigned, "ERR_UNAUTHORIZED", who, "submit_verification", *FIGURES)


def test_submit_verification_before_assignment_or_twice_is_refused(assigned: Any) -> None:
    refused(assigned, "ERR_NOT_FOUND", "V1", "submit_verification", "E2", 2021, 1, 1, 0, FINDINGS)
    assigned.call("V1", "submit_verification", *FIGURES, at="2022-06-10T10:00")
    refused(assigned, "ERR_CONFLICT", "V1", "submit_verification", *FIGURES)


def test_submit_verification_checks_its_arguments(assigned: Any) -> None:
    for args in [("E1", 2021, -1, 0, 0, FINDINGS), ("E1", 2021, 1, 0, 0, "f0")]:
        refused(assigned, "ERR_INVALID_ARGUMENT", "V1", "submit_verification", *args)


def test_confirm_verification_needs_submitted_figures(assigned: Any) -> None:
    refused(assigned, "ERR_CONFLICT", "gd", "confirm_verification", "E1", 2021, naming="no verification")
    refused(assigned, "ERR_CONFLICT", "gd", "confirm_verification", "E2", 2021)  # SUBMITTED, not assigned


def test_sc06_a_province_sd_officer_may_not_confirm_a_gd_report(assigned: Any) -> None:
    assigned.call("V1", "submit_verification", *FIGURES, at="2022-06-10T10:00")
    refused(assigned, "ERR_UNAUTHORIZED", "sd", "confirm_verification", "E1", 2021, at="2022-06-15T10:00")
    for who in ("gd_as_sd", "gd_dept", "regulator", "E1", "V1", "auditor"):
        refused(assigned, "ERR_UNAUTHORIZED", who, "confirm_verification", "E1", 2021, at="2022-06-15T10:00")


def test_a_verified_report_is_immutable(submitted: Any) -> None:
    verify(submitted, "E2")
    before = record(submitted, "AR", "E2", "2021", "v1")
    assert before["status"] == "VERIFIED"
    refused(submitted, "ERR_IMMUTABLE", "gd", "confirm_verification", "E2", 2021, at="2022-06-16T10:00")
    refused(submitted, "ERR_IMMUTABLE", "gd", "assign_verifier", "E2", 2021, "V2", at="2022-06-16T10:00")
    refused(submitted, "ERR_IMMUTABLE", "V1", "submit_verification", "E2", 2021, 1_140_000, 1_400_000, 0, FINDINGS,
            at="2022-06-16T10:00")
    refused(submitted, "ERR_IMMUTABLE", "E2", "submit_annual_report", "E2", 2021, 1_150_000, 1_400_000, 0, FINDINGS,
            at="2022-06-16T10:00")
    assert record(submitted, "AR", "E2", "2021", "v1") == before
