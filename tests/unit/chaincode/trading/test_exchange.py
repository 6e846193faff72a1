"""exchange.post_listing, take_listing, propose_block, accept_block, cancel_order (DOMAIN.md
§3.4, §5.3; SC-01 step 8, SC-02, SC-03, SC-04, SC-05, SC-06; invariants I1-I5, I9), on
a ledger that only the chaincode's own functions wrote."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from tests.unit.chaincode.trading.market import (
    REF,
    allocate,
    before_trading,
    check_invariants,
    key,
    open_accounts,
    peers,
    policy_of,
    record,
    records,
    refused,
)

pytestmark = pytest.mark.unit

T, T1 = "2023-09-05", "2023-09-06"  # a Tuesday and the Wednesday after


@pytest.fixture
def market(trading: Any) -> Any:
    """SC-01 before step 8: A-E1 1,754,000 t CEA21 and 300,000,000 fen; A-E2 1,227,800 t;
    A-E3 nothing. CEA21's previous close is 4,900 fen."""
    return before_trading(trading)


def hold(trading: Any, account: str, product: str = "CEA21") -> tuple[int, int]:
    holding = record(trading, "HOLD", account, product)
    return holding["available_t"], holding["frozen_t"]


def funds(trading: Any, account: str) -> tuple[int, int]:
    money = record(trading, "FUND", account)
    return money["available_fen"], money["frozen_fen"]


def written(trading: Any) -> set[str]:
    """The keys the last transaction wrote."""
    return set(trading.ledger.last.writes)


def sell(trading: Any, order_id: str, qty: int, price: int, at: str = f"{T}T10:00", who: str = "E2") -> Any:
    return trading.call(who, "exchange:post_listing", order_id, f"A-{who}", "SELL", "CEA21", qty, price, at=at)


def buy(trading: Any, order_id: str, qty: int, price: int, at: str = f"{T}T10:00", who: str = "E1") -> Any:
    return trading.call(who, "exchange:post_listing", order_id, f"A-{who}", "BUY", "CEA21", qty, price, at=at)


def take(trading: Any, order_id: str, listing_id: str, who: str, qty: int, at: str = f"{T}T10:30") -> Any:
    return trading.call(who, "exchange:take_listing", order_id, listing_id, f"A-{who}", qty, at=at)


def settle(trading: Any, date: str = T) -> Any:
    return trading.call("exchange", "settlement:settle_day", date, at=f"{date}T15:30")


# ----- exchange.post_listing ----------------------------------------------------------------


def test_a_sell_listing_freezes_holdings_sc01_step8(market: Any) -> None:
    order = sell(market, "O1", 46_000, 5_000, at=f"{T}T10:15")

    expected = {"order_id": "O1", "mode": "LISTING", "side": "SELL", "account_id": "A-E2", "product": "CEA21",
                "qty_t": 46_000, "remaining_t": 46_000, "price_fen": 5_000, "counterparty_account": "",
                "status": "OPEN", "trade_date": T, "posted_at": f"{T}T10:15:00+08:00"}
    assert order == expected
    assert record(market, "ORD", "O1") == expected
    assert hold(market, "A-E2") == (1_181_800, 46_000)
    assert record(market, "BOOK", "CEA21", "SELL", "O1") == {"price_fen": 5_000, "posted_at": f"{T}T10:15:00+08:00"}
    assert record(market, "OPENORD", T, "O1") == {"product": "CEA21", "mode": "LISTING"}
    product = record(market, "PRODUCT", "CEA21")
    assert (product["touched"], product["unsettled_date"]) == (1, T)
    assert policy_of(market, "PRODUCT", "CEA21") == peers("RegistryMSP", "ExchangeMSP")  # the exchange endorses
    assert key("FUND", "A-E2") not in written(market)  # no money moves: the bank need not endorse
    assert market.event() == ("OrderPosted", {"order_id": "O1", "account_id": "A-E2", "mode": "LISTING",
                                              "side": "SELL", "product": "CEA21", "qty_t": 46_000,
                                              "price_fen": 5_000})
    check_invariants(market)


def test_a_buy_listing_freezes_its_price_and_needs_the_bank(market: Any) -> None:
    buy(market, "B1", 10_000, 5_000)

    assert funds(market, "A-E1") == (250_000_000, 50_000_000)
    assert key("FUND", "A-E1") in written(market)
    assert policy_of(market, "FUND", "A-E1") == peers("RegistryMSP", "BankMSP")
    refused(market, "ERR_INSUFFICIENT_FUNDS", "E1", "exchange:post_listing", "B2", "A-E1", "BUY", "CEA21", 50_001,
            5_000, at=f"{T}T10:00", naming="250000000 fen available")
    buy(market, "B2", 50_000, 5_000)
    assert funds(market, "A-E1") == (0, 300_000_000)
    check_invariants(market)


