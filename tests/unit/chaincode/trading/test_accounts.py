"""registry.open_account, registry.import_ccer, registry.freeze, registry.unfreeze (DOMAIN.md §5.3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.chaincode.trading.market import (
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

OPEN = ("A-E1", "E1", "Dongfang Power", "GD", "COAL_GT300")


@pytest.fixture
def market(trading: Any) -> Any:
    open_market(trading)
    return with_strangers(trading)


@pytest.fixture
def e1(market: Any) -> Any:
    """E1's account A-E1 holding 100,000 t CCER (batch B0)."""
    open_accounts(market, "E1")
    market.call("registry", "registry:import_ccer", "B0", "A-E1", "P0", False, 100_000, 2020, at=SETUP_AT)
    return market


# ----- registry.open_account ---------------------------------------------------------------


def test_open_account_writes_account_entity_and_funds_with_their_policies(market: Any) -> None:
    market.call("registry", "registry:open_account", *OPEN, at="2023-04-20T10:00")

    assert record(market, "ACCT", "A-E1") == {"account_id": "A-E1", "entity_id": "E1", "status": "ACTIVE",
                                              "opened_at": "2023-04-20T10:00:00+08:00"}
    assert record(market, "ENT", "E1") == {"entity_id": "E1", "name": "Dongfang Power", "province": "GD",
                                           "unit_type": "COAL_GT300", "account_id": "A-E1", "vintages": {}}
    assert record(market, "FUND", "A-E1") == {"available_fen": 0, "frozen_fen": 0}
    assert policy_of(market, "ENT", "E1") == peers("RegistryMSP", "ProvGDMSP")
    assert policy_of(market, "FUND", "A-E1") == peers("RegistryMSP", "BankMSP")
    assert key("ACCT", "A-E1") not in market.ledger.policies
    assert record(market, "PROV", "GD")["touched"] == 1  # the province endorses
    assert market.event() == ("AccountOpened", {"account_id": "A-E1", "entity_id": "E1", "province": "GD",
                                                "unit_type": "COAL_GT300"})


def test_open_account_in_another_province_needs_that_province(market: Any) -> None:
    market.call("registry", "registry:open_account", "A-E4", "E4", "Jinan Heat", "SD", "COAL_LE300")

    assert policy_of(market, "ENT", "E4") == peers("RegistryMSP", "ProvSDMSP")
    assert record(market, "PROV", "SD")["touched"] == 1
    assert "touched" not in record(market, "PROV", "GD")


def test_open_account_one_account_per_entity_and_per_id(market: Any) -> None:
    market.call("registry", "registry:open_account", *OPEN)
    refused(market, "ERR_CONFLICT", "registry", "registry:open_account", "A-E1b", "E1", "Dongfang Power", "GD",
            "COAL_GT300", naming="E1 already has account A-E1")
    refused(market, "ERR_CONFLICT", "registry", "registry:open_account", "A-E1", "E2", "Nanhai Thermal", "GD",
            "COAL_GT300", naming="A-E1")


def test_open_account_needs_the_province_anchor_of_an_open_period(trading: Any) -> None:
    refused(trading, "ERR_NOT_FOUND", "registry", "registry:open_account", *OPEN, naming="PROV")


@pytest.mark.parametrize(("args", "naming"), [
    (("A E1", "E1", "Dongfang Power", "GD", "COAL_GT300"), "account_id"),
    (("A-E1", "", "Dongfang Power", "GD", "COAL_GT300"), "entity_id"),
    (("A-E1", "E1", "  ", "GD", "COAL_GT300"), "name"),
    (("A-E1", "E1", "x" * 257, "GD", "COAL_GT300"), "name"),
    (("A-E1", "E1", "Dongfang Power", "BJ", "COAL_GT300"), "province"),
    (("A-E1", "E1", "Dongfang Power", "GD", "OIL"), "unit_type"),
])
def test_open_account_refuses_invalid_arguments(market: Any, args: tuple[str, ...], naming: str) -> None:
    refused(market, "ERR_INVALID_ARGUMENT", "registry", "registry:open_account", *args, naming=naming)


@pytest.mark.parametrize("who", ["regulator", "gd", "exchange", "bank", "auditor", "E1", "registry_exchanger"])
def test_only_the_registry_operator_opens_accounts(market: Any, who: str) -> None:
    refused(market, "ERR_UNAUTHORIZED", who, "registry:open_account", *OPEN, naming="RegistryMSP registry_operator")


# ----- registry.import_ccer ------------------------------------------------------------------


