"""registry.issue_allocation, registry.set_obligation (DOMAIN.md §4.1, §5.3; SC-01 steps 6-7, SC-13, SC-14)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chaincode.contracts.trading.allocation import obligation_of, unit_allocation
from tests.unit.chaincode.trading.market import (
    SETUP_AT,
    key,
    open_accounts,
    open_market,
    record,
    refused,
    with_strangers,
)

pytestmark = pytest.mark.unit

HASH = "ab" * 32
BM_T = {unit: {"supply_kg_per_mwh": 1000, "heat_kg_per_gj": 1000} for unit in
        ("COAL_GT300", "COAL_LE300", "COAL_UNCONV", "GAS")}  # 1 t per MWh: allocation = output
OFFICER = {"E1": "gd", "E2": "gd", "E4": "sd", "E5": "gd", "E6": "sd", "E7": "gd"}


def ref(entity: str, year: int, version: int = 1) -> str:
    return f"mrv:AR~{entity}~{year}~v{version}:{HASH}"


def allocate(trading: Any, entity: str, vintage: int, phase: str, mwh: int, *, bm: str = "BM-SAMPLE",
             heat_gj: int = 0, cf: int = 1000, at: str = "2023-04-20T10:00") -> None:
    trading.call(OFFICER[entity], "registry:issue_allocation", entity, vintage, phase, bm, mwh, heat_gj, cf, at=at)


def vintage_of(trading: Any, entity: str, vintage: int) -> Any:
    return record(trading, "ENT", entity)["vintages"][str(vintage)]


def edit_vintage(trading: Any, entity: str, vintage: int, **fields: object) -> None:
    """Change an entity's vintage record as the compliance functions would."""
    entity_record = record(trading, "ENT", entity)
    entity_record["vintages"][str(vintage)].update(fields)
    trading.ledger.state[key("ENT", entity)] = json.dumps(entity_record, sort_keys=True,
                                                          separators=(",", ":")).encode()


@pytest.fixture
def market(trading: Any) -> Any:
    """The common fixture with E1, E2, E4-E7 and a benchmark set BM-T of 1 t per MWh."""
    open_market(trading)
    trading.call("regulator", "admin:set_benchmarks", "BM-T", json.dumps(BM_T), at=SETUP_AT)
    open_accounts(trading, "E1", "E2", "E4", "E5", "E6", "E7")
    return with_strangers(trading)


# ----- the rules as numbers ----------------------------------------------------------------


def test_unit_allocation_floors_in_integers() -> None:
    assert unit_allocation(877, 126, 1_900_000, 0, 1000) == 1_666_300
    # floor((floor(877 × 1,000,003 × 985 / 1000) + 126 × 12,345) / 1000) = floor(865,403,061.535 / 1000)
    assert unit_allocation(877, 126, 1_000_003, 12_345, 985) == 865_403
    assert unit_allocation(392, 59, 0, 1_000_000, 1000) == 59_000
    assert unit_allocation(877, 126, 1, 0, 1000) == 0


PERIOD_CFG = {"gap_cap_pct": 20, "gas_exempt": True}


@pytest.mark.parametrize(("unit_type", "verified", "final", "period", "obligation"), [
    ("COAL_GT300", 1_300_000, 1_000_000, PERIOD_CFG, 1_260_000),  # SC-14 E5: gap 23.1 % capped
    ("GAS", 430_000, 400_000, PERIOD_CFG, 400_000),  # SC-14 E6: gas surrenders at most its allocation
    ("COAL_LE300", 1_200_000, 1_000_000, PERIOD_CFG, 1_200_000),  # SC-14 E7: gap 16.7 %
    ("GAS", 380_000, 400_000, PERIOD_CFG, 380_000),
    ("GAS", 430_000, 400_000, {"gap_cap_pct": 20, "gas_exempt": False}, 430_000),
    ("COAL_GT300", 1000, 800, PERIOD_CFG, 1000),  # gap exactly 20 %: not capped
    ("COAL_GT300", 1000, 799, PERIOD_CFG, 999),
    ("COAL_GT300", 1003, 0, PERIOD_CFG, 200),  # floor(20 × 1003 / 100)
    ("COAL_GT300", 1_850_000, 1_754_000, PERIOD_CFG, 1_850_000),  # SC-01 E1: 5.19 %
    ("COAL_GT300", 1_150_000, 1_227_800, PERIOD_CFG, 1_150_000),  # SC-01 E2: negative gap
])
def test_obligation_of_applies_gas_exemption_and_gap_cap(unit_type: str, verified: int, final: int,
                                                         period: dict[str, Any], obligation: int) -> None:
    assert obligation_of(unit_type, verified, final, period) == obligation