def test_listing_quantity_and_price_rules_sc02(market: Any) -> None:
    at = f"{T}T10:00"
    args = ("A-E2", "SELL", "CEA21")
    refused(market, "ERR_QTY_RULE", "E2", "exchange:post_listing", "S1", *args, 100_000, 5_000, at=at,
            naming="below 100000 t")
    refused(market, "ERR_PRICE_LIMIT", "E2", "exchange:post_listing", "S1", *args, 10_000, 5_391, at=at,
            naming="4410-5390 fen")
    refused(market, "ERR_PRICE_LIMIT", "E2", "exchange:post_listing", "S1", *args, 10_000, 4_409, at=at)
    for text in ("50.005", "5000.0", "5e3", "", "abc"):
        refused(market, "ERR_INVALID_ARGUMENT", "E2", "exchange:post_listing", "S1", *args, 10_000, text, at=at,
                naming="price_fen")
    sell(market, "S1", 10_000, 5_390, at=at)
    sell(market, "S2", 99_999, 4_410, at=at)
    sell(market, "S3", 1, 5_000, at=at)
    assert hold(market, "A-E2") == (1_227_800 - 110_000, 110_000)
    check_invariants(market)


@pytest.mark.parametrize(("args", "naming"), [
    (("O 1", "A-E2", "SELL", "CEA21", 1, 5_000), "order_id"),
    (("O1", "A-E2", "HOLD", "CEA21", 1, 5_000), "side"),
    (("O1", "A-E2", "SELL", "CEA21", 0, 5_000), "qty_t"),
    (("O1", "A-E2", "SELL", "CEA21", -5, 5_000), "qty_t"),
    (("O1", "A-E2", "SELL", "CEA21", 1, 0), "price_fen"),
])
def test_post_listing_refuses_invalid_arguments(market: Any, args: tuple[object, ...], naming: str) -> None:
    refused(market, "ERR_INVALID_ARGUMENT", "E2", "exchange:post_listing", *args, at=f"{T}T10:00", naming=naming)


@pytest.mark.parametrize(("at", "open_"), [
    (f"{T}T09:29", False), (f"{T}T09:30", True), (f"{T}T11:29", True), (f"{T}T11:30", False),
    (f"{T}T12:59", False), (f"{T}T13:00", True), (f"{T}T14:59", True), (f"{T}T15:00", False),
    ("2023-09-09T10:00", False),  # a Saturday
])
def test_listings_trade_in_the_listing_session(market: Any, at: str, open_: bool) -> None:
    if open_:
        sell(market, "S1", 10, 5_000, at=at)
    else:
        refused(market, "ERR_MARKET_CLOSED", "E2", "exchange:post_listing", "S1", "A-E2", "SELL", "CEA21", 10, 5_000,
                at=at)


def test_no_trading_on_a_holiday_of_a_period(market: Any) -> None:
    period = {"vintages": [2023], "products": [], "report_deadline": "2024-03-31", "verify_deadline": "2024-06-30",
              "surrender_deadline": "2024-12-31", "milestone95_date": "2024-11-15", "holidays": ["2023-10-02"]}
    market.call("regulator", "admin:init_period", "CP2023", json.dumps(period))
    refused(market, "ERR_MARKET_CLOSED", "E2", "exchange:post_listing", "S1", "A-E2", "SELL", "CEA21", 10, 5_000,
            at="2023-10-02T10:00", naming="not a working day")
    sell(market, "S1", 10, 5_000, at="2023-10-03T10:00")


def test_overselling_and_cancel_sc05(market: Any) -> None:
    # A-E2 available 31,800, nothing frozen (SC-01 after step 11, here by a surrender of 1,196,000).
    market.call("gd", "registry:set_obligation", "E2", 2021, 1_196_000, REF.format(entity="E2"), at="2023-07-10T11:00")
    market.call("E2", "registry:surrender", "E2", 2021, [{"product": "CEA21", "qty_t": 1_196_000}],
                at="2023-08-01T10:00")
    assert hold(market, "A-E2") == (31_800, 0)

    sell(market, "S1", 20_000, 5_000)
    refused(market, "ERR_INSUFFICIENT_HOLDINGS", "E2", "exchange:post_listing", "S2", "A-E2", "SELL", "CEA21",
            15_000, 5_000, at=f"{T}T10:05", naming="11800 t CEA21 available")
    cancelled = market.call("E2", "exchange:cancel_order", "S1", at=f"{T}T10:10")

    assert cancelled["status"] == "CANCELLED"
    assert hold(market, "A-E2") == (31_800, 0)
    assert key("BOOK", "CEA21", "SELL", "S1") not in market.ledger.state
    assert key("OPENORD", T, "S1") not in market.ledger.state
    assert market.event() == ("OrderCancelled", {"order_id": "S1", "account_id": "A-E2", "mode": "LISTING",
                                                 "side": "SELL", "product": "CEA21", "remaining_t": 20_000})
    check_invariants(market)