def test_import_ccer_books_the_batch_onto_the_account_sc01_step10(market: Any) -> None:
    open_accounts(market, "E1")
    market.call("registry", "registry:import_ccer", "B1", "A-E1", "PRJ-7", False, 50_000, 2019,
                at="2023-09-10T10:00")

    assert record(market, "CCERB", "B1") == {"batch_id": "B1", "account_id": "A-E1", "project_id": "PRJ-7",
                                             "covered_project": False, "issued_t": 50_000, "available_t": 50_000,
                                             "vintage_year": 2019}
    assert record(market, "HOLD", "A-E1", "CCER") == {"available_t": 50_000, "frozen_t": 0}
    assert record(market, "ISS", "CCER") == {"issued_t": 50_000, "clawed_back_t": 0}
    assert record(market, "CFG", "period", "CP2021-2022")["touched"] == 1  # MEE endorses
    assert market.event() == ("CCERIssued", {"batch_id": "B1", "account_id": "A-E1", "project_id": "PRJ-7",
                                             "covered_project": False, "qty_t": 50_000, "vintage_year": 2019})


def test_import_ccer_adds_up_and_touches_the_newest_period(market: Any) -> None:
    open_accounts(market, "E1")
    market.call("regulator", "admin:init_period", "CP2023-2024", json.dumps({**PERIOD, "vintages": [2023, 2024]}))
    market.call("registry", "registry:import_ccer", "B1", "A-E1", "PRJ-7", False, 50_000, 2019)
    market.call("registry", "registry:import_ccer", "B2", "A-E1", "PRJ-8", True, 20_000, 2021)

    assert record(market, "HOLD", "A-E1", "CCER") == {"available_t": 70_000, "frozen_t": 0}
    assert record(market, "ISS", "CCER") == {"issued_t": 70_000, "clawed_back_t": 0}
    assert record(market, "CCERB", "B2")["covered_project"] is True  # refused at surrender, not here
    assert record(market, "CFG", "period", "CP2023-2024")["touched"] == 2
    assert "touched" not in record(market, "CFG", "period", "CP2021-2022")


def test_import_ccer_refuses_a_known_batch_and_unknown_records(market: Any) -> None:
    open_accounts(market, "E1")
    market.call("registry", "registry:import_ccer", "B1", "A-E1", "PRJ-7", False, 50_000, 2019)
    refused(market, "ERR_CONFLICT", "registry", "registry:import_ccer", "B1", "A-E1", "PRJ-7", False, 1, 2019,
            naming="B1")
    refused(market, "ERR_NOT_FOUND", "registry", "registry:import_ccer", "B2", "A-E9", "PRJ-7", False, 1, 2019,
            naming="ACCT")


def test_import_ccer_needs_the_listed_product_and_a_period(trading: Any) -> None:
    trading.call("regulator", "admin:init_period", "CP2021-2022", json.dumps(PERIOD))
    open_accounts(trading, "E1")
    refused(trading, "ERR_NOT_FOUND", "registry", "registry:import_ccer", "B1", "A-E1", "PRJ-7", False, 1, 2019,
            naming="PRODUCT")
    trading.call("exchange", "admin:list_product", "CCER", "CCER", 0, 3000)
    del trading.ledger.state[key("CFG", "period", "CP2021-2022")]  # not reachable through the contract
    refused(trading, "ERR_NOT_FOUND", "registry", "registry:import_ccer", "B1", "A-E1", "PRJ-7", False, 1, 2019,
            naming="period")


@pytest.mark.parametrize(("args", "naming"), [
    (("B 1", "A-E1", "PRJ-7", False, 1, 2019), "batch_id"),
    (("B1", "A~E1", "PRJ-7", False, 1, 2019), "account_id"),
    (("B1", "A-E1", "", False, 1, 2019), "project_id"),
    (("B1", "A-E1", "PRJ-7", "no", 1, 2019), "covered_project"),
    (("B1", "A-E1", "PRJ-7", False, 0, 2019), "qty_t"),
    (("B1", "A-E1", "PRJ-7", False, -5, 2019), "qty_t"),
    (("B1", "A-E1", "PRJ-7", False, 1, 0), "vintage_year"),
])
def test_import_ccer_refuses_invalid_arguments(market: Any, args: tuple[object, ...], naming: str) -> None:
    open_accounts(market, "E1")
    refused(market, "ERR_INVALID_ARGUMENT", "registry", "registry:import_ccer", *args, naming=naming)


@pytest.mark.parametrize("who", ["regulator", "exchange", "auditor", "E1", "registry_exchanger"])
def test_only_the_registry_operator_imports_ccer(market: Any, who: str) -> None:
    open_accounts(market, "E1")
    refused(market, "ERR_UNAUTHORIZED", who, "registry:import_ccer", "B1", "A-E1", "PRJ-7", False, 1, 2019)


