"""mrv.register_entity, mrv.submit_plan, mrv.approve_plan (DOMAIN.md §5.1)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.chaincode.mrv.flow import (
    key,
    peers,
    plan_of,
    policy_of,
    record,
    refused,
    register,
    sha,
)

pytestmark = pytest.mark.unit

E1 = ("E1", "Dongfang Power", "GD", "COAL_GT300", 1_850_000)
AT = "2021-01-04T09:00"


# ----- register_entity -------------------------------------------------------------------


def test_register_entity_lists_the_entity_and_creates_the_province_anchor(mrv: Any) -> None:
    mrv.call("gd", "register_entity", *E1, at=AT)

    assert record(mrv, "ENTMRV", "E1") == {"entity_id": "E1", "name": "Dongfang Power", "province": "GD",
                                           "unit_type": "COAL_GT300", "est_annual_t": 1_850_000,
                                           "status": "LISTED", "listed_at": "2021-01-04T09:00:00+08:00"}
    assert policy_of(mrv, "ENTMRV", "E1") == peers("EmitterMSP", "ProvGDMSP")
    assert record(mrv, "PROVMRV", "GD") == {"province": "GD", "msp_id": "ProvGDMSP"}
    assert policy_of(mrv, "PROVMRV", "GD") == peers("ProvGDMSP")
    assert mrv.event() == ("EntityListed", {"entity_id": "E1", "province": "GD", "unit_type": "COAL_GT300",
                                            "est_annual_t": 1_850_000})

    mrv.call("gd", "register_entity", "E2", "Nanhai Thermal", "GD", "COAL_GT300", 1_150_000, at=AT)
    assert record(mrv, "PROVMRV", "GD")["touched"] == 1  # the province endorses


def test_register_entity_threshold_is_26000_t(mrv: Any) -> None:
    refused(mrv, "ERR_BELOW_THRESHOLD", "gd", "register_entity", "E9", "Small", "GD", "GAS", 25_999,
            naming="26,000")
    mrv.call("gd", "register_entity", "E9", "Small", "GD", "GAS", 26_000)


def test_register_entity_twice_is_a_conflict(mrv: Any) -> None:
    mrv.call("gd", "register_entity", *E1, at=AT)
    refused(mrv, "ERR_CONFLICT", "gd", "register_entity", *E1, naming="E1")


@pytest.mark.parametrize("who", ["sd", "gd_as_sd", "gd_dept", "regulator", "E1", "V1", "auditor"])
def test_register_entity_needs_an_officer_of_the_province(mrv: Any, who: str) -> None:
    refused(mrv, "ERR_UNAUTHORIZED", who, "register_entity", *E1)


@pytest.mark.parametrize("args", [
    ("E 1", "Dongfang Power", "GD", "COAL_GT300", 1_850_000),
    ("E1", "", "GD", "COAL_GT300", 1_850_000),
    ("E1", "Dongfang Power", "HB", "COAL_GT300", 1_850_000),
    ("E1", "Dongfang Power", "GD", "OIL", 1_850_000),
    ("E1", "Dongfang Power", "GD", "COAL_GT300", 0),
])
def test_register_entity_checks_its_arguments(mrv: Any, args: tuple[object, ...]) -> None:
    refused(mrv, "ERR_INVALID_ARGUMENT", "gd", "register_entity", *args)


# ----- submit_plan -----------------------------------------------------------------------


@pytest.fixture
def listed(mrv: Any) -> Any:
    register(mrv, "E1", "E2", "E4")
    return mrv


def test_submit_plan_keeps_the_document_private_and_its_hash_public(listed: Any) -> None:
    plan = plan_of("E1")
    listed.call("E1", "submit_plan", "E1", "P1", sha(plan), transient={"plan": plan})

    assert record(listed, "PLAN", "E1", "P1") == {"entity_id": "E1", "plan_id": "P1", "plan_hash": sha(plan),
                                                  "status": "SUBMITTED",
                                                  "submitted_at": "2022-01-10T10:00:00+08:00"}
    assert listed.ledger.private == {"mrvRawGD": {key("PLAN", "E1", "P1"): plan}}
    assert plan not in b"".join(listed.ledger.state.values())
    assert record(listed, "ENTMRV", "E1")["touched"] == 1  # emitters and the province endorse
    assert listed.event() == ("PlanSubmitted", {"entity_id": "E1", "plan_id": "P1", "plan_hash": sha(plan)})


def test_submit_plan_of_an_sd_entity_goes_to_mrv_raw_sd(listed: Any) -> None:
    plan = plan_of("E4")
    listed.call("E4", "submit_plan", "E4", "P1", sha(plan), transient={"plan": plan})
    assert listed.ledger.private == {"mrvRawSD": {key("PLAN", "E4", "P1"): plan}}


def test_submit_plan_with_another_hash_is_a_mismatch(listed: Any) -> None:
    refused(listed, "ERR_HASH_MISMATCH", "E1", "submit_plan", "E1", "P1", sha(b"other"),
            transient={"plan": plan_of("E1")}, naming="plan_hash")


def test_submit_plan_twice_is_a_conflict(listed: Any) -> None:
    plan = plan_of("E1")
    listed.call("E1", "submit_plan", "E1", "P1", sha(plan), transient={"plan": plan})
    refused(listed, "ERR_CONFLICT", "E1", "submit_plan", "E1", "P1", sha(plan), transient={"plan": plan})


def test_submit_plan_needs_the_payload_and_a_hash(listed: Any) -> None:
    plan = plan_of("E1")
    refused(listed, "ERR_INVALID_ARGUMENT", "E1", "submit_plan", "E1", "P1", sha(plan), naming="plan")
    refused(listed, "ERR_INVALID_ARGUMENT", "E1", "submit_plan", "E1", "P1", "abc", transient={"plan": plan})
    refused(listed, "ERR_INVALID_ARGUMENT", "E1", "submit_plan", "E1", "P/1", sha(plan), transient={"plan": plan})


@pytest.mark.parametrize("who", ["E2", "gd", "regulator", "V1", "auditor"])
def test_submit_plan_only_by_the_entitys_own_emitter(listed: Any, who: str) -> None:
    plan = plan_of("E1")
    refused(listed, "ERR_UNAUTHORIZED", who, "submit_plan", "E1", "P1", sha(plan), transient={"plan": plan})


def test_submit_plan_of_an_unlisted_entity_is_not_found(mrv: Any) -> None:
    plan = plan_of("E1")
    refused(mrv, "ERR_NOT_FOUND", "E1", "submit_plan", "E1", "P1", sha(plan), transient={"plan": plan})


# ----- approve_plan ----------------------------------------------------------------------


@pytest.fixture
def planned(listed: Any) -> Any:
    plan = plan_of("E1")
    listed.call("E1", "submit_plan", "E1", "P1", sha(plan), transient={"plan": plan})
    return listed


def test_approve_plan(planned: Any) -> None:
    planned.call("gd", "approve_plan", "E1", "P1", at="2022-01-11T10:00")

    plan = record(planned, "PLAN", "E1", "P1")
    assert (plan["status"], plan["approved_at"]) == ("APPROVED", "2022-01-11T10:00:00+08:00")
    assert record(planned, "PROVMRV", "GD")["touched"] == 2  # once by listing E2, once now
    assert planned.event() == ("PlanApproved", {"entity_id": "E1", "plan_id": "P1"})


def test_approve_plan_twice_is_a_conflict(planned: Any) -> None:
    planned.call("gd", "approve_plan", "E1", "P1")
    refused(planned, "ERR_CONFLICT", "gd", "approve_plan", "E1", "P1", naming="APPROVED")


def test_approve_a_missing_plan_is_not_found(planned: Any) -> None:
    refused(planned, "ERR_NOT_FOUND", "gd", "approve_plan", "E1", "P2")
    refused(planned, "ERR_NOT_FOUND", "gd", "approve_plan", "E9", "P1")


@pytest.mark.parametrize("who", ["sd", "gd_as_sd", "gd_dept", "E1", "regulator", "auditor"])
def test_approve_plan_needs_an_officer_of_the_entitys_province(planned: Any, who: str) -> None:
    refused(planned, "ERR_UNAUTHORIZED", who, "approve_plan", "E1", "P1")
