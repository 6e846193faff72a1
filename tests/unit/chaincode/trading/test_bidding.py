"""exchange.open_bidding, exchange.submit_bid, exchange.close_bidding (DOMAIN.md §3.4,
§5.3, A6: price-time priority, pay-as-bid, partial fills), on a ledger that only the
chaincode's own functions wrote; invariants I1-I5 and I9 after every step that moves
anything."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.chaincode.trading.market import (
    allocate,
    before_trading,
    check_invariants,
    key,
    open_accounts,
    record,
    records,
    refused,
)

pytestmark = pytest.mark.unit

T = "2023-09-05"  # a Tuesday
WINDOW = (f"{T}T10:00", f"{T}T11:00")


@pytest.fixture
def market(trading: Any) -> Any:
    """SC-01 before step 8 (A-E1 1,754,000 t CEA21 and 300,000,000 fen; A-E2 1,227,800 t;
    CEA21 closed at 4,900), plus A-E3 and A-E5 with 100,000,000 fen each, A-E5 61,390 t."""
    market = before_trading(trading)
    open_accounts(market, "E5")
    allocate(market, "E5", 100_000)
    for account in ("A-E3", "A-E5"):
        market.call("bank", "settlement:deposit", account, 100_000_000, "BR-" + account, at=f"{T}T09:00")
    return market


def hold(trading: Any, account: str) -> tuple[int, int]:
    holding = record(trading, "HOLD", account, "CEA21")
    return holding["available_t"], holding["frozen_t"]


def funds(trading: Any, account: str) -> tuple[int, int]:
    money = record(trading, "FUND", account)
    return money["available_fen"], money["frozen_fen"]


def auction(trading: Any, auction_id: str, who: str, side: str, qty: int, reserve: int,
            window: tuple[str, str] = WINDOW, at: str = f"{T}T09:15", account: str = "") -> Any:
    return trading.call(who, "exchange:open_bidding", auction_id, account or f"A-{who}", side, "CEA21", qty, reserve,
                        *window, at=at)


def bid(trading: Any, bid_id: str, auction_id: str, who: str, qty: int, price: int, at: str) -> Any:
    return trading.call(who, "exchange:submit_bid", bid_id, auction_id, f"A-{who}", qty, price, at=at)


def close(trading: Any, auction_id: str, at: str = f"{T}T11:00") -> Any:
    return trading.call("exchange", "exchange:close_bidding", auction_id, at=at)


def test_a_sale_serves_the_highest_bids_first_at_their_prices(market: Any) -> None:
    announced = auction(market, "A1", "E2", "SELL", 10_000, 5_000)
    assert announced == {"order_id": "A1", "mode": "BID_AUCTION", "side": "SELL", "account_id": "A-E2",
                         "product": "CEA21", "qty_t": 10_000, "remaining_t": 10_000, "price_fen": 5_000,
                         "counterparty_account": "", "status": "OPEN", "trade_date": T,
                         "posted_at": f"{T}T09:15:00+08:00", "start": f"{T}T10:00:00+08:00",
                         "end": f"{T}T11:00:00+08:00"}
    assert market.event() == ("BiddingAnnounced", {"auction_id": "A1", "account_id": "A-E2", "side": "SELL",
                                                   "product": "CEA21", "qty_t": 10_000, "reserve_price_fen": 5_000,
                                                   "start": f"{T}T10:00:00+08:00", "end": f"{T}T11:00:00+08:00"})
    assert hold(market, "A-E2") == (1_217_800, 10_000)

    bid(market, "B1", "A1", "E1", 6_000, 5_200, at=f"{T}T10:10")
    bid(market, "B2", "A1", "E3", 5_000, 5_300, at=f"{T}T10:20")
    bid(market, "B3", "A1", "E5", 3_000, 5_200, at=f"{T}T10:30")  # B1's price, later: served after it
    assert market.event() == ("BidSubmitted", {"bid_id": "B3", "auction_id": "A1", "account_id": "A-E5",
                                               "side": "BUY", "qty_t": 3_000, "price_fen": 5_200})
    assert record(market, "ORD", "B3")["counterparty_account"] == "A-E2"
    assert funds(market, "A-E1") == (300_000_000 - 31_200_000, 31_200_000)
    check_invariants(market)

    closed = close(market, "A1")

    assert closed == {"auction_id": "A1", "traded_t": 10_000, "remaining_t": 0, "trades": [
        {"trade_id": "B2", "buy_account": "A-E3", "sell_account": "A-E2", "qty_t": 5_000, "price_fen": 5_300},
        {"trade_id": "B1", "buy_account": "A-E1", "sell_account": "A-E2", "qty_t": 5_000, "price_fen": 5_200}]}
    assert market.event() == ("BiddingClosed", closed)
    assert {order: (record(market, "ORD", order)["status"], record(market, "ORD", order)["remaining_t"])
            for order in ("A1", "B1", "B2", "B3")} == {
        "A1": ("FILLED", 0), "B1": ("EXPIRED", 1_000), "B2": ("FILLED", 0), "B3": ("EXPIRED", 3_000)}
    assert record(market, "TRD", T, "B1")["mode"] == "BID_AUCTION"
    assert funds(market, "A-E1") == (300_000_000 - 26_000_000, 26_000_000)  # 1,000 t unserved: released
    assert funds(market, "A-E5") == (100_000_000, 0)
    assert not records(market, "AUCBID") and not records(market, "OPENORD")
    check_invariants(market)

    market.call("exchange", "settlement:settle_day", T, at=f"{T}T15:30")
    assert hold(market, "A-E3") == (5_000, 0)
    assert hold(market, "A-E2") == (1_217_800, 0)
    assert funds(market, "A-E2") == (52_500_000, 0)  # 5,000 × 5,300 + 5,000 × 5,200
    assert record(market, "DAY", "CEA21", T) == {"open_fen": 4_900, "close_fen": 4_900, "vwap_fen": 5_250,
                                                 "volume_t": 10_000, "settled": True}
    check_invariants(market)


def test_a_purchase_serves_the_lowest_offers_and_releases_the_reserve_excess(market: Any) -> None:
    auction(market, "A1", "E1", "BUY", 20_000, 5_000)
    assert funds(market, "A-E1") == (200_000_000, 100_000_000)
    bid(market, "B1", "A1", "E2", 8_000, 4_900, at=f"{T}T10:10")
    bid(market, "B2", "A1", "E5", 15_000, 4_800, at=f"{T}T10:20")
    refused(market, "ERR_PRICE_LIMIT", "E5", "exchange:submit_bid", "B3", "A1", "A-E5", 100, 5_001, at=f"{T}T10:30",
            naming="at or below its reserve of 5000 fen")
    assert hold(market, "A-E2") == (1_219_800, 8_000)

    closed = close(market, "A1", at=f"{T}T11:30")

    assert [(t["trade_id"], t["qty_t"], t["price_fen"]) for t in closed["trades"]] == [("B2", 15_000, 4_800),
                                                                                     ("B1", 5_000, 4_900)]
    assert funds(market, "A-E1") == (300_000_000 - 96_500_000, 96_500_000)  # 72,000,000 + 24,500,000 owed
    assert hold(market, "A-E2") == (1_222_800, 5_000)
    assert record(market, "ORD", "B1")["status"] == "EXPIRED"
    check_invariants(market)


def test_an_auction_not_sold_out_lapses_for_the_rest(market: Any) -> None:
    auction(market, "A1", "E2", "SELL", 10_000, 5_000)
    bid(market, "B1", "A1", "E1", 4_000, 5_000, at=f"{T}T10:10")
    closed = close(market, "A1")

    assert (closed["traded_t"], closed["remaining_t"]) == (4_000, 6_000)
    assert (record(market, "ORD", "A1")["status"], record(market, "ORD", "A1")["remaining_t"]) == ("EXPIRED", 6_000)
    assert hold(market, "A-E2") == (1_223_800, 4_000)
    refused(market, "ERR_CONFLICT", "exchange", "exchange:close_bidding", "A1", at=f"{T}T11:05", naming="EXPIRED")
    check_invariants(market)


def test_an_auction_without_bids_trades_nothing(market: Any) -> None:
    auction(market, "A1", "E2", "SELL", 10_000, 5_000)
    assert close(market, "A1")["trades"] == []
    assert hold(market, "A-E2") == (1_227_800, 0)
    check_invariants(market)


def test_bids_come_within_the_window_and_the_close_after_it(market: Any) -> None:
    auction(market, "A1", "E2", "SELL", 10_000, 5_000)
    for at in (f"{T}T09:59", f"{T}T11:00"):
        refused(market, "ERR_DEADLINE", "E1", "exchange:submit_bid", "B1", "A1", "A-E1", 10, 5_000, at=at,
                naming="takes bids from")
    refused(market, "ERR_DEADLINE", "exchange", "exchange:close_bidding", "A1", at=f"{T}T10:59",
            naming="closes after")
    bid(market, "B1", "A1", "E1", 10, 5_000, at=f"{T}T10:00")


@pytest.mark.parametrize("window", [
    (f"{T}T11:00", f"{T}T10:00"), (f"{T}T10:00", f"{T}T10:00"), (f"{T}T09:00", f"{T}T11:00"),
    (f"{T}T14:00", f"{T}T15:01"), (f"{T}T10:00", "2023-09-06T10:00"), ("2023-09-06T10:00", "2023-09-06T11:00"),
    ("10:00", "11:00"),
])
def test_the_window_lies_within_the_day(market: Any, window: tuple[str, str]) -> None:
    refused(market, "ERR_INVALID_ARGUMENT", "E2", "exchange:open_bidding", "A1", "A-E2", "SELL", "CEA21", 10, 5_000,
            *window, at=f"{T}T09:15")


def test_no_auction_for_a_window_past_or_on_a_weekend(market: Any) -> None:
    refused(market, "ERR_DEADLINE", "E2", "exchange:open_bidding", "A1", "A-E2", "SELL", "CEA21", 10, 5_000,
            *WINDOW, at=f"{T}T11:00")
    refused(market, "ERR_MARKET_CLOSED", "E2", "exchange:open_bidding", "A1", "A-E2", "SELL", "CEA21", 10, 5_000,
            "2023-09-09T10:00", "2023-09-09T11:00", at="2023-09-09T09:00")


def test_auction_and_bid_rules(market: Any) -> None:
    refused(market, "ERR_PRICE_LIMIT", "E2", "exchange:open_bidding", "A1", "A-E2", "SELL", "CEA21", 10, 6_371,
            *WINDOW, at=f"{T}T09:15", naming="3430-6370 fen")
    refused(market, "ERR_INSUFFICIENT_FUNDS", "E3", "exchange:open_bidding", "A1", "A-E3", "BUY", "CEA21", 20_001,
            5_000, *WINDOW, at=f"{T}T09:15")
    auction(market, "A1", "E2", "SELL", 10_000, 5_000)
    at = f"{T}T10:30"
    refused(market, "ERR_SELF_TRADE", "E2", "exchange:submit_bid", "B1", "A1", "A-E2", 10, 5_000, at=at)
    refused(market, "ERR_QTY_RULE", "E1", "exchange:submit_bid", "B1", "A1", "A-E1", 10_001, 5_000, at=at,
            naming="for 10000 t")
    refused(market, "ERR_PRICE_LIMIT", "E1", "exchange:submit_bid", "B1", "A1", "A-E1", 10, 4_999, at=at,
            naming="at or above its reserve")
    refused(market, "ERR_PRICE_LIMIT", "E1", "exchange:submit_bid", "B1", "A1", "A-E1", 10, 6_371, at=at,
            naming="3430-6370 fen")
    market.call("bank", "settlement:withdraw", "A-E3", 60_000_000, "BR-W", at=at)
    refused(market, "ERR_INSUFFICIENT_FUNDS", "E3", "exchange:submit_bid", "B1", "A1", "A-E3", 10_000, 5_000, at=at,
            naming="40000000 fen available")
    bid(market, "B1", "A1", "E1", 10, 5_000, at=at)
    refused(market, "ERR_CONFLICT", "E5", "exchange:submit_bid", "B1", "A1", "A-E5", 10, 5_000, at=at,
            naming="order B1 already exists")
    refused(market, "ERR_CONFLICT", "E5", "exchange:submit_bid", "B2", "B1", "A-E5", 10, 5_000, at=at,
            naming="not an auction")
    refused(market, "ERR_NOT_FOUND", "E5", "exchange:submit_bid", "B2", "A9", "A-E5", 10, 5_000, at=at)
    refused(market, "ERR_CONFLICT", "exchange", "exchange:close_bidding", "B1", at=f"{T}T11:00")
    check_invariants(market)


def test_the_ministry_may_auction_an_account(market: Any) -> None:
    auction(market, "A1", "regulator", "SELL", 1_000, 5_000, account="A-E2")
    assert record(market, "ORD", "A1")["account_id"] == "A-E2"
    assert hold(market, "A-E2") == (1_226_800, 1_000)


@pytest.mark.parametrize("who", ["registry", "exchange", "bank", "gd", "auditor", "mee_setter"])
def test_who_may_open_an_auction(market: Any, who: str) -> None:
    refused(market, "ERR_UNAUTHORIZED", who, "exchange:open_bidding", "A1", "A-E2", "SELL", "CEA21", 10, 5_000,
            *WINDOW, at=f"{T}T09:15", naming="EmitterMSP emitter; MEEMSP regulator")


def test_callers_of_bids_and_the_close(market: Any) -> None:
    refused(market, "ERR_UNAUTHORIZED", "E1", "exchange:open_bidding", "A1", "A-E2", "SELL", "CEA21", 10, 5_000,
            *WINDOW, at=f"{T}T09:15", naming="may not act for account A-E2")
    auction(market, "A1", "E2", "SELL", 10_000, 5_000)
    for who in ("regulator", "exchange", "registry"):
        refused(market, "ERR_UNAUTHORIZED", who, "exchange:submit_bid", "B1", "A1", "A-E1", 10, 5_000,
                at=f"{T}T10:30")
    refused(market, "ERR_UNAUTHORIZED", "E3", "exchange:submit_bid", "B1", "A1", "A-E1", 10, 5_000, at=f"{T}T10:30")
    for who in ("E2", "regulator", "registry", "bank", "exchange_registrar"):
        refused(market, "ERR_UNAUTHORIZED", who, "exchange:close_bidding", "A1", at=f"{T}T11:00",
                naming="ExchangeMSP exchange_operator")


def test_cancelling_bids_and_auctions(market: Any) -> None:
    auction(market, "A1", "E2", "SELL", 10_000, 5_000)
    bid(market, "B1", "A1", "E1", 1_000, 5_000, at=f"{T}T10:30")
    refused(market, "ERR_CONFLICT", "E2", "exchange:cancel_order", "A1", at=f"{T}T10:40", naming="A1 has bids")
    market.call("E1", "exchange:cancel_order", "B1", at=f"{T}T10:40")
    assert key("AUCBID", "A1", "B1") not in market.ledger.state
    assert funds(market, "A-E1") == (300_000_000, 0)
    market.call("E2", "exchange:cancel_order", "A1", at=f"{T}T10:45")
    assert hold(market, "A-E2") == (1_227_800, 0)
    refused(market, "ERR_CONFLICT", "E1", "exchange:submit_bid", "B2", "A1", "A-E1", 10, 5_000, at=f"{T}T10:50",
            naming="CANCELLED")
    check_invariants(market)


def test_an_auction_left_open_expires_at_settlement(market: Any) -> None:
    auction(market, "A1", "E1", "BUY", 10_000, 5_000)
    bid(market, "B1", "A1", "E2", 1_000, 4_950, at=f"{T}T10:30")
    settled = market.call("exchange", "settlement:settle_day", T, at=f"{T}T15:30")

    assert settled["expired"] == [{"order_id": "A1", "remaining_t": 10_000}, {"order_id": "B1", "remaining_t": 1_000}]
    assert funds(market, "A-E1") == (300_000_000, 0)
    assert hold(market, "A-E2") == (1_227_800, 0)
    assert not records(market, "AUCBID")
    refused(market, "ERR_CONFLICT", "exchange", "exchange:close_bidding", "A1", at=f"{T}T16:00", naming="EXPIRED")
    check_invariants(market)