def test_order_ids_are_unique(market: Any) -> None:
    sell(market, "O1", 10, 5_000)
    refused(market, "ERR_CONFLICT", "E1", "exchange:post_listing", "O1", "A-E1", "BUY", "CEA21", 10, 5_000,
            at=f"{T}T10:01", naming="order O1 already exists")
    refused(market, "ERR_CONFLICT", "E1", "exchange:take_listing", "O1", "O1", "A-E1", 10, at=f"{T}T10:01")


# ----- exchange.take_listing ----------------------------------------------------------------


def test_taking_a_listing_executes_a_trade_sc01_step8(market: Any) -> None:
    sell(market, "O1", 46_000, 5_000, at=f"{T}T10:15")
    trade = take(market, "O2", "O1", "E1", 46_000, at=f"{T}T10:20")

    expected = {"trade_id": "O2", "mode": "LISTING", "product": "CEA21", "buy_account": "A-E1", "buy_order": "O2",
                "sell_account": "A-E2", "sell_order": "O1", "qty_t": 46_000, "price_fen": 5_000,
                "status": "EXECUTED", "executed_at": f"{T}T10:20:00+08:00", "seq": 2}
    assert trade == expected
    assert record(market, "TRD", T, "O2") == expected
    assert funds(market, "A-E1") == (70_000_000, 230_000_000)
    assert hold(market, "A-E1") == (1_754_000, 0)  # delivered at settlement
    assert hold(market, "A-E2") == (1_181_800, 46_000)
    assert record(market, "ORD", "O1")["status"] == "FILLED"
    assert record(market, "ORD", "O1")["remaining_t"] == 0
    assert record(market, "ORD", "O2") == {
        "order_id": "O2", "mode": "LISTING", "side": "BUY", "account_id": "A-E1", "product": "CEA21",
        "qty_t": 46_000, "remaining_t": 0, "price_fen": 5_000, "counterparty_account": "A-E2", "status": "FILLED",
        "trade_date": T, "posted_at": f"{T}T10:20:00+08:00"}
    assert not records(market, "BOOK") and not records(market, "OPENORD")
    # Registry (every transaction) + Exchange (PRODUCT~) + Bank (FUND~): SC-01 step 8.
    assert {key("PRODUCT", "CEA21"), key("FUND", "A-E1")} <= written(market)
    assert market.event() == ("TradeExecuted", {"trade_id": "O2", "mode": "LISTING", "product": "CEA21",
                                                "buy_account": "A-E1", "buy_order": "O2", "sell_account": "A-E2",
                                                "sell_order": "O1", "qty_t": 46_000, "price_fen": 5_000})
    check_invariants(market)


def test_a_listing_is_taken_in_parts(market: Any) -> None:
    open_accounts(market, "E5")
    market.call("bank", "settlement:deposit", "A-E5", 100_000_000, "BR-5")
    sell(market, "S1", 10_000, 4_800)
    take(market, "T1", "S1", "E1", 4_000)

    assert record(market, "ORD", "S1")["status"] == "PARTIAL"
    assert record(market, "ORD", "S1")["remaining_t"] == 6_000
    assert key("BOOK", "CEA21", "SELL", "S1") in market.ledger.state
    refused(market, "ERR_QTY_RULE", "E5", "exchange:take_listing", "T2", "S1", "A-E5", 6_001, at=f"{T}T10:40",
            naming="6000 t remaining")
    take(market, "T2", "S1", "E5", 6_000, at=f"{T}T10:40")

    assert record(market, "ORD", "S1")["status"] == "FILLED"
    assert key("BOOK", "CEA21", "SELL", "S1") not in market.ledger.state
    assert funds(market, "A-E5") == (100_000_000 - 28_800_000, 28_800_000)
    assert hold(market, "A-E2") == (1_217_800, 10_000)
    refused(market, "ERR_CONFLICT", "E5", "exchange:take_listing", "T3", "S1", "A-E5", 1, at=f"{T}T10:45",
            naming="FILLED")
    check_invariants(market)


def test_a_taker_sells_into_a_buy_listing(market: Any) -> None:
    buy(market, "B1", 5_000, 5_100)
    take(market, "T1", "B1", "E2", 5_000)

    assert hold(market, "A-E2") == (1_222_800, 5_000)
    assert funds(market, "A-E1") == (300_000_000 - 25_500_000, 25_500_000)
    assert record(market, "TRD", T, "T1")["sell_order"] == "T1"
    buy(market, "B2", 10, 5_000)
    refused(market, "ERR_INSUFFICIENT_HOLDINGS", "E3", "exchange:take_listing", "T2", "B2", "A-E3", 1,
            at=f"{T}T10:45", naming="A-E3 has 0 t CEA21 available")
    check_invariants(market)


