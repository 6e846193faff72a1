"""settlement.settle_day (DOMAIN.md §3.4, §5.3; SC-01 step 9, SC-04, SC-15; invariants
I1-I5, I9), on a ledger that only the chaincode's own functions wrote."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.chaincode.trading.market import (
    before_trading,
    check_invariants,
    key,
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
    A-E3 nothing. CEA21's previous close is 4,900 fen, CCER's 3,000."""
    return before_trading(trading)


@pytest.fixture
def traded(market: Any) -> Any:
    """SC-01 step 8: E2 sells 46,000 t at 5,000 to E1 (trade O2, EXECUTED)."""
    market.call("E2", "exchange:post_listing", "O1", "A-E2", "SELL", "CEA21", 46_000, 5_000, at=f"{T}T10:15")
    market.call("E1", "exchange:take_listing", "O2", "O1", "A-E1", 46_000, at=f"{T}T10:20")
    return market


def hold(trading: Any, account: str, product: str = "CEA21") -> tuple[int, int]:
    holding = record(trading, "HOLD", account, product)
    return holding["available_t"], holding["frozen_t"]


def funds(trading: Any, account: str) -> tuple[int, int]:
    money = record(trading, "FUND", account)
    return money["available_fen"], money["frozen_fen"]


def written(trading: Any) -> set[str]:
    return set(trading.ledger.last.writes)


def test_settlement_delivers_both_legs_sc01_step9(traded: Any) -> None:
    market = traded
    settled = market.call("exchange", "settlement:settle_day", T, at=f"{T}T15:30")

    assert hold(market, "A-E1") == (1_800_000, 0)
    assert hold(market, "A-E2") == (1_181_800, 0)
    assert sum(hold(market, a)[0] for a in ("A-E1", "A-E2")) == record(market, "ISS", "CEA21")["issued_t"] == 2_981_800
    assert funds(market, "A-E1") == (70_000_000, 0)
    assert funds(market, "A-E2") == (230_000_000, 0)
    trade = record(market, "TRD", T, "O2")
    assert (trade["status"], trade["settled_at"]) == ("SETTLED", f"{T}T15:30:00+08:00")

    day = {"open_fen": 5_000, "close_fen": 5_000, "vwap_fen": 5_000, "volume_t": 46_000, "settled": True}
    assert record(market, "DAY", "CEA21", T) == day
    assert record(market, "DAY", "CCER", T) == {"open_fen": 3_000, "close_fen": 3_000, "vwap_fen": 3_000,
                                                "volume_t": 0, "settled": True}
    product = record(market, "PRODUCT", "CEA21")
    assert (product["prev_close_fen"], product["last_trade_date"], product["unsettled_date"]) == (5_000, T, "")
    assert product["ref_price_fen"] == 4_900
    assert record(market, "SETTLED", T) == {"date": T, "trades": 1, "expired": 0,
                                            "settled_at": f"{T}T15:30:00+08:00"}
    payload = {"date": T, "trades": [{"trade_id": "O2", "product": "CEA21", "qty_t": 46_000, "price_fen": 5_000}],
               "expired": [], "days": {"CEA21": day, "CCER": record(market, "DAY", "CCER", T)}}
    assert settled == payload
    assert market.event() == ("DaySettled", payload)
    check_invariants(market)

    # The next day's limits are 45.00-55.00.
    for price, accepted in ((5_501, False), (5_500, True), (4_499, False), (4_500, True)):
        args = (f"S{price}", "A-E2", "SELL", "CEA21", 10, price)
        if accepted:
            market.call("E2", "exchange:post_listing", *args, at=f"{T1}T09:45")
        else:
            refused(market, "ERR_PRICE_LIMIT", "E2", "exchange:post_listing", *args, at=f"{T1}T09:45",
                    naming="4500-5500 fen")


