"""mrv.file_objection, mrv.decide_objection, mrv.get_report (DOMAIN.md §5.1; SC-08):
7 working days to object after verification, 10 to decide after filing; upholding adds
a new verified version and supersedes the old one, whose numbers never change."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.chaincode.mrv.flow import (
    REASON,
    peers,
    policy_of,
    record,
    refused,
    reported,
    verify,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def verified(mrv: Any) -> Any:
    """AR~E2~2021~v1 VERIFIED on 2022-06-15 (Wed) with 1,150,000 t; E1 reported, not verified."""
    reported(mrv, "E1", "E2")
    verify(mrv, "E2")
    return mrv


@pytest.fixture
def objected(verified: Any) -> Any:
    verified.call("E2", "file_objection", "E2", 2021, REASON, at="2022-06-22T10:00")
    return verified


def test_sc08_objection_on_the_5th_working_day_is_accepted(objected: Any) -> None:
    assert record(objected, "OBJ", "E2", "2021", "1") == {
        "entity_id": "E2", "year": 2021, "seq": "1", "version": 1, "reason_hash": REASON,
        "filed_at": "2022-06-22T10:00:00+08:00", "decision": None, "decided_at": None}
    assert policy_of(objected, "OBJ", "E2", "2021", "1") == peers("ProvGDMSP", "MEEMSP")
    assert objected.event() == ("ObjectionFiled", {"entity_id": "E2", "year": 2021, "seq": "1", "version": 1,
                                                   "reason_hash": REASON})


def test_sc08_objection_on_the_8th_working_day_is_too_late(verified: Any) -> None:
    refused(verified, "ERR_DEADLINE", "E2", "file_objection", "E2", 2021, REASON, at="2022-06-27T10:00",
            naming="found 8")
    verified.call("E2", "file_objection", "E2", 2021, REASON, at="2022-06-24T23:59")  # 7th working day


def test_objection_to_an_unverified_report_or_a_second_pending_is_a_conflict(objected: Any) -> None:
    refused(objected, "ERR_CONFLICT", "E1", "file_objection", "E1", 2021, REASON, naming="VERIFIED")
    refused(objected, "ERR_CONFLICT", "E2", "file_objection", "E2", 2021, REASON, at="2022-06-23T10:00",
            naming="pending")
    refused(objected, "ERR_NOT_FOUND", "E2", "file_objection", "E2", 2020, REASON)


@pytest.mark.parametrize("who", ["E1", "gd", "V1", "regulator", "auditor"])
def test_file_objection_only_by_the_entitys_own_emitter(verified: Any, who: str) -> None:
    refused(verified, "ERR_UNAUTHORIZED", who, "file_objection", "E2", 2021, REASON, at="2022-06-22T10:00")


def test_file_objection_checks_its_arguments(verified: Any) -> None:
    refused(verified, "ERR_INVALID_ARGUMENT", "E2", "file_objection", "E2", 2021, "why", at="2022-06-22T10:00")


def test_sc08_upheld_objection_creates_v2_and_supersedes_v1(objected: Any) -> None:
    v1 = record(objected, "AR", "E2", "2021", "v1")
    objected.call("gd", "decide_objection", "E2", 2021, "1", "UPHELD", 1_140_000, at="2022-07-01T10:00")

    assert record(objected, "AR", "E2", "2021", "v1") == {**v1, "status": "SUPERSEDED", "superseded_by": 2}
    v2 = record(objected, "AR", "E2", "2021", "v2")
    assert v2 == {**v1, "version": 2, "status": "VERIFIED", "verified_emissions_t": 1_140_000,
                  "verified_at": "2022-07-01T10:00:00+08:00", "objection_seq": "1"}
    assert policy_of(objected, "AR", "E2", "2021", "v2") == peers("ProvGDMSP", "MEEMSP")
    objection = record(objected, "OBJ", "E2", "2021", "1")
    assert (objection["decision"], objection["decided_at"]) == ("UPHELD", "2022-07-01T10:00:00+08:00")
    assert objected.event() == ("ObjectionDecided", {"entity_id": "E2", "year": 2021, "seq": "1",
                                                     "decision": "UPHELD", "version": 2,
                                                     "verified_emissions_t": 1_140_000})
    assert objected.call("auditor", "get_report", "E2", 2021) == v2
    # v1 stays as it is: every write to it is refused
    refused(objected, "ERR_IMMUTABLE", "gd", "confirm_verification", "E2", 2021, at="2022-07-02T10:00")
    refused(objected, "ERR_IMMUTABLE", "E2", "submit_annual_report", "E2", 2021, 1_150_000, 1_400_000, 0, REASON,
            at="2022-07-02T10:00")


def test_dismissed_objection_changes_no_report(objected: Any) -> None:
    v1 = record(objected, "AR", "E2", "2021", "v1")
    objected.call("gd", "decide_objection", "E2", 2021, "1", "DISMISSED", "", at="2022-06-23T10:00")

    assert record(objected, "OBJ", "E2", "2021", "1")["decision"] == "DISMISSED"
    assert record(objected, "AR", "E2", "2021", "v1") == v1
    assert objected.event() == ("ObjectionDecided", {"entity_id": "E2", "year": 2021, "seq": "1",
                                                     "decision": "DISMISSED"})
    # a new objection may follow, within the deadline counted from verified_at
    objected.call("E2", "file_objection", "E2", 2021, REASON, at="2022-06-24T10:00")
    assert record(objected, "OBJ", "E2", "2021", "2")["seq"] == "2"


def test_sc08_decision_after_the_10th_working_day_is_too_late(objected: Any) -> None:
    # filed Wed 2022-06-22: the 10th working day after is Wed 2022-07-06
    refused(objected, "ERR_DEADLINE", "gd", "decide_objection", "E2", 2021, "1", "UPHELD", 1_140_000,
            at="2022-07-07T10:00", naming="found 11")
    objected.call("gd", "decide_objection", "E2", 2021, "1", "UPHELD", 1_140_000, at="2022-07-06T23:59")


def test_deciding_twice_is_a_conflict(objected: Any) -> None:
    objected.call("gd", "decide_objection", "E2", 2021, "1", "UPHELD", 1_140_000, at="2022-07-01T10:00")
    refused(objected, "ERR_CONFLICT", "gd", "decide_objection", "E2", 2021, "1", "DISMISSED", "",
            at="2022-07-01T11:00", naming="already UPHELD")
    refused(objected, "ERR_NOT_FOUND", "gd", "decide_objection", "E2", 2021, "2", "DISMISSED", "")


@pytest.mark.parametrize("who", ["sd", "gd_as_sd", "gd_dept", "E2", "V1", "regulator", "auditor"])
def test_decide_objection_needs_an_officer_of_the_entitys_province(objected: Any, who: str) -> None:
    refused(objected, "ERR_UNAUTHORIZED", who, "decide_objection", "E2", 2021, "1", "DISMISSED", "")


@pytest.mark.parametrize("args", [("1", "UPHELD", ""), ("1", "DISMISSED", 5), ("1", "MAYBE", ""),
                                  ("1", "UPHELD", -1), ("#1", "DISMISSED", "")])
def test_decide_objection_checks_its_arguments(objected: Any, args: tuple[object, ...]) -> None:
    refused(objected, "ERR_INVALID_ARGUMENT", "gd", "decide_objection", "E2", 2021, *args)