def test_only_the_best_five_price_levels_may_be_taken(market: Any) -> None:
    for i, price in enumerate((5_050, 5_000, 5_040, 5_000, 5_030, 5_010, 5_020)):
        sell(market, f"S{i}", 100, price)  # six levels: 5,000 (twice) to 5,050
    refused(market, "ERR_NOT_BEST_FIVE", "E1", "exchange:take_listing", "T0", "S0", "A-E1", 100, at=f"{T}T10:30",
            naming="[5000, 5010, 5020, 5030, 5040]")
    take(market, "T2", "S2", "E1", 100)  # 5,040: the fifth level
    take(market, "T0", "S0", "E1", 100, at=f"{T}T10:31")  # 5,050 is now the fifth

    open_accounts(market, "E5")
    market.call("bank", "settlement:deposit", "A-E5", 100_000_000, "BR-5")
    for i, price in enumerate((4_500, 4_600, 4_700, 4_800, 4_900, 4_550)):
        buy(market, f"B{i}", 10, price, who="E5" if i % 2 else "E1")
    refused(market, "ERR_NOT_BEST_FIVE", "E2", "exchange:take_listing", "T9", "B0", "A-E2", 10, at=f"{T}T10:30",
            naming="[4900, 4800, 4700, 4600, 4550]")
    take(market, "T5", "B5", "E2", 10)
    check_invariants(market)


def test_no_trade_with_oneself(market: Any) -> None:
    sell(market, "S1", 100, 5_000)
    refused(market, "ERR_SELF_TRADE", "E2", "exchange:take_listing", "T1", "S1", "A-E2", 100, at=f"{T}T10:30")


def test_a_block_is_not_taken_as_a_listing(market: Any) -> None:
    market.call("E2", "exchange:propose_block", "K1", "A-E2", "A-E1", "SELL", "CEA21", 100_000, 5_000,
                at=f"{T}T13:30")
    refused(market, "ERR_CONFLICT", "E1", "exchange:take_listing", "T1", "K1", "A-E1", 100, at=f"{T}T13:31",
            naming="not a listing")
    refused(market, "ERR_NOT_FOUND", "E1", "exchange:take_listing", "T1", "S9", "A-E1", 100, at=f"{T}T13:31")


def test_a_frozen_account_does_not_trade(market: Any) -> None:
    account = record(market, "ACCT", "A-E2")
    market.ledger.state[key("ACCT", "A-E2")] = json.dumps({**account, "status": "FROZEN"}).encode()
    refused(market, "ERR_FROZEN", "E2", "exchange:post_listing", "S1", "A-E2", "SELL", "CEA21", 10, 5_000,
            at=f"{T}T10:00")


# ----- exchange.propose_block, exchange.accept_block ------------------------------------------


@pytest.fixture
def after_sc01(market: Any) -> Any:
    """SC-01 after step 9 (CEA21 closed at 5,000 on T), A-E1 topped up to 800,000,000 fen."""
    sell(market, "O1", 46_000, 5_000, at=f"{T}T10:15")
    take(market, "O2", "O1", "E1", 46_000, at=f"{T}T10:20")
    settle(market)
    market.call("bank", "settlement:deposit", "A-E1", 730_000_000, "BR-2", at=f"{T}T16:00")
    assert funds(market, "A-E1") == (800_000_000, 0)
    assert record(market, "PRODUCT", "CEA21")["prev_close_fen"] == 5_000
    return market