def test_settlement_needs_the_close_and_happens_once_sc15(traded: Any) -> None:
    market = traded
    refused(market, "ERR_MARKET_CLOSED", "exchange", "settlement:settle_day", T, at=f"{T}T14:59",
            naming="after its close at 15:00")
    refused(market, "ERR_MARKET_CLOSED", "exchange", "settlement:settle_day", T1, at=f"{T}T16:00")  # not yet
    assert record(market, "TRD", T, "O2")["status"] == "EXECUTED"

    market.call("registry", "settlement:settle_day", T, at=f"{T}T15:00")

    # Funds move (Registry AND Bank) and the product is written (Registry AND Exchange).
    assert {key("FUND", "A-E1"), key("FUND", "A-E2"), key("PRODUCT", "CEA21")} <= written(market)
    assert policy_of(market, "FUND", "A-E1") == policy_of(market, "FUND", "A-E2") == peers("RegistryMSP", "BankMSP")
    assert policy_of(market, "PRODUCT", "CEA21") == peers("RegistryMSP", "ExchangeMSP")
    refused(market, "ERR_CONFLICT", "exchange", "settlement:settle_day", T, at=f"{T}T16:00",
            naming=f"{T} is already settled")
    refused(market, "ERR_CONFLICT", "registry", "settlement:settle_day", T, at=f"{T1}T16:00")
    check_invariants(market)


@pytest.mark.parametrize("who", ["bank", "regulator", "gd", "auditor", "E1", "verifier", "registry_exchanger",
                                 "exchange_registrar", "bank_no_role"])
def test_only_the_exchange_or_the_registry_settles(traded: Any, who: str) -> None:
    refused(traded, "ERR_UNAUTHORIZED", who, "settlement:settle_day", T, at=f"{T}T15:30",
            naming="ExchangeMSP exchange_operator; RegistryMSP registry_operator")


@pytest.mark.parametrize("date", ["2023-9-5", "2023-09-05T15:00", "", "20230905", "2023-02-30"])
def test_settle_day_takes_a_date(market: Any, date: str) -> None:
    refused(market, "ERR_INVALID_ARGUMENT", "exchange", "settlement:settle_day", date, at=f"{T}T15:30",
            naming="date must be a date YYYY-MM-DD")


def test_there_is_no_weekend_to_settle(market: Any) -> None:
    refused(market, "ERR_MARKET_CLOSED", "exchange", "settlement:settle_day", "2023-09-09", at="2023-09-11T09:00",
            naming="not a working day")


def test_open_close_and_average_prices(market: Any) -> None:
    market.call("bank", "settlement:deposit", "A-E1", 400_000_000, "BR-2", at=f"{T}T09:00")
    market.call("E2", "exchange:post_listing", "S1", "A-E2", "SELL", "CEA21", 1, 5_000, at=f"{T}T09:40")
    market.call("E2", "exchange:post_listing", "S2", "A-E2", "SELL", "CEA21", 1, 5_001, at=f"{T}T09:41")
    # Trade ids sort against the time: the first trade of the day is Z1, at 5,001.
    market.call("E1", "exchange:take_listing", "Z1", "S2", "A-E1", 1, at=f"{T}T10:00")
    market.call("E1", "exchange:take_listing", "A1", "S1", "A-E1", 1, at=f"{T}T10:05")
    market.call("E2", "exchange:propose_block", "K1", "A-E2", "A-E1", "SELL", "CEA21", 100_000, 6_000,
                at=f"{T}T13:30")
    market.call("E1", "exchange:accept_block", "K1", "A-E1", at=f"{T}T13:35")
    settled = market.call("exchange", "settlement:settle_day", T, at=f"{T}T15:30")

    # close: (5,000 + 5,001) / 2 = 5,000.5 → 5,001 (half-up); the block counts in the
    # volume and its average only: 600,010,001 / 100,002 = 5,999.9 → 6,000.
    day = {"open_fen": 5_001, "close_fen": 5_001, "vwap_fen": 6_000, "volume_t": 100_002, "settled": True}
    assert record(market, "DAY", "CEA21", T) == day
    assert [trade["trade_id"] for trade in settled["trades"]] == ["Z1", "A1", "K1"]  # as they were made
    assert record(market, "PRODUCT", "CEA21")["prev_close_fen"] == 5_001
    assert hold(market, "A-E1") == (1_754_000 + 100_002, 0)
    assert funds(market, "A-E1") == (700_000_000 - 600_010_001, 0)
    assert funds(market, "A-E2") == (600_010_001, 0)
    check_invariants(market)


