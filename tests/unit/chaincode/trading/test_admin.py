"""admin.init_period, admin.set_benchmarks, admin.list_product (DOMAIN.md §5.3, §6.1)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.chaincode.trading.market import (
    BM_SAMPLE,
    PERIOD,
    SETUP_AT,
    key,
    open_accounts,
    open_market,
    peers,
    policy_of,
    record,
    refused,
    with_strangers,
)

pytestmark = pytest.mark.unit

# ----- admin.init_period -----------------------------------------------------------------


def test_init_period_stores_the_config_with_defaults_and_creates_the_province_anchors(trading: Any) -> None:
    trading.call("regulator", "admin:init_period", "CP2021-2022", json.dumps(PERIOD), at=SETUP_AT)

    assert record(trading, "CFG", "period", "CP2021-2022") == {
        "period_id": "CP2021-2022", "vintages": [2021, 2022], "products": ["CEA21", "CEA22", "CCER"],
        "report_deadline": "2022-03-31T23:59+08:00", "verify_deadline": "2022-06-30T23:59+08:00",
        "surrender_deadline": "2023-12-31T17:00+08:00", "milestone95_date": "2023-11-15",
        "ccer_cap_pct": 5, "gap_cap_pct": 20, "gas_exempt": True,
        "borrowing": {"enabled": False, "min_gap_pct": 10, "max_pct_of_gap": 50, "from_product": ""},
        "holidays": []}
    assert policy_of(trading, "CFG", "period", "CP2021-2022") == peers("RegistryMSP", "MEEMSP")
    assert record(trading, "PROV", "GD") == {"code": "GD", "msp_id": "ProvGDMSP"}
    assert record(trading, "PROV", "SD") == {"code": "SD", "msp_id": "ProvSDMSP"}
    assert policy_of(trading, "PROV", "GD") == peers("RegistryMSP", "ProvGDMSP")
    assert policy_of(trading, "PROV", "SD") == peers("RegistryMSP", "ProvSDMSP")
    assert trading.event() == ("PeriodOpened", {"period_id": "CP2021-2022", "vintages": [2021, 2022],
                                                "products": ["CEA21", "CEA22", "CCER"],
                                                "provinces_created": ["GD", "SD"]})


def test_init_period_keeps_given_options_and_existing_anchors(trading: Any) -> None:
    open_market(trading)
    open_accounts(trading, "E1")  # touches PROV~GD
    params = {**PERIOD, "vintages": [2023, 2024], "ccer_cap_pct": 0, "gap_cap_pct": 100, "gas_exempt": False,
              "borrowing": {"enabled": True, "from_product": "CEA24"}, "holidays": ["2024-10-01", "2024-10-02"]}
    trading.call("regulator", "admin:init_period", "CP2023-2024", json.dumps(params))

    stored = record(trading, "CFG", "period", "CP2023-2024")
    assert (stored["ccer_cap_pct"], stored["gap_cap_pct"], stored["gas_exempt"]) == (0, 100, False)
    assert stored["borrowing"] == {"enabled": True, "min_gap_pct": 10, "max_pct_of_gap": 50, "from_product": "CEA24"}
    assert stored["holidays"] == ["2024-10-01", "2024-10-02"]
    assert record(trading, "PROV", "GD") == {"code": "GD", "msp_id": "ProvGDMSP", "touched": 1}
    assert trading.event()[1]["provinces_created"] == []


def test_init_period_refuses_a_second_opening_and_a_vintage_of_another_period(trading: Any) -> None:
    open_market(trading)
    refused(trading, "ERR_CONFLICT", "regulator", "admin:init_period", "CP2021-2022",
            json.dumps({**PERIOD, "vintages": [2030]}), naming="CP2021-2022")
    refused(trading, "ERR_CONFLICT", "regulator", "admin:init_period", "CP2022-2023",
            json.dumps({**PERIOD, "vintages": [2022, 2023]}), naming="[2022]")


@pytest.mark.parametrize(("change", "naming"), [
    ({"vintages": []}, "vintages"),
    ({"vintages": [2021, "2022"]}, "vintages[1]"),
    ({"vintages": [True]}, "vintages[0]"),
    ({"vintages": [2021, 2021]}, "vintages"),
    ({"vintages": 2021}, "vintages"),
    ({"products": ["CEA 21"]}, "products[0]"),
    ({"products": ["CCER", "CCER"]}, "products"),
    ({"report_deadline": "31/03/2022"}, "report_deadline"),
    ({"verify_deadline": 20220630}, "verify_deadline"),
    ({"verify_deadline": "2022-03-01"}, "report_deadline"),  # out of order
    ({"surrender_deadline": "2022-06-01"}, "surrender_deadline"),
    ({"milestone95_date": "2024-01-15"}, "milestone95_date"),
    ({"ccer_cap_pct": 101}, "ccer_cap_pct"),
    ({"gap_cap_pct": -1}, "gap_cap_pct"),
    ({"gap_cap_pct": 20.5}, "gap_cap_pct"),
    ({"gas_exempt": "yes"}, "gas_exempt"),
    ({"borrowing": {"enabled": True}}, "borrowing.from_product"),
    ({"borrowing": {"enabled": "no"}}, "borrowing.enabled"),
    ({"borrowing": {"min_gap_pct": 10}}, "enabled"),
    ({"borrowing": {"enabled": False, "max_pct": 50}}, "max_pct"),
    ({"borrowing": {"enabled": True, "from_product": "CEA23", "max_pct_of_gap": 150}}, "borrowing.max_pct_of_gap"),
    ({"holidays": ["2023/10/01"]}, "holidays[0]"),
    ({"holidays": ["2023-10-01", "20231002"]}, "holidays[1]"),
    ({"cap": 5}, "cap"),
])
def test_init_period_refuses_an_invalid_field_naming_it(trading: Any, change: dict[str, Any], naming: str) -> None:
    refused(trading, "ERR_INVALID_ARGUMENT", "regulator", "admin:init_period", "CP2021-2022",
            json.dumps({**PERIOD, **change}), naming=naming)


@pytest.mark.parametrize(("period_id", "params", "naming"), [
    ("CP 2021", json.dumps(PERIOD), "period_id"),
    ("CP2021-2022", "{not json", "params_json"),
    ("CP2021-2022", "[]", "params_json"),
    ("CP2021-2022", json.dumps({k: v for k, v in PERIOD.items() if k != "surrender_deadline"}), "surrender_deadline"),
])
def test_init_period_refuses_invalid_arguments(trading: Any, period_id: str, params: str, naming: str) -> None:
    refused(trading, "ERR_INVALID_ARGUMENT", "regulator", "admin:init_period", period_id, params, naming=naming)


@pytest.mark.parametrize("who", ["gd", "registry", "exchange", "auditor", "E1", "mee_setter"])
def test_only_the_ministry_regulator_opens_a_period(trading: Any, who: str) -> None:
    refused(with_strangers(trading), "ERR_UNAUTHORIZED", who, "admin:init_period", "CP2021-2022",
            json.dumps(PERIOD), naming="MEEMSP regulator")


# ----- admin.set_benchmarks ----------------------------------------------------------------


def test_set_benchmarks_stores_every_unit_type(trading: Any) -> None:
    trading.call("regulator", "admin:set_benchmarks", "BM-SAMPLE", json.dumps(BM_SAMPLE))

    assert record(trading, "BM", "BM-SAMPLE") == {"set_id": "BM-SAMPLE", "unit_types": BM_SAMPLE}
    assert policy_of(trading, "BM", "BM-SAMPLE") == peers("RegistryMSP", "MEEMSP")
    assert trading.event() == ("BenchmarksSet", {"set_id": "BM-SAMPLE",
                                                 "unit_types": ["COAL_GT300", "COAL_LE300", "COAL_UNCONV", "GAS"]})


def test_set_benchmarks_once_per_set(trading: Any) -> None:
    trading.call("regulator", "admin:set_benchmarks", "BM-SAMPLE", json.dumps(BM_SAMPLE))
    refused(trading, "ERR_CONFLICT", "regulator", "admin:set_benchmarks", "BM-SAMPLE", json.dumps(BM_SAMPLE),
            naming="BM-SAMPLE")


@pytest.mark.parametrize(("benchmarks", "naming"), [
    ({k: v for k, v in BM_SAMPLE.items() if k != "GAS"}, "GAS"),
    ({**BM_SAMPLE, "OIL": BM_SAMPLE["GAS"]}, "OIL"),
    ({**BM_SAMPLE, "GAS": {"supply_kg_per_mwh": 0, "heat_kg_per_gj": 59}}, "GAS.supply_kg_per_mwh"),
    ({**BM_SAMPLE, "GAS": {"supply_kg_per_mwh": 392, "heat_kg_per_gj": "59"}}, "GAS.heat_kg_per_gj"),
    ({**BM_SAMPLE, "GAS": {"supply_kg_per_mwh": 392}}, "heat_kg_per_gj"),
    ({**BM_SAMPLE, "GAS": {"supply_kg_per_mwh": 392, "heat_kg_per_gj": 59, "x": 1}}, "'x'"),
    ({**BM_SAMPLE, "GAS": 392}, "GAS"),
    ([], "benchmarks_json"),
])
def test_set_benchmarks_refuses_invalid_values(trading: Any, benchmarks: Any, naming: str) -> None:
    refused(trading, "ERR_INVALID_ARGUMENT", "regulator", "admin:set_benchmarks", "BM-SAMPLE",
            json.dumps(benchmarks), naming=naming)


def test_set_benchmarks_refuses_a_bad_id_and_bad_json(trading: Any) -> None:
    refused(trading, "ERR_INVALID_ARGUMENT", "regulator", "admin:set_benchmarks", "BM~1", json.dumps(BM_SAMPLE),
            naming="set_id")
    refused(trading, "ERR_INVALID_ARGUMENT", "regulator", "admin:set_benchmarks", "BM-1", "{", naming="JSON")


@pytest.mark.parametrize("who", ["sd", "registry", "auditor", "mee_setter"])
def test_only_the_ministry_regulator_sets_benchmarks(trading: Any, who: str) -> None:
    refused(with_strangers(trading), "ERR_UNAUTHORIZED", who, "admin:set_benchmarks", "BM-SAMPLE",
            json.dumps(BM_SAMPLE))


# ----- admin.list_product ------------------------------------------------------------------


def test_list_product_opens_the_product_and_its_books(trading: Any) -> None:
    trading.call("exchange", "admin:list_product", "CEA21", "CEA", 2021, 4900)

    assert record(trading, "PRODUCT", "CEA21") == {
        "code": "CEA21", "kind": "CEA", "vintage": 2021, "status": "LISTED", "ref_price_fen": 4900,
        "prev_close_fen": 4900, "last_trade_date": ""}
    assert policy_of(trading, "PRODUCT", "CEA21") == peers("RegistryMSP", "ExchangeMSP")
    assert record(trading, "ISS", "CEA21") == {"issued_t": 0, "clawed_back_t": 0}
    assert record(trading, "RET", "CEA21") == {"retired_t": 0, "cancelled_t": 0}
    assert key("ISS", "CEA21") not in trading.ledger.policies  # chaincode-level
    assert trading.event() == ("ProductListed", {"code": "CEA21", "kind": "CEA", "vintage": 2021,
                                                 "ref_price_fen": 4900})


@pytest.mark.parametrize("vintage", [0, ""])
def test_list_product_ccer_has_vintage_0(trading: Any, vintage: object) -> None:
    trading.call("exchange", "admin:list_product", "CCER", "CCER", vintage, 3000)

    assert record(trading, "PRODUCT", "CCER")["vintage"] == 0
    assert record(trading, "ISS", "CCER") == {"issued_t": 0, "clawed_back_t": 0}


def test_list_product_once_per_code_and_per_vintage(trading: Any) -> None:
    trading.call("exchange", "admin:list_product", "CEA21", "CEA", 2021, 4900)
    refused(trading, "ERR_CONFLICT", "exchange", "admin:list_product", "CEA21", "CEA", 2022, 4900, naming="CEA21")
    refused(trading, "ERR_CONFLICT", "exchange", "admin:list_product", "CEA-2021", "CEA", 2021, 4900,
            naming="vintage 2021")


@pytest.mark.parametrize(("args", "naming"), [
    (("CEA 21", "CEA", 2021, 4900), "code"),
    (("CEA21", "VER", 2021, 4900), "kind"),
    (("CEA21", "CEA", "", 4900), "vintage"),
    (("CEA21", "CEA", 0, 4900), "vintage"),
    (("CEA21", "CEA", "2021a", 4900), "vintage"),
    (("CCER", "CCER", 2021, 3000), "vintage"),
    (("CCER-1", "CCER", 0, 3000), "code"),
    (("CCER", "CEA", 2021, 3000), "CCER"),
    (("CEA21", "CEA", 2021, 0), "ref_price_fen"),
    (("CEA21", "CEA", 2021, 49.5), "ref_price_fen"),
])
def test_list_product_refuses_invalid_arguments(trading: Any, args: tuple[object, ...], naming: str) -> None:
    refused(trading, "ERR_INVALID_ARGUMENT", "exchange", "admin:list_product", *args, naming=naming)


@pytest.mark.parametrize("who", ["regulator", "registry", "auditor", "E1", "exchange_registrar"])
def test_only_the_exchange_operator_lists_products(trading: Any, who: str) -> None:
    refused(with_strangers(trading), "ERR_UNAUTHORIZED", who, "admin:list_product", "CEA21", "CEA", 2021, 4900,
            naming="ExchangeMSP exchange_operator")