def test_block_trade_bands_and_session_sc03(after_sc01: Any) -> None:
    market = after_sc01
    block = ("K1", "A-E2", "A-E1", "SELL", "CEA21")
    refused(market, "ERR_QTY_RULE", "E2", "exchange:propose_block", *block, 99_999, 5_000, at=f"{T1}T13:30",
            naming="at least 100000 t")
    refused(market, "ERR_PRICE_LIMIT", "E2", "exchange:propose_block", *block, 120_000, 6_501, at=f"{T1}T13:30",
            naming="3500-6500 fen")
    refused(market, "ERR_PRICE_LIMIT", "E2", "exchange:propose_block", *block, 120_000, 3_499, at=f"{T1}T13:30")
    refused(market, "ERR_MARKET_CLOSED", "E2", "exchange:propose_block", *block, 120_000, 6_500, at=f"{T1}T10:30",
            naming="13:00-15:00")
    order = market.call("E2", "exchange:propose_block", *block, 120_000, 6_500, at=f"{T1}T13:30")

    assert order["counterparty_account"] == "A-E1"
    assert (order["mode"], order["status"], order["remaining_t"]) == ("BLOCK", "OPEN", 120_000)
    assert hold(market, "A-E2") == (1_181_800 - 120_000, 120_000)
    assert key("BOOK", "CEA21", "SELL", "K1") not in market.ledger.state  # not in the listing book
    assert record(market, "OPENORD", T1, "K1") == {"product": "CEA21", "mode": "BLOCK"}
    assert market.event() == ("BlockProposed", {"order_id": "K1", "account_id": "A-E2", "counterparty_account": "A-E1",
                                                "side": "SELL", "product": "CEA21", "qty_t": 120_000,
                                                "price_fen": 6_500})
    check_invariants(market)

    open_accounts(market, "E5")
    for who, account in (("E5", "A-E5"), ("E3", "A-E3")):  # not the named counterparty
        refused(market, "ERR_UNAUTHORIZED", who, "exchange:accept_block", "K1", account, at=f"{T1}T13:40",
                naming="offered to account A-E1")
    refused(market, "ERR_UNAUTHORIZED", "E3", "exchange:accept_block", "K1", "A-E1", at=f"{T1}T13:40",
            naming="may not act for account A-E1")
    refused(market, "ERR_MARKET_CLOSED", "E1", "exchange:accept_block", "K1", "A-E1", at=f"{T1}T15:00")
    trade = market.call("E1", "exchange:accept_block", "K1", "A-E1", at=f"{T1}T13:45")

    assert trade == {"trade_id": "K1", "mode": "BLOCK", "product": "CEA21", "buy_account": "A-E1", "buy_order": "K1",
                     "sell_account": "A-E2", "sell_order": "K1", "qty_t": 120_000, "price_fen": 6_500,
                     "status": "EXECUTED", "executed_at": f"{T1}T13:45:00+08:00", "seq": 5}
    assert market.event()[0] == "TradeExecuted"
    assert funds(market, "A-E1") == (20_000_000, 780_000_000)
    assert record(market, "ORD", "K1")["status"] == "FILLED"
    assert key("OPENORD", T1, "K1") not in market.ledger.state
    assert {key("PRODUCT", "CEA21"), key("FUND", "A-E1")} <= written(market)
    refused(market, "ERR_CONFLICT", "E1", "exchange:accept_block", "K1", "A-E1", at=f"{T1}T13:50", naming="FILLED")
    check_invariants(market)


def test_a_block_buy_is_accepted_by_a_seller(after_sc01: Any) -> None:
    market = after_sc01
    market.call("E1", "exchange:propose_block", "K1", "A-E1", "A-E2", "BUY", "CEA21", 150_000, 5_100,
                at=f"{T1}T14:00")
    assert funds(market, "A-E1") == (800_000_000 - 765_000_000, 765_000_000)
    refused(market, "ERR_CONFLICT", "E1", "exchange:take_listing", "T1", "K1", "A-E1", 1, at=f"{T1}T14:01")
    market.call("E2", "exchange:accept_block", "K1", "A-E2", at=f"{T1}T14:05")
    assert hold(market, "A-E2") == (1_181_800 - 150_000, 150_000)
    assert record(market, "TRD", T1, "K1")["sell_account"] == "A-E2"
    check_invariants(market)


def test_a_block_is_accepted_on_its_day_only(after_sc01: Any) -> None:
    market = after_sc01
    market.call("E2", "exchange:propose_block", "K1", "A-E2", "A-E1", "SELL", "CEA21", 100_000, 5_000,
                at=f"{T1}T13:30")
    refused(market, "ERR_CONFLICT", "E1", "exchange:accept_block", "K1", "A-E1", at="2023-09-07T13:30",
            naming="of 2023-09-06 may be accepted that day only")
    settle(market, T1)
    assert record(market, "ORD", "K1")["status"] == "EXPIRED"
    refused(market, "ERR_CONFLICT", "E1", "exchange:accept_block", "K1", "A-E1", at="2023-09-07T13:30",
            naming="EXPIRED")
    check_invariants(market)


def test_block_proposals_need_another_existing_account(after_sc01: Any) -> None:
    market = after_sc01
    refused(market, "ERR_SELF_TRADE", "E2", "exchange:propose_block", "K1", "A-E2", "A-E2", "SELL", "CEA21",
            100_000, 5_000, at=f"{T1}T13:30")
    refused(market, "ERR_NOT_FOUND", "E2", "exchange:propose_block", "K1", "A-E2", "A-E9", "SELL", "CEA21",
            100_000, 5_000, at=f"{T1}T13:30", naming="A-E9")
    refused(market, "ERR_INSUFFICIENT_FUNDS", "E3", "exchange:propose_block", "K1", "A-E3", "A-E2", "BUY", "CEA21",
            100_000, 5_000, at=f"{T1}T13:30")


# ----- T+1 (SC-04) ------------------------------------------------------------------------


@pytest.fixture
def sc04(market: Any) -> Any:
    """E3 with 100,000,000 fen and a 2021 obligation of 10,000 t (no allocation); a resting
    SELL listing of E2 for 10,000 t at 5,000 on day T."""
    market.call("bank", "settlement:deposit", "A-E3", 100_000_000, "BR-3", at="2023-04-20T09:00")
    allocate(market, "E3", 0, 0)
    market.call("gd", "registry:set_obligation", "E3", 2021, 50_000, REF.format(entity="E3"), at="2023-07-10T11:00")
    assert record(market, "ENT", "E3")["vintages"]["2021"]["obligation_t"] == 10_000  # gap cap: 20 % of 50,000
    sell(market, "S1", 10_000, 5_000, at=f"{T}T09:40")
    return market