# ----- registry.issue_allocation -----------------------------------------------------------


def test_pre_allocation_issues_70_percent_sc01_step6(market: Any) -> None:
    allocate(market, "E1", 2021, "PRE", 1_900_000)

    assert vintage_of(market, "E1", 2021) == {
        "pre_alloc_t": 1_166_410, "final_alloc_t": None, "obligation_t": None, "ccer_cap_t": None,
        "verified_emissions_t": 0, "report_ref": "", "surrendered_cea_t": 0, "surrendered_ccer_t": 0,
        "borrowed_t": 0, "debt_t": 0, "deduct_next_t": 0, "deducted_t": 0, "deducted_from": {}, "shortfall_t": 0,
        "status": "PENDING", "penalty": None}
    assert market.event() == ("AllocationIssued", {
        "entity_id": "E1", "account_id": "A-E1", "product": "CEA21", "vintage": 2021, "phase": "PRE",
        "qty_t": 1_166_410, "adjustment_t": 1_166_410, "deducted_t": 0, "clawed_back_t": 0, "debt_t": 0})
    allocate(market, "E2", 2021, "PRE", 1_300_000)

    assert vintage_of(market, "E2", 2021)["pre_alloc_t"] == 798_070
    assert record(market, "HOLD", "A-E1", "CEA21") == {"available_t": 1_166_410, "frozen_t": 0}
    assert record(market, "HOLD", "A-E2", "CEA21") == {"available_t": 798_070, "frozen_t": 0}
    assert record(market, "ISS", "CEA21") == {"issued_t": 1_964_480, "clawed_back_t": 0}
    assert record(market, "ENT", "E1")["name"] == "Dongfang Power"  # the rest of the entity is kept


def test_final_allocation_and_obligation_sc01_step7(market: Any) -> None:
    allocate(market, "E1", 2021, "PRE", 1_900_000)
    allocate(market, "E2", 2021, "PRE", 1_300_000)
    allocate(market, "E1", 2021, "FINAL", 2_000_000, at="2023-07-10T10:00")

    assert market.event() == ("AllocationIssued", {
        "entity_id": "E1", "account_id": "A-E1", "product": "CEA21", "vintage": 2021, "phase": "FINAL",
        "qty_t": 1_754_000, "adjustment_t": 587_590, "deducted_t": 0, "clawed_back_t": 0, "debt_t": 0})
    allocate(market, "E2", 2021, "FINAL", 1_400_000, at="2023-07-10T10:00")

    assert market.event()[1]["adjustment_t"] == 429_730
    assert vintage_of(market, "E2", 2021)["final_alloc_t"] == 1_227_800
    assert record(market, "ISS", "CEA21") == {"issued_t": 2_981_800, "clawed_back_t": 0}
    assert record(market, "HOLD", "A-E1", "CEA21")["available_t"] == 1_754_000
    assert record(market, "HOLD", "A-E2", "CEA21")["available_t"] == 1_227_800

    market.call("gd", "registry:set_obligation", "E1", 2021, 1_850_000, ref("E1", 2021), at="2023-07-10T11:00")

    e1 = vintage_of(market, "E1", 2021)
    assert (e1["verified_emissions_t"], e1["obligation_t"], e1["ccer_cap_t"]) == (1_850_000, 1_850_000, 92_500)
    assert e1["report_ref"] == ref("E1", 2021)
    assert market.event() == ("ObligationSet", {"entity_id": "E1", "vintage": 2021, "verified_emissions_t": 1_850_000,
                                                "obligation_t": 1_850_000, "ccer_cap_t": 92_500, "debt_t": 0,
                                                "report_ref": ref("E1", 2021)})
    market.call("gd", "registry:set_obligation", "E2", 2021, 1_150_000, ref("E2", 2021))

    assert (vintage_of(market, "E2", 2021)["obligation_t"], vintage_of(market, "E2", 2021)["ccer_cap_t"]) == \
        (1_150_000, 57_500)