def test_block_trades_alone_leave_the_close(market: Any) -> None:
    market.call("bank", "settlement:deposit", "A-E1", 100_000_000, "BR-2", at=f"{T}T09:00")
    market.call("E2", "exchange:propose_block", "K1", "A-E2", "A-E1", "SELL", "CEA21", 100_000, 3_430,
                at=f"{T}T13:30")
    market.call("E1", "exchange:accept_block", "K1", "A-E1", at=f"{T}T13:35")
    market.call("exchange", "settlement:settle_day", T, at=f"{T}T15:30")

    assert record(market, "DAY", "CEA21", T) == {"open_fen": 4_900, "close_fen": 4_900, "vwap_fen": 3_430,
                                                 "volume_t": 100_000, "settled": True}
    product = record(market, "PRODUCT", "CEA21")
    assert (product["prev_close_fen"], product["last_trade_date"], product["unsettled_date"]) == (4_900, "", "")
    assert hold(market, "A-E1") == (1_854_000, 0)
    check_invariants(market)


def test_open_orders_expire_and_release_what_they_froze(market: Any) -> None:
    market.call("E2", "exchange:post_listing", "S1", "A-E2", "SELL", "CEA21", 10_000, 5_000, at=f"{T}T10:00")
    market.call("E1", "exchange:take_listing", "T1", "S1", "A-E1", 4_000, at=f"{T}T10:05")
    market.call("E1", "exchange:post_listing", "B1", "A-E1", "BUY", "CEA21", 1_000, 4_800, at=f"{T}T10:10")
    market.call("E1", "exchange:propose_block", "K1", "A-E1", "A-E2", "SELL", "CEA21", 100_000, 5_000,
                at=f"{T}T13:30")
    assert funds(market, "A-E1") == (300_000_000 - 20_000_000 - 4_800_000, 24_800_000)
    settled = market.call("exchange", "settlement:settle_day", T, at=f"{T}T15:30")

    assert settled["expired"] == [{"order_id": "B1", "remaining_t": 1_000}, {"order_id": "K1", "remaining_t": 100_000},
                                  {"order_id": "S1", "remaining_t": 6_000}]
    assert {order_id: record(market, "ORD", order_id)["status"] for order_id in ("S1", "B1", "K1", "T1")} == {
        "S1": "EXPIRED", "B1": "EXPIRED", "K1": "EXPIRED", "T1": "FILLED"}
    assert hold(market, "A-E2") == (1_227_800 - 4_000, 0)
    assert hold(market, "A-E1") == (1_754_000 + 4_000, 0)
    assert funds(market, "A-E1") == (280_000_000, 0)
    assert funds(market, "A-E2") == (20_000_000, 0)
    assert not records(market, "BOOK") and not records(market, "OPENORD")
    refused(market, "ERR_CONFLICT", "E1", "exchange:cancel_order", "B1", at=f"{T}T16:00", naming="EXPIRED")
    check_invariants(market)


def test_a_quiet_day_moves_no_money_and_still_needs_the_bank(market: Any) -> None:
    market.call("exchange", "settlement:settle_day", T, at=f"{T}T15:30")

    assert not any(k.startswith(key("FUND")) for k in written(market))  # no account's funds change
    # ...but the bank's anchor is touched: every settlement needs Registry, Exchange and Bank (DOMAIN.md 6.1)
    assert key("FUNDTOTAL", "all") in written(market)
    assert policy_of(market, "FUNDTOTAL", "all") == peers("RegistryMSP", "BankMSP")
    assert key("PRODUCT", "CEA21") in written(market)
    assert record(market, "DAY", "CEA21", T) == {"open_fen": 4_900, "close_fen": 4_900, "vwap_fen": 4_900,
                                                 "volume_t": 0, "settled": True}
    assert record(market, "SETTLED", T)["trades"] == 0
    check_invariants(market)