def test_same_day_resale_is_refused_sc04(sc04: Any) -> None:
    market = sc04
    take(market, "T1", "S1", "E3", 10_000, at=f"{T}T10:00")
    refused(market, "ERR_T1_RESTRICTION", "E3", "exchange:post_listing", "S2", "A-E3", "SELL", "CEA21", 10_000,
            5_000, at=f"{T}T14:00", naming="10000 t bought today")
    refused(market, "ERR_INSUFFICIENT_HOLDINGS", "E3", "exchange:post_listing", "S2", "A-E3", "SELL", "CEA21",
            10_001, 5_000, at=f"{T}T14:00")  # more than it bought
    refused(market, "ERR_INSUFFICIENT_HOLDINGS", "E3", "registry:surrender", "E3", 2021,
            [{"product": "CEA21", "qty_t": 10_000}], at=f"{T}T14:00", naming="0 t CEA21 available")

    settle(market)
    order = market.call("E3", "exchange:post_listing", "S2", "A-E3", "SELL", "CEA21", 10_000, 5_000,
                        at=f"{T1}T09:45")
    assert order["status"] == "OPEN"
    assert hold(market, "A-E3") == (0, 10_000)
    check_invariants(market)


def test_bought_tonnes_are_surrendered_after_settlement_sc04(sc04: Any) -> None:
    market = sc04
    take(market, "T1", "S1", "E3", 10_000, at=f"{T}T10:00")
    settle(market)
    market.call("E3", "registry:surrender", "E3", 2021, [{"product": "CEA21", "qty_t": 10_000}], at=f"{T}T16:00")
    assert hold(market, "A-E3") == (0, 0)
    check_invariants(market)


def test_a_day_with_orders_is_settled_before_the_next(market: Any) -> None:
    sell(market, "S1", 10, 5_000)
    refused(market, "ERR_MARKET_CLOSED", "E2", "exchange:post_listing", "S2", "A-E2", "SELL", "CEA21", 10, 5_000,
            at=f"{T1}T10:00", naming=f"once its orders of {T} are settled")
    refused(market, "ERR_MARKET_CLOSED", "E1", "exchange:take_listing", "T1", "S1", "A-E1", 10, at=f"{T1}T10:00")
    settle(market)
    sell(market, "S2", 10, 5_000, at=f"{T1}T10:00")


# ----- exchange.cancel_order -----------------------------------------------------------------


def test_cancel_releases_what_remains_of_a_buy(market: Any) -> None:
    buy(market, "B1", 10_000, 5_000)
    take(market, "T1", "B1", "E2", 4_000)
    market.call("exchange", "exchange:cancel_order", "B1", at=f"{T}T16:00")  # the exchange, after the close

    assert record(market, "ORD", "B1")["status"] == "CANCELLED"
    assert funds(market, "A-E1") == (280_000_000, 20_000_000)  # 4,000 t bought stay frozen until settled
    assert key("FUND", "A-E1") in written(market)  # released money: the bank endorses
    check_invariants(market)


def test_only_open_orders_are_cancelled(market: Any) -> None:
    sell(market, "S1", 10, 5_000)
    take(market, "T1", "S1", "E1", 10)
    refused(market, "ERR_CONFLICT", "E2", "exchange:cancel_order", "S1", at=f"{T}T11:00", naming="FILLED")
    refused(market, "ERR_CONFLICT", "E1", "exchange:cancel_order", "T1", at=f"{T}T11:00", naming="FILLED")
    sell(market, "S2", 10, 5_000)
    market.call("E2", "exchange:cancel_order", "S2", at=f"{T}T11:00")
    refused(market, "ERR_CONFLICT", "E2", "exchange:cancel_order", "S2", at=f"{T}T11:01", naming="CANCELLED")
    refused(market, "ERR_NOT_FOUND", "E2", "exchange:cancel_order", "S9", at=f"{T}T11:01")


# ----- callers (SC-06) ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["regulator", "registry", "exchange", "bank", "gd", "auditor", "verifier",
                                 "exchange_registrar"])
def test_only_emitters_trade(market: Any, who: str) -> None:
    sell(market, "S1", 10, 5_000)
    at = f"{T}T13:30"
    for function, args in (("post_listing", ("S2", "A-E2", "SELL", "CEA21", 10, 5_000)),
                           ("take_listing", ("T1", "S1", "A-E1", 10)),
                           ("propose_block", ("K1", "A-E2", "A-E1", "SELL", "CEA21", 100_000, 5_000)),
                           ("accept_block", ("K1", "A-E1"))):
        refused(market, "ERR_UNAUTHORIZED", who, f"exchange:{function}", *args, at=at, naming="EmitterMSP emitter")


