"""settlement.settle_day (DOMAIN.md §3.4, §5.3).

After the close at 15:00 the exchange (or the registry) settles the day, once. Every
trade of the day is delivered against payment, both legs of all of them in this one
transaction (invariant I4): the seller's frozen tonnes go to the buyer's available
holding, the buyer's frozen money to the seller's available funds. Only now can the
buyer sell or surrender what it bought, and the seller use the proceeds (T+1). The
day's orders still open expire and release what they set aside.

Then each product's day is recorded in `DAY~{product}~{date}` = {"open_fen",
"close_fen", "vwap_fen", "volume_t", "settled": true}: the opening price is that of the
first listing trade, the closing price the volume-weighted average price of the
listing trades (rounded half-up to the fen), and without listing trades both stay at
the previous close [F:S4c]; the volume and its weighted average price count every
trade, block trades too. The close becomes the product's `prev_close_fen` (with its
`last_trade_date`), and so sets the next day's price bands.

Settlement writes funds (`FUND~`, Registry AND Bank) and every product's record
(`PRODUCT~`, Registry AND Exchange), and touches the bank's anchor `FUNDTOTAL~all`
(funds.py) even on a day on which no money moves: with the registry, which endorses
every transaction, all three organisations must endorse every settlement (DOMAIN.md
§6.1, SC-15). `SETTLED~{date}` = {"date", "trades", "expired", "settled_at"} marks the
date settled.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chaincode.contract import Context, transaction

from .common import (
    BEIJING,
    DAY,
    EXCHANGE,
    ORD,
    PRODUCT,
    REGISTRY,
    TRD,
    Store,
    caller,
    emit,
    fail,
    is_working_day,
    now,
    parse_date,
)
from .exchange import (
    CLOSE,
    EXECUTED,
    EXPIRED,
    LISTING,
    OPENORD,
    SETTLED,
    Balances,
    close_order,
    half_up,
    holidays,
)
from .funds import FUNDTOTAL

SETTLED_DAY = "SETTLED"  # SETTLED~{date}: {"date", "trades", "expired", "settled_at"}
OPERATORS = {EXCHANGE: ("exchange_operator",), REGISTRY: ("registry_operator",)}


class SettlementTransactions:
    """Transactions of the trading chaincode: settlement.settle_day."""

    @transaction
    def settle_day(self, ctx: Context, date: str) -> dict[str, Any]:
        """Settle trading day `date` (YYYY-MM-DD) after its close (exchange or registry
        operator); returns what the DaySettled event says.

        A working day (ERR_MARKET_CLOSED), from 15:00 of that day on
        (ERR_MARKET_CLOSED), once (ERR_CONFLICT). Trades EXECUTED → SETTLED (with
        "settled_at"), open orders → EXPIRED, a `DAY~{product}~{date}` for every
        product, and the products' previous close.
        """
        day = parse_date(date, "date")
        caller(ctx, OPERATORS)
        store = Store(ctx)
        at = now(ctx)
        if not is_working_day(day, holidays(store)):
            raise fail("ERR_MARKET_CLOSED", f"{date} is not a working day: there is nothing to settle")
        if at < dt.datetime.combine(day, CLOSE, tzinfo=BEIJING):
            raise fail("ERR_MARKET_CLOSED", f"{date} is settled after its close at {CLOSE:%H:%M}, "
                                            f"not at {at.isoformat()}")
        if store.get(SETTLED_DAY, date) is not None:
            raise fail("ERR_CONFLICT", f"{date} is already settled")

        balances = Balances(store)
        trades = sorted((trade for _, trade in store.scan(TRD, date) if trade["status"] == EXECUTED),
                        key=lambda trade: (trade["product"], trade["seq"]))
        for trade in trades:
            deliver(balances, trade)
            store.put(TRD, date, trade["trade_id"], record={**trade, "status": SETTLED, "settled_at": at.isoformat()})
        expired = []
        for parts, _ in store.scan(OPENORD, date):
            order = store.need(ORD, parts[1])
            balances.release(order)
            store.put(ORD, order["order_id"], record={**order, "status": EXPIRED})
            close_order(store, order)
            expired.append({"order_id": order["order_id"], "remaining_t": order["remaining_t"]})
        balances.write()

        days = {product["code"]: close_day(store, product, date, [t for t in trades if t["product"] == product["code"]])
                for _, product in store.scan(PRODUCT)}
        store.create(SETTLED_DAY, date, record={"date": date, "trades": len(trades), "expired": len(expired),
                                                "settled_at": at.isoformat()})
        if store.get(FUNDTOTAL, "all") is not None:  # none before the first deposit: no money exists yet
            store.touch(FUNDTOTAL, "all")
        settled = {"date": date, "days": days, "expired": expired,
                   "trades": [{field: trade[field] for field in ("trade_id", "product", "qty_t", "price_fen")}
                              for trade in trades]}
        emit(ctx, "DaySettled", settled)
        return settled


def deliver(balances: Balances, trade: dict[str, Any]) -> None:
    """Delivery versus payment: the seller's frozen tonnes to the buyer, the buyer's frozen
    money to the seller, both available."""
    qty, amount = trade["qty_t"], trade["qty_t"] * trade["price_fen"]
    balances.holding(trade["sell_account"], trade["product"])["frozen_t"] -= qty
    balances.holding(trade["buy_account"], trade["product"])["available_t"] += qty
    balances.money(trade["buy_account"])["frozen_fen"] -= amount
    balances.money(trade["sell_account"])["available_fen"] += amount


def close_day(store: Store, product: dict[str, Any], date: str, trades: list[dict[str, Any]]) -> dict[str, Any]:
    """Write `DAY~{product}~{date}` from the product's `trades` of the day (in the order
    they were made) and the product's new previous close; returns the day's record."""
    listing = [trade for trade in trades if trade["mode"] == LISTING]
    previous: int = product["prev_close_fen"]
    close = average(listing) if listing else previous
    day = {"open_fen": listing[0]["price_fen"] if listing else previous, "close_fen": close,
           "vwap_fen": average(trades) if trades else close, "volume_t": sum(trade["qty_t"] for trade in trades),
           "settled": True}
    store.create(DAY, product["code"], date, record=day)
    updated = {**product, "touched": int(product.get("touched", 0)) + 1}
    if updated.get("unsettled_date") == date:
        updated["unsettled_date"] = ""
    if listing:
        updated.update(prev_close_fen=close, last_trade_date=date)
    store.put(PRODUCT, product["code"], record=updated)
    return day


def average(trades: list[dict[str, Any]]) -> int:
    """The volume-weighted average price of `trades`, half-up to the fen."""
    return half_up(sum(trade["qty_t"] * trade["price_fen"] for trade in trades), sum(trade["qty_t"] for trade in trades))
