"""mrv.submit_monthly, mrv.submit_annual_report, mrv.get_report (DOMAIN.md §3.2, §5.1)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.chaincode.mrv.flow import (
    approve_plan,
    key,
    peers,
    plan_of,
    policy_of,
    raw_of,
    record,
    refused,
    register,
    report_hash,
    sha,
    submit_month,
    submit_report,
    submit_year,
    verify,
)

pytestmark = pytest.mark.unit

RAW = raw_of("E1", "2021-01")


@pytest.fixture
def planned(mrv: Any) -> Any:
    register(mrv, "E1", "E2", "E4")
    approve_plan(mrv, "E1", "E2", "E4")
    return mrv


def monthly(period: str = "2021-01", raw: bytes = RAW) -> tuple[object, ...]:
    return ("E1", period, 154_000, 166_000, 0, sha(raw))


# ----- submit_monthly --------------------------------------------------------------------


def test_submit_monthly_writes_hash_public_and_raw_private(planned: Any) -> None:
    planned.call("E1", "submit_monthly", *monthly(), at="2021-02-10T10:00", transient={"raw": RAW})

    assert record(planned, "MD", "E1", "2021-01") == {
        "entity_id": "E1", "period": "2021-01", "emissions_t": 154_000, "power_supplied_mwh": 166_000,
        "heat_supplied_gj": 0, "data_hash": sha(RAW), "submitted_at": "2021-02-10T10:00:00+08:00", "late": False,
        "version": 1}
    assert planned.ledger.private["mrvRawGD"][key("MD", "E1", "2021-01", "v1")] == RAW
    assert RAW not in b"".join(planned.ledger.state.values())
    assert planned.event() == ("MonthlyDataSubmitted", {"entity_id": "E1", "period": "2021-01", "version": 1,
                                                        "data_hash": sha(RAW), "late": False})


@pytest.mark.parametrize(("at", "late"), [("2021-03-12T23:59", False), ("2021-03-13T00:00", True)])
def test_submit_monthly_is_late_after_40_natural_days(planned: Any, at: str, late: bool) -> None:
    planned.call("E1", "submit_monthly", *monthly(), at=at, transient={"raw": RAW})  # Jan 31 + 40 days = Mar 12
    assert record(planned, "MD", "E1", "2021-01")["late"] is late
    assert planned.event()[1]["late"] is late


def test_submit_monthly_again_is_the_next_version(planned: Any) -> None:
    planned.call("E1", "submit_monthly", *monthly(), at="2021-02-10T10:00", transient={"raw": RAW})
    again = RAW + b" corrected"
    planned.call("E1", "submit_monthly", *monthly(raw=again), at="2021-02-11T10:00", transient={"raw": again})

    assert record(planned, "MD", "E1", "2021-01")["version"] == 2
    assert planned.ledger.private["mrvRawGD"][key("MD", "E1", "2021-01", "v1")] == RAW  # kept (>= 5 years)
    assert planned.ledger.private["mrvRawGD"][key("MD", "E1", "2021-01", "v2")] == again


def test_submit_monthly_with_another_hash_is_a_mismatch(planned: Any) -> None:
    refused(planned, "ERR_HASH_MISMATCH", "E1", "submit_monthly", *monthly(raw=b"other"), at="2021-02-10T10:00",
            transient={"raw": RAW}, naming="data_hash")


def test_submit_monthly_needs_an_approved_plan(mrv: Any) -> None:
    register(mrv, "E1")
    refused(mrv, "ERR_CONFLICT", "E1", "submit_monthly", *monthly(), at="2021-02-10T10:00", transient={"raw": RAW},
            naming="APPROVED")
    plan = plan_of("E1")
    mrv.call("E1", "submit_plan", "E1", "P1", sha(plan), transient={"plan": plan})
    refused(mrv, "ERR_CONFLICT", "E1", "submit_monthly", *monthly(), at="2021-02-10T10:00", transient={"raw": RAW})


def test_submit_monthly_for_a_month_not_begun_is_invalid(planned: Any) -> None:
    refused(planned, "ERR_INVALID_ARGUMENT", "E1", "submit_monthly", *monthly("2021-03"), at="2021-02-28T23:59",
            transient={"raw": RAW}, naming="has not begun")
    planned.call("E1", "submit_monthly", *monthly("2021-03"), at="2021-03-01T00:00", transient={"raw": RAW})


@pytest.mark.parametrize("args", [
    ("E1", "2021-13", 1, 1, 0, sha(RAW)),
    ("E1", "2021-1", 1, 1, 0, sha(RAW)),
    ("E1", "2021-01", -1, 1, 0, sha(RAW)),
    ("E1", "2021-01", 1, -1, 0, sha(RAW)),
    ("E1", "2021-01", 1, 1, -1, sha(RAW)),
    ("E1", "2021-01", 1, 1, 0, sha(RAW).upper()),
])
def test_submit_monthly_checks_its_arguments(planned: Any, args: tuple[object, ...]) -> None:
    refused(planned, "ERR_INVALID_ARGUMENT", "E1", "submit_monthly", *args, at="2021-02-10T10:00",
            transient={"raw": RAW})


def test_submit_monthly_needs_the_raw_payload(planned: Any) -> None:
    refused(planned, "ERR_INVALID_ARGUMENT", "E1", "submit_monthly", *monthly(), at="2021-02-10T10:00",
            naming="raw")


@pytest.mark.parametrize("who", ["E2", "gd", "V1", "auditor"])
def test_submit_monthly_only_by_the_entitys_own_emitter(planned: Any, who: str) -> None:
    refused(planned, "ERR_UNAUTHORIZED", who, "submit_monthly", *monthly(), at="2021-02-10T10:00",
            transient={"raw": RAW})


def test_submit_monthly_after_the_annual_report_is_a_conflict(planned: Any) -> None:
    submit_year(planned, "E1")
    submit_report(planned, "E1")
    refused(planned, "ERR_CONFLICT", "E1", "submit_monthly", *monthly(), at="2022-03-21T10:00",
            transient={"raw": RAW}, naming="annual report")


# ----- submit_annual_report --------------------------------------------------------------


def test_submit_annual_report(planned: Any) -> None:
    submit_year(planned, "E1")
    submit_report(planned, "E1")

    assert record(planned, "AR", "E1", "2021", "v1") == {
        "entity_id": "E1", "year": 2021, "version": 1, "emissions_t": 1_850_000, "power_supplied_mwh": 2_000_000,
        "heat_supplied_gj": 0, "report_hash": report_hash("E1"), "status": "SUBMITTED",
        "submitted_at": "2022-03-20T10:00:00+08:00", "late": False}
    assert policy_of(planned, "AR", "E1", "2021", "v1") == peers("ProvGDMSP")
    assert planned.event() == ("AnnualReportSubmitted", {
        "entity_id": "E1", "year": 2021, "version": 1, "emissions_t": 1_850_000, "power_supplied_mwh": 2_000_000,
        "heat_supplied_gj": 0, "report_hash": report_hash("E1"), "late": False})


@pytest.mark.parametrize(("at", "late"), [("2022-03-31T23:59", False), ("2022-04-01T00:00", True)])
def test_submit_annual_report_is_late_after_31_march(planned: Any, at: str, late: bool) -> None:
    submit_year(planned, "E1")
    submit_report(planned, "E1", at=at)
    assert record(planned, "AR", "E1", "2021", "v1")["late"] is late


def test_submit_annual_report_needs_all_twelve_months(planned: Any) -> None:
    submit_year(planned, "E1", months=11)
    refused(planned, "ERR_INCONSISTENT", "E1", "submit_annual_report", "E1", 2021, 1_694_000, 1_826_000, 0,
            report_hash("E1"), at="2022-03-20T10:00", naming="2021-12")


@pytest.mark.parametrize("totals", [(1_850_001, 2_000_000, 0), (1_850_000, 1_999_999, 0), (1_850_000, 2_000_000, 1)])
def test_submit_annual_report_totals_must_equal_the_sums(planned: Any, totals: tuple[int, int, int]) -> None:
    submit_year(planned, "E1")
    refused(planned, "ERR_INCONSISTENT", "E1", "submit_annual_report", "E1", 2021, *totals, report_hash("E1"),
            at="2022-03-20T10:00")


def test_submit_annual_report_twice_is_a_conflict_and_once_verified_immutable(planned: Any) -> None:
    submit_year(planned, "E1")
    submit_report(planned, "E1")
    args = ("E1", 2021, 1_850_000, 2_000_000, 0, report_hash("E1"))
    refused(planned, "ERR_CONFLICT", "E1", "submit_annual_report", *args, at="2022-03-21T10:00")
    verify(planned, "E1")
    refused(planned, "ERR_IMMUTABLE", "E1", "submit_annual_report", *args, at="2022-06-16T10:00")


def test_submit_annual_report_before_the_year_ends_is_invalid(planned: Any) -> None:
    refused(planned, "ERR_INVALID_ARGUMENT", "E1", "submit_annual_report", "E1", 2021, 1, 1, 0, report_hash("E1"),
            at="2021-12-31T23:59", naming="not ended")


@pytest.mark.parametrize("who", ["E2", "gd", "V1", "auditor"])
def test_submit_annual_report_only_by_the_entitys_own_emitter(planned: Any, who: str) -> None:
    submit_year(planned, "E1")
    refused(planned, "ERR_UNAUTHORIZED", who, "submit_annual_report", "E1", 2021, 1_850_000, 2_000_000, 0,
            report_hash("E1"), at="2022-03-20T10:00")


def test_submit_annual_report_checks_its_arguments(planned: Any) -> None:
    submit_year(planned, "E1")
    for args in [("E1", 1999, 1, 1, 0, report_hash("E1")), ("E1", 2021, -1, 1, 0, report_hash("E1")),
                 ("E1", 2021, 1_850_000, 2_000_000, 0, "x")]:
        refused(planned, "ERR_INVALID_ARGUMENT", "E1", "submit_annual_report", *args, at="2022-03-20T10:00")


# ----- get_report ------------------------------------------------------------------------


def test_get_report_of_no_report_is_not_found(planned: Any) -> None:
    refused(planned, "ERR_NOT_FOUND", "auditor", "get_report", "E1", 2021)


def test_month_in_december_is_on_time_until_9_february(planned: Any) -> None:
    submit_month(planned, "E1", "2021-12", 156_000, 174_000, at="2022-02-09T23:59")
    assert record(planned, "MD", "E1", "2021-12")["late"] is False