def test_emitters_trade_for_their_own_account_only(market: Any) -> None:
    sell(market, "S1", 10, 5_000)
    at = f"{T}T13:30"
    refused(market, "ERR_UNAUTHORIZED", "E1", "exchange:post_listing", "S2", "A-E2", "SELL", "CEA21", 10, 5_000,
            at=at, naming="entity E1 may not act for account A-E2")
    refused(market, "ERR_UNAUTHORIZED", "E3", "exchange:take_listing", "T1", "S1", "A-E1", 10, at=at)
    refused(market, "ERR_UNAUTHORIZED", "E1", "exchange:propose_block", "K1", "A-E2", "A-E1", "SELL", "CEA21",
            100_000, 5_000, at=at)
    refused(market, "ERR_UNAUTHORIZED", "E1", "exchange:cancel_order", "S1", at=at)
    for who in ("regulator", "registry", "bank", "registry_exchanger"):
        refused(market, "ERR_UNAUTHORIZED", who, "exchange:cancel_order", "S1", at=at)


# ----- a random sequence, invariants after every call (SC-05) -------------------------------------


class Outcomes:
    """Calls of a random sequence, whatever their outcome, counted by function and code."""

    def __init__(self, trading: Any) -> None:
        self.trading = trading
        self.counts: dict[str, int] = {}

    def call(self, who: str, function: str, *args: object, at: str) -> bool:
        accepted, said = self.trading.attempt(who, function, *args, at=at)  # a failed call writes nothing
        name = f"{function.split(':')[1]} {said.split(':', 1)[0]}"
        self.counts[name] = self.counts.get(name, 0) + 1
        check_invariants(self.trading)
        return accepted


# Actions by the time of day: listings all day, blocks in the afternoon session.
MORNING = ["post"] * 4 + ["take"] * 4 + ["cancel"] * 2 + ["bid"] * 2 + ["auction", "close", "money", "freeze"]
AFTERNOON = MORNING + ["propose"] * 3 + ["accept"] * 3
TIMES = ["09:10", "09:30", "09:45", "10:30", "11:15", "11:45", "12:30", "13:00", "13:20", "13:40", "14:10", "14:30",
         "14:45", "14:59", "15:05"]
DAYS = ["2023-09-04", "2023-09-05", "2023-09-06", "2023-09-07", "2023-09-08", "2023-09-11", "2023-09-12",
        "2023-09-13"]