# ----- registry.freeze / registry.unfreeze ---------------------------------------------------


@pytest.mark.parametrize("who", ["regulator", "gd"])
def test_freeze_and_unfreeze_move_available_to_regulatory_frozen_and_back(e1: Any, who: str) -> None:
    e1.call(who, "registry:freeze", "A-E1", "CCER", 30_000, "court order 17")

    assert record(e1, "HOLD", "A-E1", "CCER") == {"available_t": 70_000, "frozen_t": 30_000,
                                                  "regulatory_frozen_t": 30_000}
    assert record(e1, "ENT", "E1")["touched"] == 1  # the province endorses
    assert e1.event() == ("HoldingsFrozen", {"account_id": "A-E1", "entity_id": "E1", "product": "CCER",
                                             "qty_t": 30_000, "reason": "court order 17"})

    e1.call(who, "registry:unfreeze", "A-E1", "CCER", 30_000, "order lifted")

    assert record(e1, "HOLD", "A-E1", "CCER") == {"available_t": 100_000, "frozen_t": 0, "regulatory_frozen_t": 0}
    assert record(e1, "ENT", "E1")["touched"] == 2
    assert e1.event() == ("HoldingsUnfrozen", {"account_id": "A-E1", "entity_id": "E1", "product": "CCER",
                                               "qty_t": 30_000, "reason": "order lifted"})


def test_freeze_needs_available_and_unfreeze_only_releases_regulatory_freezes(e1: Any) -> None:
    refused(e1, "ERR_INSUFFICIENT_HOLDINGS", "regulator", "registry:freeze", "A-E1", "CCER", 100_001, "r",
            naming="100000 t CCER available")
    refused(e1, "ERR_INSUFFICIENT_HOLDINGS", "regulator", "registry:freeze", "A-E1", "CEA21", 1, "r",
            naming="0 t CEA21 available")
    e1.call("regulator", "registry:freeze", "A-E1", "CCER", 10, "r")
    holding = key("HOLD", "A-E1", "CCER")  # as if an order had frozen 500 t more
    e1.ledger.state[holding] = json.dumps({"available_t": 99_490, "frozen_t": 510, "regulatory_frozen_t": 10},
                                          sort_keys=True, separators=(",", ":")).encode()
    refused(e1, "ERR_INSUFFICIENT_HOLDINGS", "gd", "registry:unfreeze", "A-E1", "CCER", 11, "r",
            naming="10 t CCER frozen by regulators")


def test_freeze_refuses_unknown_accounts_and_products(e1: Any) -> None:
    refused(e1, "ERR_NOT_FOUND", "regulator", "registry:freeze", "A-E9", "CCER", 1, "r", naming="A-E9")
    refused(e1, "ERR_NOT_FOUND", "regulator", "registry:unfreeze", "A-E1", "CEA99", 1, "r", naming="CEA99")


@pytest.mark.parametrize(("args", "naming"), [
    (("A E1", "CCER", 1, "r"), "account_id"),
    (("A-E1", "", 1, "r"), "product"),
    (("A-E1", "CCER", 0, "r"), "qty_t"),
    (("A-E1", "CCER", 1, " "), "reason"),
])
@pytest.mark.parametrize("function", ["registry:freeze", "registry:unfreeze"])
def test_freeze_refuses_invalid_arguments(e1: Any, function: str, args: tuple[object, ...], naming: str) -> None:
    refused(e1, "ERR_INVALID_ARGUMENT", "regulator", function, *args, naming=naming)


@pytest.mark.parametrize(("who", "naming"), [
    ("sd", "needs ProvGDMSP province_officer"),  # another province
    ("gd_as_sd", "province SD may not act for GD"),
    ("gd_dept", "ProvGDMSP dept_officer"),
    ("mee_setter", "MEEMSP standard_setter"),
    ("registry", "RegistryMSP"),
    ("exchange", "ExchangeMSP"),
    ("auditor", "AuditMSP"),
    ("E1", "EmitterMSP"),
])
@pytest.mark.parametrize("function", ["registry:freeze", "registry:unfreeze"])
def test_only_the_ministry_or_the_entitys_province_freezes(e1: Any, function: str, who: str, naming: str) -> None:
    e1.call("regulator", "registry:freeze", "A-E1", "CCER", 10, "r")
    refused(e1, "ERR_UNAUTHORIZED", who, function, "A-E1", "CCER", 1, "r", naming=naming)
