"""exchange.open_bidding, exchange.submit_bid, exchange.close_bidding (DOMAIN.md §3.4,
§5.3; assumption A6).

One-way bidding (单向竞价): an account offers a quantity for sale (or asks to buy one) at
a reserve price, and the exchange announces a time window; other accounts bid against
it, and once the window is over the exchange closes the auction. Bids are served in
price priority (the highest first in a sale, the lowest in a purchase), then time
priority; each trades at its own price (pay-as-bid), the last one served perhaps in
part, until the quantity is gone. What the auction and the bids set aside beyond
their trades is released, and the trades settle with the day's others.

Rules of this sample [A]: the window lies within 09:30-15:00 of the day it is
announced; the reserve and every bid are within ±30 % of the previous close (the band
of block trades); a bid is at or above the reserve of a sale, at or below the reserve
of a purchase, for at most the auction's quantity. The initiator is an emitter for its
own account, or the ministry for any account. An auction can be cancelled
(exchange.cancel_order) while nobody has bid; a bid while it is open.

Records: the auction is `ORD~{auction_id}` of mode BID_AUCTION, its price_fen the
reserve, plus "start" and "end"; a bid is `ORD~{bid_id}` of mode BID on the other side,
plus "auction_id", its counterparty_account the auction's account, and is indexed
under `AUCBID~{auction_id}~{bid_id}` = {"price_fen", "seq"} while open. A trade is
`TRD~{trade_date}~{bid_id}`. At the close an order served in full is FILLED; the
unserved rest of a bid or of the auction lapses: EXPIRED, with remaining_t what was not
traded. A purchase froze its quantity at the reserve, so its close also releases the
reserve's excess over each price paid.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chaincode.contract import Context, transaction

from .common import (
    BEIJING,
    EMITTER,
    EXCHANGE,
    MEE,
    ORD,
    PRODUCT,
    Store,
    caller,
    check_id,
    emit,
    fail,
    is_working_day,
    now,
    one_of,
    parse_time,
    positive,
)
from .exchange import (
    AUCBID,
    BID,
    BID_AUCTION,
    BUY,
    CLOSE,
    EMITTERS,
    EXPIRED,
    FILLED,
    OPEN,
    OPENORD,
    SELL,
    Balances,
    close_order,
    holidays,
    leg,
    new_order,
    own_account,
    record_trade,
    touch_product,
    tradable,
    unused,
    within_band,
)

OPENS = dt.time(9, 30)
INITIATORS = {EMITTER: ("emitter",), MEE: ("regulator",)}
EXCHANGE_OPERATOR = {EXCHANGE: ("exchange_operator",)}


class BiddingTransactions:
    """Transactions of the trading chaincode: exchange.open_bidding, exchange.submit_bid,
    exchange.close_bidding."""

    @transaction
    def open_bidding(self, ctx: Context, auction_id: str, account_id: str, side: str, product: str, qty_t: int,
                     reserve_price_fen: int, start: str, end: str) -> dict[str, Any]:
        """Announce an auction of `qty_t` tonnes of `product` from (SELL) or for (BUY)
        `account_id`, bids taken from `start` to `end` (emitter of the account's entity,
        or the MEE regulator); returns the auction's order.

        A working day (ERR_MARKET_CLOSED); start < end within 09:30-15:00 of today
        (ERR_INVALID_ARGUMENT), end still ahead (ERR_DEADLINE); reserve within ±30 %
        of the previous close (ERR_PRICE_LIMIT). Freezes the tonnes of a sale, or
        qty_t × reserve of funds for a purchase.
        """
        check_id(auction_id, "auction_id")
        check_id(account_id, "account_id")
        one_of(side, (BUY, SELL), "side")
        check_id(product, "product")
        positive(qty_t, "qty_t")
        positive(reserve_price_fen, "reserve_price_fen")
        opens, closes = parse_time(start, "start").astimezone(BEIJING), parse_time(end, "end").astimezone(BEIJING)
        who = caller(ctx, INITIATORS)
        store = Store(ctx)
        at = now(ctx)
        today = at.date().isoformat()
        if not is_working_day(at.date(), holidays(store)):
            raise fail("ERR_MARKET_CLOSED", f"{today} is not a working day (weekend or holiday)")
        if not (opens < closes and opens.date() == closes.date() == at.date()
                and OPENS <= opens.time() and closes.time() <= CLOSE):
            raise fail("ERR_INVALID_ARGUMENT", f"a bidding window runs from start to a later end within "
                                               f"{OPENS:%H:%M}-{CLOSE:%H:%M} of {today}, found {start} to {end}")
        if at >= closes:
            raise fail("ERR_DEADLINE", f"the bidding window ends at {closes.isoformat()}, before {at.isoformat()}")
        unused(store, auction_id)
        own_account(store, who, account_id)
        record = tradable(store, product, today)
        within_band(record, reserve_price_fen, BID_AUCTION)
        balances = Balances(store)
        balances.freeze(side, account_id, product, qty_t, reserve_price_fen, today)
        auction = {**new_order(auction_id, BID_AUCTION, side, account_id, product, qty_t, reserve_price_fen, today, at),
                   "start": opens.isoformat(), "end": closes.isoformat()}
        touch_product(store, record, today)
        store.create(ORD, auction_id, record=auction)
        store.put(OPENORD, today, auction_id, record={"product": product, "mode": BID_AUCTION})
        balances.write()
        emit(ctx, "BiddingAnnounced", {"auction_id": auction_id, "account_id": account_id, "side": side,
                                       "product": product, "qty_t": qty_t, "reserve_price_fen": reserve_price_fen,
                                       "start": auction["start"], "end": auction["end"]})
        return auction

    @transaction
    def submit_bid(self, ctx: Context, bid_id: str, auction_id: str, account_id: str, qty_t: int,
                   price_fen: int) -> dict[str, Any]:
        """Bid `qty_t` tonnes at `price_fen` in auction `auction_id` for `account_id`
        (emitter of the account's entity); returns the bid's order.

        The auction is open (ERR_CONFLICT) and in its window (ERR_DEADLINE); not the
        bidder's own (ERR_SELF_TRADE); qty_t ≤ the auction's (ERR_QTY_RULE); the price
        at or above a sale's reserve, at or below a purchase's, within ±30 % of the
        previous close (ERR_PRICE_LIMIT). Freezes the bidder's side at its price.
        """
        check_id(bid_id, "bid_id")
        check_id(auction_id, "auction_id")
        check_id(account_id, "account_id")
        positive(qty_t, "qty_t")
        positive(price_fen, "price_fen")
        who = caller(ctx, EMITTERS)
        store = Store(ctx)
        auction = _auction(store, auction_id)
        at = now(ctx)
        if not parse_time(auction["start"], "start") <= at < parse_time(auction["end"], "end"):
            raise fail("ERR_DEADLINE", f"auction {auction_id} takes bids from {auction['start']} until "
                                       f"{auction['end']}, not at {at.isoformat()}")
        unused(store, bid_id)
        own_account(store, who, account_id)
        if account_id == auction["account_id"]:
            raise fail("ERR_SELF_TRADE", f"auction {auction_id} is account {account_id}'s own")
        code, today, reserve = auction["product"], auction["trade_date"], auction["price_fen"]
        record = tradable(store, code, today)
        if qty_t > auction["qty_t"]:
            raise fail("ERR_QTY_RULE", f"auction {auction_id} is for {auction['qty_t']} t, {qty_t} t bid")
        selling = auction["side"] == SELL
        if (price_fen < reserve) if selling else (price_fen > reserve):
            bound = "at or above" if selling else "at or below"
            raise fail("ERR_PRICE_LIMIT", f"a bid in auction {auction_id} is {bound} its reserve of {reserve} fen, "
                                          f"found {price_fen}")
        within_band(record, price_fen, BID)
        side = BUY if selling else SELL
        balances = Balances(store)
        balances.freeze(side, account_id, code, qty_t, price_fen, today)
        seq = touch_product(store, record, today)
        bid = {**new_order(bid_id, BID, side, account_id, code, qty_t, price_fen, today, at),
               "counterparty_account": auction["account_id"], "auction_id": auction_id}
        store.create(ORD, bid_id, record=bid)
        store.put(AUCBID, auction_id, bid_id, record={"price_fen": price_fen, "seq": seq})
        store.put(OPENORD, today, bid_id, record={"product": code, "mode": BID})
        balances.write()
        emit(ctx, "BidSubmitted", {"bid_id": bid_id, "auction_id": auction_id, "account_id": account_id,
                                   "side": side, "qty_t": qty_t, "price_fen": price_fen})
        return bid

    @transaction
    def close_bidding(self, ctx: Context, auction_id: str) -> dict[str, Any]:
        """Serve the bids of auction `auction_id` once its window is over (exchange
        operator); returns what the BiddingClosed event says.

        The auction is open (ERR_CONFLICT: closed, cancelled, or expired at settlement)
        and its end is past (ERR_DEADLINE). Trades `TRD~{trade_date}~{bid_id}` at the
        bids' prices; what is not traded is released.
        """
        check_id(auction_id, "auction_id")
        caller(ctx, EXCHANGE_OPERATOR)
        store = Store(ctx)
        auction = _auction(store, auction_id)
        at = now(ctx)
        if at < parse_time(auction["end"], "end"):
            raise fail("ERR_DEADLINE", f"auction {auction_id} closes after {auction['end']}, not at {at.isoformat()}")
        code, today, selling = auction["product"], auction["trade_date"], auction["side"] == SELL
        seq = touch_product(store, store.need(PRODUCT, code), today)
        bids = sorted(store.scan(AUCBID, auction_id),
                      key=lambda item: (-item[1]["price_fen"] if selling else item[1]["price_fen"], item[1]["seq"]))
        balances = Balances(store)
        left, trades = auction["qty_t"], []
        for parts, _ in bids:
            bid = store.need(ORD, parts[1])
            qty = min(left, bid["remaining_t"])
            left -= qty
            if qty > 0:
                buyer, seller = (leg(bid), leg(auction)) if selling else (leg(auction), leg(bid))
                trades.append(record_trade(store, today, bid["order_id"], BID_AUCTION, code, buyer, seller, qty,
                                           bid["price_fen"], seq, at.isoformat()))
            lapsed = {**bid, "remaining_t": bid["remaining_t"] - qty}
            balances.release(lapsed)
            closed = {**lapsed, "status": FILLED if lapsed["remaining_t"] == 0 else EXPIRED}
            store.put(ORD, bid["order_id"], record=closed)
            close_order(store, closed)
        balances.release({**auction, "remaining_t": left})
        if not selling:  # the purchase froze the reserve; it pays each bid's price
            excess = sum(trade["qty_t"] * (auction["price_fen"] - trade["price_fen"]) for trade in trades)
            funds = balances.money(auction["account_id"])
            funds["frozen_fen"] -= excess
            funds["available_fen"] += excess
        closed_auction = {**auction, "remaining_t": left, "status": FILLED if left == 0 else EXPIRED}
        store.put(ORD, auction_id, record=closed_auction)
        close_order(store, closed_auction)
        balances.write()
        result = {"auction_id": auction_id, "traded_t": auction["qty_t"] - left, "remaining_t": left,
                  "trades": [{field: trade[field] for field in ("trade_id", "buy_account", "sell_account", "qty_t",
                                                                "price_fen")} for trade in trades]}
        emit(ctx, "BiddingClosed", result)
        return result


def _auction(store: Store, auction_id: str) -> dict[str, Any]:
    """An open auction's order (ERR_NOT_FOUND, ERR_CONFLICT)."""
    auction = store.need(ORD, auction_id)
    if auction["mode"] != BID_AUCTION:
        raise fail("ERR_CONFLICT", f"order {auction_id} is a {auction['mode']} order, not an auction")
    if auction["status"] != OPEN:
        raise fail("ERR_CONFLICT", f"auction {auction_id} is {auction['status']}, not open")
    return auction