def test_a_random_sequence_keeps_the_invariants_sc05(market: Any) -> None:
    """Some 450 calls of every exchange and settlement function, most of them plausible
    and many refused (wrong caller, out of band, session closed, too much, ...), with
    I1-I5 and I9 checked after each. Every day is settled, sometimes after a refused
    attempt before the close, and then once more, refused."""
    rng = random.Random(7)
    traders = ["E1", "E2", "E3", "E5"]
    open_accounts(market, "E5")
    allocate(market, "E3", 200_000)
    for who in traders:
        market.call("bank", "settlement:deposit", f"A-{who}", 1_000_000_000, f"BR-{who}", at="2023-08-01T09:00")
    run = Outcomes(market)
    ids = (f"X{n}" for n in range(10_000))

    def live(*modes: str) -> list[dict[str, Any]]:
        return [order for order in records(market, "ORD").values()
                if order["mode"] in modes and order["status"] in ("OPEN", "PARTIAL")]

    def pick(orders: list[dict[str, Any]]) -> dict[str, Any]:
        missing = {"order_id": "X0", "account_id": "A-E1", "remaining_t": 10, "price_fen": 5_000,
                   "counterparty_account": "A-E1", "side": "SELL"}
        return rng.choice(orders) if orders and rng.random() < 0.95 else missing

    def other_than(account: str) -> str:
        """Another trader than `account`'s, or one time in ten the same (a self-trade)."""
        if rng.random() < 0.1 and account[2:] in traders:
            return account[2:]
        return rng.choice([t for t in traders if f"A-{t}" != account])

    def around(price: int, pct: int) -> int:
        return price + rng.randint(-price * pct // 100, price * pct // 100)

    for date in DAYS:
        initiator = rng.choice(traders)  # the day's auction, bid on all day and closed after the session
        run.call(initiator, "exchange:open_bidding", f"AU{date}", f"A-{initiator}", rng.choice(["BUY", "SELL"]),
                 "CEA21", rng.choice([5_000, 40_000]), record(market, "PRODUCT", "CEA21")["prev_close_fen"],
                 f"{date}T09:30", f"{date}T14:30", at=f"{date}T09:15")
        for at in sorted(rng.choice(TIMES) for _ in range(55)):
            when = f"{date}T{at}"
            prev = record(market, "PRODUCT", "CEA21")["prev_close_fen"]
            who = rng.choice(traders)
            account = f"A-{who}" if rng.random() < 0.95 else f"A-{rng.choice(traders)}"
            order_id = next(ids) if rng.random() < 0.97 else "X1"
            side = rng.choice(["BUY", "SELL"])
            action = rng.choice(AFTERNOON if "13:00" <= at < "15:00" else MORNING)
            wanted = {"take": "LISTING", "accept": "BLOCK", "bid": "BID_AUCTION"}.get(action)
            if wanted and not live(wanted) and rng.random() < 0.9:  # nothing to act on: make something
                action = {"take": "post", "accept": "propose", "bid": "auction"}[action]
            if action == "post":
                run.call(who, "exchange:post_listing", order_id, account, side, "CEA21",
                         rng.choice([0, 1, 100, 2_000, 30_000, 99_999, 100_000]), around(prev, 12), at=when)
            elif action == "take":
                listing = pick(live("LISTING"))
                taker = other_than(listing["account_id"])
                qty = rng.choice([1, max(1, listing["remaining_t"] // 2), listing["remaining_t"],
                                  listing["remaining_t"] + 1])
                run.call(taker, "exchange:take_listing", order_id, listing["order_id"], f"A-{taker}", qty, at=when)
            elif action == "propose":
                run.call(who, "exchange:propose_block", order_id, account, f"A-{other_than(account)}", side, "CEA21",
                         rng.choice([99_999, 100_000, 150_000]), around(prev, 35), at=when)
            elif action == "accept":
                block = pick(live("BLOCK"))
                named = block["counterparty_account"]
                acceptor = named[2:] if rng.random() < 0.7 else other_than(named)
                run.call(acceptor, "exchange:accept_block", block["order_id"], f"A-{acceptor}", at=when)
            elif action == "auction":
                start, end = rng.choice(["09:30", "09:30", "13:00"]), rng.choice(["11:30", "15:00", "15:00"])
                run.call(who, "exchange:open_bidding", order_id, account, side, "CEA21",
                         rng.choice([1_000, 20_000, 150_000]), around(prev, 35), f"{date}T{start}", f"{date}T{end}",
                         at=when)
            elif action == "bid":
                auction = pick(live("BID_AUCTION"))
                bidder = other_than(auction["account_id"])
                above = auction["side"] == "SELL"
                price = auction["price_fen"] + (1 if above else -1) * rng.randint(-50, 300)
                run.call(bidder, "exchange:submit_bid", order_id, auction["order_id"], f"A-{bidder}",
                         rng.choice([500, 5_000, 30_000]), price, at=when)
            elif action == "close":
                run.call("exchange", "exchange:close_bidding", pick(live("BID_AUCTION"))["order_id"], at=when)
            elif action == "cancel":
                order = pick(live("LISTING", "BLOCK", "BID_AUCTION", "BID"))
                canceller = rng.choice(["exchange", order["account_id"][2:], who])
                run.call(canceller, "exchange:cancel_order", order["order_id"], at=when)
            elif action == "money":
                run.call("bank", rng.choice(["settlement:deposit", "settlement:withdraw"]), f"A-{who}",
                         rng.choice([1_000_000, 50_000_000, 500_000_000]), f"R-{order_id}", at=when)
            else:
                run.call("gd", rng.choice(["registry:freeze", "registry:unfreeze"]), f"A-{who}", "CEA21",
                         rng.choice([10, 5_000, 50_000]), "random check", at=when)
        for auction in live("BID_AUCTION"):
            run.call("exchange", "exchange:close_bidding", auction["order_id"], at=f"{date}T15:10")
        if rng.random() < 0.3:
            run.call("exchange", "settlement:settle_day", date, at=f"{date}T14:30")  # before the close
        assert run.call(rng.choice(["exchange", "registry"]), "settlement:settle_day", date, at=f"{date}T15:30")
        run.call("registry", "settlement:settle_day", date, at=f"{date}T16:00")  # a second time

    counts = run.counts
    assert sum(counts.values()) >= 400
    for name in ("post_listing ok", "take_listing ok", "propose_block ok", "accept_block ok", "cancel_order ok",
                 "open_bidding ok", "submit_bid ok", "close_bidding ok", "post_listing ERR_PRICE_LIMIT",
                 "post_listing ERR_QTY_RULE", "post_listing ERR_MARKET_CLOSED", "take_listing ERR_SELF_TRADE",
                 "take_listing ERR_QTY_RULE", "accept_block ERR_UNAUTHORIZED", "submit_bid ERR_PRICE_LIMIT",
                 "settle_day ERR_CONFLICT", "settle_day ERR_MARKET_CLOSED"):
        assert counts.get(name, 0) > 0, (name, sorted(counts.items()))
    trades = records(market, "TRD")
    assert len(trades) >= 20 and all(trade["status"] == "SETTLED" for trade in trades.values())
    assert {trade["mode"] for trade in trades.values()} == {"LISTING", "BLOCK", "BID_AUCTION"}
    assert not records(market, "OPENORD")