def test_negative_adjustment_claws_back_available_and_the_rest_becomes_debt(market: Any) -> None:
    allocate(market, "E1", 2021, "PRE", 1_900_000)  # 1,166,410
    market.call("regulator", "registry:freeze", "A-E1", "CEA21", 1_000_000, "investigation")
    allocate(market, "E1", 2021, "FINAL", 100_000)  # 87,700: adjustment -1,078,710, 166,410 available

    assert market.event()[1] == {"entity_id": "E1", "account_id": "A-E1", "product": "CEA21", "vintage": 2021,
                                 "phase": "FINAL", "qty_t": 87_700, "adjustment_t": -1_078_710, "deducted_t": 0,
                                 "clawed_back_t": 166_410, "debt_t": 912_300}
    assert record(market, "HOLD", "A-E1", "CEA21") == {"available_t": 0, "frozen_t": 1_000_000,
                                                       "regulatory_frozen_t": 1_000_000}
    assert record(market, "ISS", "CEA21") == {"issued_t": 1_166_410, "clawed_back_t": 166_410}
    assert vintage_of(market, "E1", 2021)["debt_t"] == 912_300

    market.call("gd", "registry:set_obligation", "E1", 2021, 80_000, ref("E1", 2021))

    assert (vintage_of(market, "E1", 2021)["obligation_t"], vintage_of(market, "E1", 2021)["ccer_cap_t"]) == \
        (80_000 + 912_300, 49_615)
    assert market.event()[1]["debt_t"] == 912_300


def test_a_covered_negative_adjustment_is_only_clawed_back(market: Any) -> None:
    allocate(market, "E1", 2021, "PRE", 1_900_000)
    allocate(market, "E1", 2021, "FINAL", 1_000_000)  # 877,000

    assert market.event()[1]["clawed_back_t"] == 289_410
    assert record(market, "HOLD", "A-E1", "CEA21")["available_t"] == 877_000
    assert record(market, "ISS", "CEA21") == {"issued_t": 1_166_410, "clawed_back_t": 289_410}
    assert vintage_of(market, "E1", 2021)["debt_t"] == 0


def _list_vintages(market: Any, *years: int) -> None:
    for year in years:
        market.call("exchange", "admin:list_product", f"CEA{year % 100}", "CEA", year, 5000)


def test_final_allocation_takes_an_earlier_vintages_deduction_once_sc13(market: Any) -> None:
    _list_vintages(market, 2022, 2023)
    allocate(market, "E4", 2021, "PRE", 500_000, bm="BM-T")
    allocate(market, "E4", 2021, "FINAL", 500_000, bm="BM-T")
    allocate(market, "E4", 2022, "PRE", 500_000, bm="BM-T")  # 350,000
    edit_vintage(market, "E4", 2021, status="NON_COMPLIANT", shortfall_t=40_000, deduct_next_t=40_000)
    allocate(market, "E4", 2022, "FINAL", 500_000, bm="BM-T")

    assert market.event()[1] == {"entity_id": "E4", "account_id": "A-E4", "product": "CEA22", "vintage": 2022,
                                 "phase": "FINAL", "qty_t": 500_000, "adjustment_t": 150_000,
                                 "deducted_t": 40_000, "clawed_back_t": 0, "debt_t": 0}
    v2022 = vintage_of(market, "E4", 2022)
    assert (v2022["final_alloc_t"], v2022["deducted_t"], v2022["deducted_from"]) == (500_000, 40_000, {"2021": 40_000})
    assert record(market, "HOLD", "A-E4", "CEA22")["available_t"] == 460_000
    assert record(market, "ISS", "CEA22")["issued_t"] == 460_000

    allocate(market, "E4", 2023, "PRE", 100_000, bm="BM-T")
    allocate(market, "E4", 2023, "FINAL", 100_000, bm="BM-T")

    assert (vintage_of(market, "E4", 2023)["deducted_t"], vintage_of(market, "E4", 2023)["deducted_from"]) == (0, {})


def test_a_deduction_recorded_after_the_next_final_goes_to_the_following_one(market: Any) -> None:
    _list_vintages(market, 2022, 2023)
    for year in (2021, 2022):
        allocate(market, "E4", year, "PRE", 500_000, bm="BM-T")
        allocate(market, "E4", year, "FINAL", 500_000, bm="BM-T")
    edit_vintage(market, "E4", 2021, deduct_next_t=40_000)
    allocate(market, "E4", 2023, "PRE", 100_000, bm="BM-T")  # 70,000
    allocate(market, "E4", 2023, "FINAL", 100_000, bm="BM-T")  # +30,000 - 40,000: claws back 10,000

    assert vintage_of(market, "E4", 2023)["deducted_from"] == {"2021": 40_000}
    assert market.event()[1]["clawed_back_t"] == 10_000
    assert record(market, "HOLD", "A-E4", "CEA23")["available_t"] == 60_000


