"""query.get_account, query.get_holdings, query.get_entity (DOMAIN.md §2.3, §5.3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.chaincode.trading.market import (
    open_accounts,
    open_market,
    refused,
    with_strangers,
)

pytestmark = pytest.mark.unit

ACCOUNT = {"account_id": "A-E1", "entity_id": "E1", "status": "ACTIVE", "opened_at": "2023-04-01T09:00:00+08:00"}


@pytest.fixture
def market(trading: Any) -> Any:
    """A-E1 with 300,000,000 fen, 1,166,410 t CEA21 (PRE 2021) of which 10 t frozen, 50,000 t CCER."""
    open_market(trading)
    open_accounts(trading, "E1", "E2", "E4")
    trading.call("bank", "settlement:deposit", "A-E1", 300_000_000, "R1")
    trading.call("gd", "registry:issue_allocation", "E1", 2021, "PRE", "BM-SAMPLE", 1_900_000, 0, 1000)
    trading.call("gd", "registry:freeze", "A-E1", "CEA21", 10, "check")
    trading.call("registry", "registry:import_ccer", "B1", "A-E1", "PRJ-7", False, 50_000, 2019)
    return with_strangers(trading)


# ----- query.get_account --------------------------------------------------------------------


@pytest.mark.parametrize("who", ["regulator", "registry", "exchange", "bank", "E1"])
def test_get_account_with_funds(market: Any, who: str) -> None:
    assert market.call(who, "query:get_account", "A-E1") == {
        **ACCOUNT, "funds": {"available_fen": 300_000_000, "frozen_fen": 0}}


def test_the_entitys_province_gets_the_account_without_funds(market: Any) -> None:
    assert market.call("gd", "query:get_account", "A-E1") == ACCOUNT


@pytest.mark.parametrize(("who", "naming"), [
    ("E2", "emitter E2 may not read the records of E1"), ("sd", "needs ProvGDMSP"),
    ("gd_as_sd", "province SD may not act for GD"), ("auditor", "AuditMSP"), ("verifier", "VerifierMSP"),
    ("mee_setter", "standard_setter"), ("bank_no_role", "BankMSP without a role"),
])
def test_get_account_refuses_other_readers(market: Any, who: str, naming: str) -> None:
    refused(market, "ERR_UNAUTHORIZED", who, "query:get_account", "A-E1", naming=naming)


def test_get_account_of_an_unknown_account(market: Any) -> None:
    refused(market, "ERR_NOT_FOUND", "regulator", "query:get_account", "A-E9", naming="A-E9")
    refused(market, "ERR_INVALID_ARGUMENT", "regulator", "query:get_account", "A E9", naming="account_id")


# ----- query.get_holdings -------------------------------------------------------------------


@pytest.mark.parametrize("who", ["regulator", "gd", "registry", "exchange", "E1"])
def test_get_holdings_lists_every_product(market: Any, who: str) -> None:
    assert market.call(who, "query:get_holdings", "A-E1") == {"account_id": "A-E1", "holdings": {
        "CCER": {"available_t": 50_000, "frozen_t": 0},
        "CEA21": {"available_t": 1_166_400, "frozen_t": 10, "regulatory_frozen_t": 10}}}


def test_get_holdings_of_an_account_that_holds_nothing(market: Any) -> None:
    assert market.call("E2", "query:get_holdings", "A-E2") == {"account_id": "A-E2", "holdings": {}}


@pytest.mark.parametrize("who", ["E2", "sd", "bank", "auditor", "verifier"])
def test_get_holdings_refuses_other_readers(market: Any, who: str) -> None:
    refused(market, "ERR_UNAUTHORIZED", who, "query:get_holdings", "A-E1")


def test_get_holdings_of_an_unknown_account(market: Any) -> None:
    refused(market, "ERR_NOT_FOUND", "exchange", "query:get_holdings", "A-E9", naming="A-E9")


# ----- query.get_entity ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["regulator", "gd", "registry", "exchange", "E1"])
def test_get_entity_without_the_anchor_count(market: Any, who: str) -> None:
    entity = market.call(who, "query:get_entity", "E1")

    assert "touched" not in entity  # the freeze touched ENT~E1
    assert {k: v for k, v in entity.items() if k != "vintages"} == {
        "entity_id": "E1", "name": "Dongfang Power", "province": "GD", "unit_type": "COAL_GT300", "account_id": "A-E1"}
    assert entity["vintages"]["2021"]["pre_alloc_t"] == 1_166_410


def test_the_sd_officer_reads_sd_entities(market: Any) -> None:
    assert market.call("sd", "query:get_entity", "E4")["province"] == "SD"
    refused(market, "ERR_UNAUTHORIZED", "gd", "query:get_entity", "E4", naming="needs ProvSDMSP")


@pytest.mark.parametrize("who", ["E2", "sd", "bank", "auditor", "verifier"])
def test_get_entity_refuses_other_readers(market: Any, who: str) -> None:
    refused(market, "ERR_UNAUTHORIZED", who, "query:get_entity", "E1")


def test_get_entity_of_an_unknown_entity(market: Any) -> None:
    refused(market, "ERR_NOT_FOUND", "regulator", "query:get_entity", "E9", naming="E9")
