"""query.get_account, query.get_holdings, query.get_entity, query.get_book, query.market_day
(DOMAIN.md §2.3, §5.3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.chaincode.trading.market import (
    before_trading,
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


# ----- query.get_book and query.market_day: market data -------------------------------------

T = "2023-09-05"  # a Tuesday
MARKET_DATA_READERS = ["regulator", "gd", "sd", "registry", "exchange", "bank", "auditor", "E3"]


def level(price_fen: int, remaining_t: int, orders: int) -> dict[str, int]:
    return {"price_fen": price_fen, "remaining_t": remaining_t, "orders": orders}


@pytest.fixture
def book(trading: Any) -> Any:
    """SC-01 before trading, then on T: E2 lists SELL S1-S7 at six prices (S1 and S2 both
    at 5,000), E1 lists BUY B1-B3 (B1 and B3 at 4,800); E1 takes 400 t of S3 (4,950)
    and all of S5 (5,200); E2 cancels S6 (5,300)."""
    market = before_trading(trading)
    for order_id, qty, price in (("S1", 1_000, 5_000), ("S2", 2_000, 5_000), ("S3", 500, 4_950), ("S4", 300, 5_100),
                                 ("S5", 100, 5_200), ("S6", 100, 5_300), ("S7", 100, 5_390)):
        market.call("E2", "exchange:post_listing", order_id, "A-E2", "SELL", "CEA21", qty, price, at=f"{T}T10:15")
    for order_id, qty, price in (("B1", 1_000, 4_800), ("B2", 2_000, 4_900), ("B3", 500, 4_800)):
        market.call("E1", "exchange:post_listing", order_id, "A-E1", "BUY", "CEA21", qty, price, at=f"{T}T10:15")
    market.call("E1", "exchange:take_listing", "T1", "S3", "A-E1", 400, at=f"{T}T10:30")
    market.call("E1", "exchange:take_listing", "T2", "S5", "A-E1", 100, at=f"{T}T10:31")
    market.call("E2", "exchange:cancel_order", "S6", at=f"{T}T10:45")
    return market


@pytest.mark.parametrize("who", MARKET_DATA_READERS)
def test_get_book_gives_the_levels_of_each_side(book: Any, who: str) -> None:
    assert book.call(who, "query:get_book", "CEA21", at=f"{T}T11:00") == {
        "product": "CEA21",
        "SELL": [level(4_950, 100, 1), level(5_000, 3_000, 2), level(5_100, 300, 1), level(5_390, 100, 1)],
        "BUY": [level(4_900, 2_000, 1), level(4_800, 1_500, 2)]}


def test_get_book_keeps_the_best_five_levels(book: Any) -> None:
    for order_id, price in (("S8", 5_350), ("S9", 5_380)):
        book.call("E2", "exchange:post_listing", order_id, "A-E2", "SELL", "CEA21", 10, price, at=f"{T}T11:00")
    for order_id, price in (("B4", 4_410), ("B5", 4_500), ("B6", 4_600), ("B7", 4_700)):
        book.call("E1", "exchange:post_listing", order_id, "A-E1", "BUY", "CEA21", 10, price, at=f"{T}T11:00")

    levels = book.call("exchange", "query:get_book", "CEA21", at=f"{T}T11:05")

    assert [lv["price_fen"] for lv in levels["SELL"]] == [4_950, 5_000, 5_100, 5_350, 5_380]  # not 5,390
    assert [lv["price_fen"] for lv in levels["BUY"]] == [4_900, 4_800, 4_700, 4_600, 4_500]  # not 4,410


def test_get_book_of_a_product_without_listings(book: Any) -> None:
    assert book.call("auditor", "query:get_book", "CCER") == {"product": "CCER", "SELL": [], "BUY": []}


def test_the_book_empties_at_settlement(book: Any) -> None:
    book.call("exchange", "settlement:settle_day", T, at=f"{T}T15:30")

    assert book.call("E1", "query:get_book", "CEA21", at=f"{T}T16:00") == {"product": "CEA21", "SELL": [], "BUY": []}


@pytest.mark.parametrize(("who", "naming"), [("verifier", "VerifierMSP"), ("mee_setter", "standard_setter"),
                                             ("gd_dept", "dept_officer"), ("bank_no_role", "BankMSP without a role")])
def test_get_book_refuses_non_members(book: Any, who: str, naming: str) -> None:
    refused(book, "ERR_UNAUTHORIZED", who, "query:get_book", "CEA21", naming=naming)


def test_get_book_of_an_unknown_product(book: Any) -> None:
    refused(book, "ERR_NOT_FOUND", "exchange", "query:get_book", "CEA99", naming="CEA99")
    refused(book, "ERR_INVALID_ARGUMENT", "exchange", "query:get_book", "CEA 21", naming="product")


@pytest.mark.parametrize("who", MARKET_DATA_READERS)
def test_market_day_of_a_settled_day(book: Any, who: str) -> None:
    book.call("exchange", "settlement:settle_day", T, at=f"{T}T15:30")

    # listing trades 400 t at 4,950 and 100 t at 5,200: vwap (1,980,000 + 520,000) / 500
    assert book.call(who, "query:market_day", "CEA21", T, at=f"{T}T16:00") == {
        "product": "CEA21", "date": T, "open_fen": 4_950, "close_fen": 5_000, "vwap_fen": 5_000, "volume_t": 500,
        "settled": True}
    assert book.call(who, "query:market_day", "CCER", T, at=f"{T}T16:00") == {
        "product": "CCER", "date": T, "open_fen": 3_000, "close_fen": 3_000, "vwap_fen": 3_000, "volume_t": 0,
        "settled": True}


def test_market_day_before_settlement(book: Any) -> None:
    refused(book, "ERR_NOT_FOUND", "regulator", "query:market_day", "CEA21", T, at=f"{T}T14:00", naming=T)
    refused(book, "ERR_NOT_FOUND", "regulator", "query:market_day", "CEA99", T, at=f"{T}T14:00", naming="CEA99")


def test_market_day_checks_its_arguments_and_caller(book: Any) -> None:
    refused(book, "ERR_INVALID_ARGUMENT", "regulator", "query:market_day", "CEA21", "2023-9-5", naming="date")
    refused(book, "ERR_INVALID_ARGUMENT", "regulator", "query:market_day", "CEA 21", T, naming="product")
    refused(book, "ERR_UNAUTHORIZED", "verifier", "query:market_day", "CEA21", T, naming="VerifierMSP")


# ----- query.records ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["regulator", "registry"])
def test_records_lists_every_record_of_a_kind(market: Any, who: str) -> None:
    holdings = market.call(who, "query:records", "HOLD")
    assert [(h["key"], h["record"]["available_t"], h["record"]["frozen_t"]) for h in holdings] == [
        (["A-E1", "CCER"], 50_000, 0), (["A-E1", "CEA21"], 1_166_400, 10)]
    assert [a["key"] for a in market.call(who, "query:records", "ACCT")] == [["A-E1"], ["A-E2"], ["A-E4"]]
    assert market.call(who, "query:records", "TRD") == []


@pytest.mark.parametrize(("who", "naming"), [
    ("exchange", "ExchangeMSP"), ("bank", "BankMSP"), ("gd", "ProvGDMSP"), ("E1", "EmitterMSP"),
    ("auditor", "AuditMSP"), ("mee_setter", "standard_setter"),
])
def test_records_are_for_the_regulator_and_the_registry(market: Any, who: str, naming: str) -> None:
    refused(market, "ERR_UNAUTHORIZED", who, "query:records", "HOLD", naming=naming)


def test_records_of_an_unknown_kind(market: Any) -> None:
    refused(market, "ERR_INVALID_ARGUMENT", "regulator", "query:records", "AR", naming="kind")