def test_allocation_phases_come_once_and_in_order(market: Any) -> None:
    refused(market, "ERR_CONFLICT", "gd", "registry:issue_allocation", "E1", 2021, "FINAL", "BM-SAMPLE", 1, 0, 1000,
            naming="FINAL comes after PRE")
    allocate(market, "E1", 2021, "PRE", 1_900_000)
    refused(market, "ERR_CONFLICT", "gd", "registry:issue_allocation", "E1", 2021, "PRE", "BM-SAMPLE", 1, 0, 1000,
            naming="PRE allocation")
    allocate(market, "E1", 2021, "FINAL", 2_000_000)
    refused(market, "ERR_CONFLICT", "gd", "registry:issue_allocation", "E1", 2021, "FINAL", "BM-SAMPLE", 1, 0, 1000,
            naming="FINAL allocation")


@pytest.mark.parametrize(("args", "naming"), [
    (("E9", 2021, "PRE", "BM-SAMPLE", 1, 0, 1000), "ENT"),
    (("E1", 2021, "PRE", "BM-X", 1, 0, 1000), "BM-X"),
    (("E1", 2022, "PRE", "BM-SAMPLE", 1, 0, 1000), "vintage 2022"),
])
def test_issue_allocation_needs_entity_benchmarks_and_product(market: Any, args: tuple[object, ...],
                                                              naming: str) -> None:
    refused(market, "ERR_NOT_FOUND", "gd", "registry:issue_allocation", *args, naming=naming)


@pytest.mark.parametrize(("args", "naming"), [
    (("E 1", 2021, "PRE", "BM-SAMPLE", 1, 0, 1000), "entity_id"),
    (("E1", 0, "PRE", "BM-SAMPLE", 1, 0, 1000), "vintage"),
    (("E1", 2021, "MID", "BM-SAMPLE", 1, 0, 1000), "phase"),
    (("E1", 2021, "PRE", "", 1, 0, 1000), "benchmark_set"),
    (("E1", 2021, "PRE", "BM-SAMPLE", -1, 0, 1000), "supply_mwh"),
    (("E1", 2021, "PRE", "BM-SAMPLE", 1, -1, 1000), "heat_gj"),
    (("E1", 2021, "PRE", "BM-SAMPLE", 1, 0, 0), "cf_permille"),
    (("E1", 2021, "PRE", "BM-SAMPLE", 1.5, 0, 1000), "supply_mwh"),
])
def test_issue_allocation_refuses_invalid_arguments(market: Any, args: tuple[object, ...], naming: str) -> None:
    refused(market, "ERR_INVALID_ARGUMENT", "gd", "registry:issue_allocation", *args, naming=naming)


UNAUTHORIZED = [("verifier", "VerifierMSP"),  # SC-06
                ("sd", "needs ProvGDMSP province_officer"), ("gd_as_sd", "province SD may not act for GD"),
                ("gd_dept", "dept_officer"), ("regulator", "MEEMSP"), ("registry", "RegistryMSP"),
                ("auditor", "AuditMSP"), ("E1", "EmitterMSP")]


@pytest.mark.parametrize(("who", "naming"), UNAUTHORIZED)
def test_only_an_officer_of_the_entitys_province_allocates(market: Any, who: str, naming: str) -> None:
    refused(market, "ERR_UNAUTHORIZED", who, "registry:issue_allocation", "E1", 2021, "PRE", "BM-SAMPLE", 1, 0, 1000,
            naming=naming)


# ----- registry.set_obligation -------------------------------------------------------------


@pytest.mark.parametrize(("entity", "final_mwh", "verified", "obligation", "ccer_cap"), [
    ("E5", 1_000_000, 1_300_000, 1_260_000, 63_000),
    ("E6", 400_000, 430_000, 400_000, 20_000),
    ("E7", 1_000_000, 1_200_000, 1_200_000, 60_000),
])
def test_set_obligation_gap_cap_and_gas_exemption_sc14(market: Any, entity: str, final_mwh: int, verified: int,
                                                       obligation: int, ccer_cap: int) -> None:
    allocate(market, entity, 2021, "PRE", final_mwh, bm="BM-T")
    allocate(market, entity, 2021, "FINAL", final_mwh, bm="BM-T")
    market.call(OFFICER[entity], "registry:set_obligation", entity, 2021, verified, ref(entity, 2021))

    record_2021 = vintage_of(market, entity, 2021)
    assert (record_2021["final_alloc_t"], record_2021["obligation_t"], record_2021["ccer_cap_t"]) == \
        (final_mwh, obligation, ccer_cap)


def test_set_obligation_needs_the_final_allocation_and_a_period(market: Any) -> None:
    refused(market, "ERR_CONFLICT", "gd", "registry:set_obligation", "E1", 2021, 1, ref("E1", 2021),
            naming="no FINAL allocation")
    allocate(market, "E1", 2021, "PRE", 1_900_000)
    refused(market, "ERR_CONFLICT", "gd", "registry:set_obligation", "E1", 2021, 1, ref("E1", 2021),
            naming="no FINAL allocation")
    _list_vintages(market, 2025)
    allocate(market, "E1", 2025, "PRE", 1000)
    allocate(market, "E1", 2025, "FINAL", 1000)
    refused(market, "ERR_NOT_FOUND", "gd", "registry:set_obligation", "E1", 2025, 1, ref("E1", 2025),
            naming="vintage 2025")
    refused(market, "ERR_NOT_FOUND", "gd", "registry:set_obligation", "E3", 2021, 1, ref("E3", 2021), naming="ENT")


def test_set_obligation_again_for_a_corrected_report_until_surrender(market: Any) -> None:
    allocate(market, "E1", 2021, "PRE", 1_900_000)
    allocate(market, "E1", 2021, "FINAL", 2_000_000)
    market.call("gd", "registry:set_obligation", "E1", 2021, 1_850_000, ref("E1", 2021))
    market.call("gd", "registry:set_obligation", "E1", 2021, 1_800_000, ref("E1", 2021, 2))

    assert (vintage_of(market, "E1", 2021)["obligation_t"], vintage_of(market, "E1", 2021)["report_ref"]) == \
        (1_800_000, ref("E1", 2021, 2))
    edit_vintage(market, "E1", 2021, surrendered_ccer_t=1)
    refused(market, "ERR_CONFLICT", "gd", "registry:set_obligation", "E1", 2021, 1_850_000, ref("E1", 2021, 3),
            naming="1 t surrendered")
    edit_vintage(market, "E1", 2021, surrendered_ccer_t=0, status="NON_COMPLIANT")
    refused(market, "ERR_CONFLICT", "gd", "registry:set_obligation", "E1", 2021, 1_850_000, ref("E1", 2021, 3),
            naming="NON_COMPLIANT")


@pytest.mark.parametrize(("args", "naming"), [
    (("E1", 2021, 1, f"AR~E1~2021~v1:{HASH}"), "report_ref"),
    (("E1", 2021, 1, f"mrv:AR~E1~2021~v1:{HASH[:-1]}"), "report_ref"),
    (("E1", 2021, 1, f"mrv:AR~E1~2021~v1:{HASH.upper()}"), "report_ref"),
    (("E1", 2021, 1, f"mrv:AR~E1~2021~v0:{HASH}"), "report_ref"),
    (("E1", 2021, 1, f"mrv:AR~E2~2021~v1:{HASH}"), "report of E1 for 2021"),
    (("E1", 2021, 1, f"mrv:AR~E1~2022~v1:{HASH}"), "report of E1 for 2021"),
    (("E1", 2021, -1, ref("E1", 2021)), "verified_emissions_t"),
    (("E1", 0, 1, ref("E1", 2021)), "vintage"),
    (("E1~", 2021, 1, ref("E1", 2021)), "entity_id"),
])
def test_set_obligation_refuses_invalid_arguments(market: Any, args: tuple[object, ...], naming: str) -> None:
    refused(market, "ERR_INVALID_ARGUMENT", "gd", "registry:set_obligation", *args, naming=naming)


@pytest.mark.parametrize(("who", "naming"), UNAUTHORIZED)
def test_only_an_officer_of_the_entitys_province_sets_obligations(market: Any, who: str, naming: str) -> None:
    allocate(market, "E1", 2021, "PRE", 1_900_000)
    allocate(market, "E1", 2021, "FINAL", 2_000_000)
    refused(market, "ERR_UNAUTHORIZED", who, "registry:set_obligation", "E1", 2021, 1_850_000, ref("E1", 2021),
            naming=naming)
