"""exchange.post_listing, exchange.take_listing, exchange.propose_block,
exchange.accept_block, exchange.cancel_order (DOMAIN.md §3.4, §5.3).

The exchange trades allowances between accounts by agreement, in two modes. A
*listing* (挂牌协议) is an order of fewer than 100,000 t that rests in the order book at
a price within ±10 % of the product's previous close; another account *takes* it,
choosing it among the best five price levels of its side (the lowest asks, the highest
bids), for all or part of what remains, at the listed price. A *block* (大宗协议) of
100,000 t or more, priced within ±30 %, is proposed to one named counterparty account,
which accepts it whole on the same day. Listings trade 09:30-11:30 and 13:00-15:00 on
working days, blocks 13:00-15:00. Price limits are rounded half-up to whole fen.

An order sets aside what it may have to deliver: a SELL freezes tonnes (available →
frozen), a BUY freezes money (quantity × price). A trade leaves both frozen until the
day's settlement (`settlement.settle_day`) delivers both legs at once, so what an
account bought today is not in its holding yet: it can be neither sold again nor
surrendered the same day (T+1; such a sale fails with ERR_T1_RESTRICTION rather than
ERR_INSUFFICIENT_HOLDINGS). Cancelling an order, or its expiry at settlement, releases
what it still sets aside. Invariant I5 therefore reads, with trades awaiting
settlement: an account's frozen tonnes of a product = the remaining tonnes of its open
SELL orders + the tonnes it sold in unsettled trades + what regulators froze; its
frozen fen = remaining × price of its open BUY orders + what it owes for unsettled
trades.

Records (compact sorted JSON):

* `ORD~{order_id}` = {"order_id", "mode", "side", "account_id", "product", "qty_t",
  "remaining_t", "price_fen", "counterparty_account", "status", "trade_date",
  "posted_at"}, for every order: a taker's order is FILLED at once.
* `TRD~{trade_date}~{trade_id}` = {"trade_id", "mode", "product", "buy_account",
  "buy_order", "sell_account", "sell_order", "qty_t", "price_fen", "status",
  "executed_at", "seq"}: the trade id is the taker's order id, or the block's id (a
  block is one order agreed by both sides, so it is both trade legs' order); `seq`
  orders the product's trades (its record's `touched` count, which every order bumps).
* `BOOK~{product}~{side}~{order_id}` = {"price_fen", "posted_at"} while a listing is
  open, so the best levels are one scan of one side of one product's book.
* `OPENORD~{trade_date}~{order_id}` = {"product", "mode"} while any order is open, so
  settlement finds the day's orders to expire.
* `AUCBID~{auction_id}~{bid_id}` = {"price_fen", "seq"} while a bid of one-way bidding
  is open (bidding.py, which also adds modes BID_AUCTION and BID).

Every order touches its product's record, so the exchange endorses (`PRODUCT~` carries
Registry AND Exchange, DOMAIN.md §6.1); one that freezes or releases money writes
`FUND~`, so the bank endorses too. The product record also keeps "unsettled_date", the
trading date of its orders that settlement has not closed yet: until that day is
settled the product takes no orders of a later day. So each day's orders are checked
against the close that settlement set, and no order rests outside its band (I9).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chaincode.contract import Context, transaction

from .accounts import holding_of, listed
from .common import (
    ACCT,
    CFG,
    EMITTER,
    EXCHANGE,
    FUND,
    HOLD,
    MEE,
    ORD,
    PRODUCT,
    TRD,
    Caller,
    Store,
    caller,
    check_id,
    emit,
    fail,
    is_working_day,
    now,
    one_of,
    positive,
)

BOOK = "BOOK"  # BOOK~{product}~{side}~{order_id}: {"price_fen", "posted_at"}, open listings
OPENORD = "OPENORD"  # OPENORD~{trade_date}~{order_id}: {"product", "mode"}, open orders of any mode
AUCBID = "AUCBID"  # AUCBID~{auction_id}~{bid_id}: {"price_fen", "seq"}, open bids of an auction (bidding.py)

LISTING, BLOCK, BID_AUCTION, BID = "LISTING", "BLOCK", "BID_AUCTION", "BID"
BUY, SELL = "BUY", "SELL"
OPEN, PARTIAL, FILLED, CANCELLED, EXPIRED = "OPEN", "PARTIAL", "FILLED", "CANCELLED", "EXPIRED"
LIVE = (OPEN, PARTIAL)
EXECUTED, SETTLED = "EXECUTED", "SETTLED"

MODE_NAMES = {LISTING: "listing", BLOCK: "block", BID_AUCTION: "auction", BID: "bid"}
BLOCK_MIN_T = 100_000  # a listing is below, a block at or above [F:S4]
BAND_PCT = {LISTING: 10, BLOCK: 30, BID_AUCTION: 30, BID: 30}  # around the previous close [F:S4][F:S5]; bidding [A]
BEST_LEVELS = 5
HOURS = {
    LISTING: ((dt.time(9, 30), dt.time(11, 30)), (dt.time(13, 0), dt.time(15, 0))),
    BLOCK: ((dt.time(13, 0), dt.time(15, 0)),),
}
CLOSE = dt.time(15, 0)

EMITTERS = {EMITTER: ("emitter",)}
OWNER_OR_EXCHANGE = {EMITTER: ("emitter",), EXCHANGE: ("exchange_operator",)}


class ExchangeTransactions:
    """Transactions of the trading chaincode: exchange.post_listing, exchange.take_listing,
    exchange.propose_block, exchange.accept_block, exchange.cancel_order."""

    @transaction
    def post_listing(self, ctx: Context, order_id: str, account_id: str, side: str, product: str, qty_t: int,
                     price_fen: int) -> dict[str, Any]:
        """Rest a listing of `qty_t` tonnes of `product` at `price_fen` in the book (emitter
        of the account's entity); returns the order.

        Listing session (ERR_MARKET_CLOSED); 1 ≤ qty_t < 100,000 (ERR_QTY_RULE); price
        within ±10 % of the previous close (ERR_PRICE_LIMIT). A SELL freezes the
        tonnes, a BUY qty_t × price_fen of funds (ERR_INSUFFICIENT_HOLDINGS,
        ERR_T1_RESTRICTION, ERR_INSUFFICIENT_FUNDS).
        """
        check_id(order_id, "order_id")
        check_id(account_id, "account_id")
        one_of(side, (BUY, SELL), "side")
        check_id(product, "product")
        positive(qty_t, "qty_t")
        positive(price_fen, "price_fen")
        who = caller(ctx, EMITTERS)
        store = Store(ctx)
        today = session(ctx, store, LISTING)
        quantity_rule(qty_t, LISTING)
        unused(store, order_id)
        own_account(store, who, account_id)
        record = tradable(store, product, today)
        within_band(record, price_fen, LISTING)
        balances = Balances(store)
        balances.freeze(side, account_id, product, qty_t, price_fen, today)
        order = new_order(order_id, LISTING, side, account_id, product, qty_t, price_fen, today, now(ctx))
        touch_product(store, record, today)
        store.create(ORD, order_id, record=order)
        store.put(BOOK, product, side, order_id, record={"price_fen": price_fen, "posted_at": order["posted_at"]})
        store.put(OPENORD, today, order_id, record={"product": product, "mode": LISTING})
        balances.write()
        emit(ctx, "OrderPosted", {"order_id": order_id, "account_id": account_id, "mode": LISTING, "side": side,
                                  "product": product, "qty_t": qty_t, "price_fen": price_fen})
        return order

    @transaction
    def take_listing(self, ctx: Context, order_id: str, listing_id: str, account_id: str,
                     qty_t: int) -> dict[str, Any]:
        """Take `qty_t` tonnes of listing `listing_id` for `account_id` at the listed price
        (emitter of the account's entity); returns the trade, `TRD~{today}~{order_id}`.

        The taker's order `order_id` (the other side, FILLED) freezes what the taker
        delivers, as for a listing. The listing must be open (ERR_CONFLICT), another
        account's (ERR_SELF_TRADE), among the best five price levels of its side
        (ERR_NOT_BEST_FIVE), with at least `qty_t` remaining (ERR_QTY_RULE).
        """
        check_id(order_id, "order_id")
        check_id(listing_id, "listing_id")
        check_id(account_id, "account_id")
        positive(qty_t, "qty_t")
        who = caller(ctx, EMITTERS)
        store = Store(ctx)
        today = session(ctx, store, LISTING)
        unused(store, order_id)
        own_account(store, who, account_id)
        listing = store.need(ORD, listing_id)
        if listing["mode"] != LISTING:
            raise fail("ERR_CONFLICT", f"order {listing_id} is a {listing['mode']} order, not a listing")
        if listing["status"] not in LIVE:
            raise fail("ERR_CONFLICT", f"listing {listing_id} is {listing['status']}, not open")
        if listing["account_id"] == account_id:
            raise fail("ERR_SELF_TRADE", f"listing {listing_id} is account {account_id}'s own")
        code = listing["product"]
        record = tradable(store, code, today)
        levels = best_levels(store, code, listing["side"])
        if listing["price_fen"] not in levels:
            raise fail("ERR_NOT_BEST_FIVE", f"listing {listing_id} at {listing['price_fen']} fen is not among the best "
                                            f"{BEST_LEVELS} {listing['side']} price levels of {code}: {levels}")
        if qty_t > listing["remaining_t"]:
            raise fail("ERR_QTY_RULE", f"listing {listing_id} has {listing['remaining_t']} t remaining, "
                                       f"{qty_t} t asked")
        side, price = (BUY if listing["side"] == SELL else SELL), listing["price_fen"]
        balances = Balances(store)
        balances.freeze(side, account_id, code, qty_t, price, today)
        seq = touch_product(store, record, today)
        taker = {**new_order(order_id, LISTING, side, account_id, code, qty_t, price, today, now(ctx)),
                 "remaining_t": 0, "status": FILLED, "counterparty_account": listing["account_id"]}
        left = listing["remaining_t"] - qty_t
        taken = {**listing, "remaining_t": left, "status": FILLED if left == 0 else PARTIAL}
        store.create(ORD, order_id, record=taker)
        store.put(ORD, listing_id, record=taken)
        if left == 0:
            close_order(store, taken)
        buyer, seller = (taker, taken) if side == BUY else (taken, taker)
        trade = record_trade(store, today, order_id, LISTING, code, leg(buyer), leg(seller), qty_t, price, seq,
                             taker["posted_at"])
        balances.write()
        emit(ctx, "TradeExecuted", announced(trade))
        return trade

    @transaction
    def propose_block(self, ctx: Context, order_id: str, account_id: str, counterparty_account: str, side: str,
                      product: str, qty_t: int, price_fen: int) -> dict[str, Any]:
        """Propose a block trade to `counterparty_account` (emitter of the account's entity);
        returns the order.

        Block session 13:00-15:00 (ERR_MARKET_CLOSED); qty_t ≥ 100,000 (ERR_QTY_RULE);
        price within ±30 % of the previous close (ERR_PRICE_LIMIT); the counterparty is
        another existing account (ERR_SELF_TRADE, ERR_NOT_FOUND). Freezes as a listing.
        """
        check_id(order_id, "order_id")
        check_id(account_id, "account_id")
        check_id(counterparty_account, "counterparty_account")
        one_of(side, (BUY, SELL), "side")
        check_id(product, "product")
        positive(qty_t, "qty_t")
        positive(price_fen, "price_fen")
        who = caller(ctx, EMITTERS)
        store = Store(ctx)
        today = session(ctx, store, BLOCK)
        quantity_rule(qty_t, BLOCK)
        unused(store, order_id)
        own_account(store, who, account_id)
        if counterparty_account == account_id:
            raise fail("ERR_SELF_TRADE", f"a block of {account_id} must name another account as counterparty")
        store.need(ACCT, counterparty_account)
        record = tradable(store, product, today)
        within_band(record, price_fen, BLOCK)
        balances = Balances(store)
        balances.freeze(side, account_id, product, qty_t, price_fen, today)
        order = {**new_order(order_id, BLOCK, side, account_id, product, qty_t, price_fen, today, now(ctx)),
                 "counterparty_account": counterparty_account}
        touch_product(store, record, today)
        store.create(ORD, order_id, record=order)
        store.put(OPENORD, today, order_id, record={"product": product, "mode": BLOCK})
        balances.write()
        emit(ctx, "BlockProposed", {"order_id": order_id, "account_id": account_id,
                                    "counterparty_account": counterparty_account, "side": side, "product": product,
                                    "qty_t": qty_t, "price_fen": price_fen})
        return order

    @transaction
    def accept_block(self, ctx: Context, order_id: str, account_id: str) -> dict[str, Any]:
        """Accept block `order_id` whole for `account_id`, its named counterparty (emitter of
        that account's entity; ERR_UNAUTHORIZED otherwise); returns the trade,
        `TRD~{today}~{order_id}`.

        Block session; the block must be open and of today (ERR_CONFLICT). Freezes the
        acceptor's side as a listing would.
        """
        check_id(order_id, "order_id")
        check_id(account_id, "account_id")
        who = caller(ctx, EMITTERS)
        store = Store(ctx)
        today = session(ctx, store, BLOCK)
        block = store.need(ORD, order_id)
        if block["mode"] != BLOCK:
            raise fail("ERR_CONFLICT", f"order {order_id} is a {block['mode']} order, not a block")
        own_account(store, who, account_id)
        if block["counterparty_account"] != account_id:
            raise fail("ERR_UNAUTHORIZED", f"block {order_id} is offered to account {block['counterparty_account']}, "
                                           f"not {account_id}")
        if block["status"] != OPEN:
            raise fail("ERR_CONFLICT", f"block {order_id} is {block['status']}, not open")
        if block["trade_date"] != today:
            raise fail("ERR_CONFLICT", f"block {order_id} of {block['trade_date']} may be accepted that day only, "
                                       f"not on {today}")
        code, qty, price = block["product"], block["qty_t"], block["price_fen"]
        record = tradable(store, code, today)
        side = BUY if block["side"] == SELL else SELL
        balances = Balances(store)
        balances.freeze(side, account_id, code, qty, price, today)
        seq = touch_product(store, record, today)
        accepted = {**block, "remaining_t": 0, "status": FILLED}
        store.put(ORD, order_id, record=accepted)
        close_order(store, accepted)
        acceptor, proposer = (account_id, order_id), leg(accepted)
        buyer, seller = (acceptor, proposer) if side == BUY else (proposer, acceptor)
        trade = record_trade(store, today, order_id, BLOCK, code, buyer, seller, qty, price, seq, now(ctx).isoformat())
        balances.write()
        emit(ctx, "TradeExecuted", announced(trade))
        return trade

    @transaction
    def cancel_order(self, ctx: Context, order_id: str) -> dict[str, Any]:
        """Cancel an open order (emitter of the order's account, or the exchange operator),
        at any time; returns the order.

        OPEN or PARTIAL only (ERR_CONFLICT), and an auction only while nobody has bid
        (ERR_CONFLICT); what remains is released (tonnes, or remaining × price of funds).
        """
        check_id(order_id, "order_id")
        who = caller(ctx, OWNER_OR_EXCHANGE)
        store = Store(ctx)
        order = store.need(ORD, order_id)
        if who.msp_id == EMITTER:
            owns(who, store.need(ACCT, order["account_id"]))
        if order["status"] not in LIVE:
            raise fail("ERR_CONFLICT", f"order {order_id} is {order['status']}: only an open order can be cancelled")
        if order["mode"] == BID_AUCTION and any(True for _ in store.scan(AUCBID, order_id)):
            raise fail("ERR_CONFLICT", f"auction {order_id} has bids: it ends with exchange.close_bidding")
        balances = Balances(store)
        balances.release(order)
        cancelled = {**order, "status": CANCELLED}
        store.touch(PRODUCT, order["product"])
        store.put(ORD, order_id, record=cancelled)
        close_order(store, cancelled)
        balances.write()
        emit(ctx, "OrderCancelled", {"order_id": order_id, "account_id": order["account_id"], "mode": order["mode"],
                                     "side": order["side"], "product": order["product"],
                                     "remaining_t": order["remaining_t"]})
        return cancelled


# ----- rules ---------------------------------------------------------------------------


def session(ctx: Context, store: Store, mode: str) -> str:
    """Today's date (YYYY-MM-DD) if `mode`'s session is open now; ERR_MARKET_CLOSED if not."""
    at = now(ctx)
    if not is_working_day(at.date(), holidays(store)):
        raise fail("ERR_MARKET_CLOSED", f"{at.date().isoformat()} is not a working day (weekend or holiday)")
    if not any(start <= at.time() < end for start, end in HOURS[mode]):
        hours = " and ".join(f"{start:%H:%M}-{end:%H:%M}" for start, end in HOURS[mode])
        raise fail("ERR_MARKET_CLOSED", f"{mode.lower()} orders trade {hours}, not at {at:%H:%M}")
    return at.date().isoformat()


def holidays(store: Store) -> list[str]:
    """The holidays of every period config: no trading on them."""
    return sorted({day for _, period in store.scan(CFG, "period") for day in period.get("holidays", [])})


def quantity_rule(qty_t: int, mode: str) -> None:
    if mode == LISTING and qty_t >= BLOCK_MIN_T:
        raise fail("ERR_QTY_RULE", f"a listing is below {BLOCK_MIN_T} t (more is a block), found {qty_t}")
    if mode == BLOCK and qty_t < BLOCK_MIN_T:
        raise fail("ERR_QTY_RULE", f"a block is at least {BLOCK_MIN_T} t (less is a listing), found {qty_t}")


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up to a whole number (both above 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def band(prev_close_fen: int, mode: str) -> tuple[int, int]:
    """The lowest and highest price of `mode` (4,900 → 4,410-5,390 for a listing)."""
    pct = BAND_PCT[mode]
    return half_up(prev_close_fen * (100 - pct), 100), half_up(prev_close_fen * (100 + pct), 100)


def within_band(product: dict[str, Any], price_fen: int, mode: str) -> None:
    low, high = band(product["prev_close_fen"], mode)
    if not low <= price_fen <= high:
        raise fail("ERR_PRICE_LIMIT", f"a {MODE_NAMES[mode]} of {product['code']} is priced {low}-{high} fen "
                                      f"(±{BAND_PCT[mode]} % of the previous close {product['prev_close_fen']}), "
                                      f"found {price_fen}")


def unused(store: Store, order_id: str) -> None:
    if store.get(ORD, order_id) is not None:
        raise fail("ERR_CONFLICT", f"order {order_id} already exists")


def owns(who: Caller, account: dict[str, Any]) -> None:
    if who.attribute("entity_id") != account["entity_id"]:
        raise fail("ERR_UNAUTHORIZED", f"an emitter of entity {who.attribute('entity_id') or '?'} may not act for "
                                       f"account {account['account_id']}")


def own_account(store: Store, who: Caller, account_id: str) -> dict[str, Any]:
    """The account the caller acts for, if active (ERR_FROZEN): an emitter's entity's own
    (ERR_UNAUTHORIZED); the ministry's, where a function lets it in, any."""
    account = store.need(ACCT, account_id)
    if who.msp_id != MEE:
        owns(who, account)
    if account["status"] != "ACTIVE":
        raise fail("ERR_FROZEN", f"account {account_id} is {account['status']}, not ACTIVE")
    return account


def tradable(store: Store, code: str, today: str) -> dict[str, Any]:
    """The listed product's record, if it takes orders today: not while an earlier day's
    orders await settlement (ERR_MARKET_CLOSED), as that day's close sets today's band."""
    product = listed(store, code)
    pending = product.get("unsettled_date") or ""
    if pending not in ("", today):
        raise fail("ERR_MARKET_CLOSED", f"{code} takes orders of {today} once its orders of {pending} are settled")
    return product


def best_levels(store: Store, product: str, side: str) -> list[int]:
    """The best five price levels of one side of the book: lowest asks, highest bids."""
    prices = {entry["price_fen"] for _, entry in store.scan(BOOK, product, side)}
    return sorted(prices, reverse=side == BUY)[:BEST_LEVELS]


def unsettled_purchases(store: Store, account_id: str, product: str, today: str) -> int:
    """Tonnes of `product` the account bought today, delivered at settlement."""
    return sum(trade["qty_t"] for _, trade in store.scan(TRD, today)
               if trade["buy_account"] == account_id and trade["product"] == product and trade["status"] == EXECUTED)


# ----- records -------------------------------------------------------------------------


def new_order(order_id: str, mode: str, side: str, account_id: str, product: str, qty_t: int, price_fen: int,
              today: str, at: dt.datetime) -> dict[str, Any]:
    return {"order_id": order_id, "mode": mode, "side": side, "account_id": account_id, "product": product,
            "qty_t": qty_t, "remaining_t": qty_t, "price_fen": price_fen, "counterparty_account": "",
            "status": OPEN, "trade_date": today, "posted_at": at.isoformat()}


def touch_product(store: Store, product: dict[str, Any], today: str) -> int:
    """Write the product's record (so the exchange endorses), noting `today` as its
    unsettled date; the new `touched` count orders the product's trades."""
    seq = int(product.get("touched", 0)) + 1
    store.put(PRODUCT, product["code"], record={**product, "touched": seq, "unsettled_date": today})
    return seq


def close_order(store: Store, order: dict[str, Any]) -> None:
    """Take an order that is no longer open out of the book, its auction's bids and the open orders."""
    if order["mode"] == LISTING:
        store.delete(BOOK, order["product"], order["side"], order["order_id"])
    if order["mode"] == BID:
        store.delete(AUCBID, order["auction_id"], order["order_id"])
    store.delete(OPENORD, order["trade_date"], order["order_id"])


def leg(order: dict[str, Any]) -> tuple[str, str]:
    """(account, order id): one side of a trade."""
    return order["account_id"], order["order_id"]


def record_trade(store: Store, today: str, trade_id: str, mode: str, product: str, buyer: tuple[str, str],
                 seller: tuple[str, str], qty_t: int, price_fen: int, seq: int, at: str) -> dict[str, Any]:
    """`TRD~{today}~{trade_id}` between the buyer's and the seller's (account, order), EXECUTED."""
    trade = {"trade_id": trade_id, "mode": mode, "product": product, "buy_account": buyer[0], "buy_order": buyer[1],
             "sell_account": seller[0], "sell_order": seller[1], "qty_t": qty_t, "price_fen": price_fen,
             "status": EXECUTED, "executed_at": at, "seq": seq}
    store.create(TRD, today, trade_id, record=trade)
    return trade


def announced(trade: dict[str, Any]) -> dict[str, Any]:
    """The TradeExecuted payload: ids and quantities."""
    return {field: trade[field] for field in ("trade_id", "mode", "product", "buy_account", "buy_order",
                                              "sell_account", "sell_order", "qty_t", "price_fen")}


class Balances:
    """The holdings (`HOLD~`) and funds (`FUND~`) one transaction changes, each read once
    and written once by `write` (a transaction does not read its own writes, so all
    changes to a record go to one copy)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.holdings: dict[tuple[str, str], dict[str, Any]] = {}
        self.funds: dict[str, dict[str, Any]] = {}

    def holding(self, account_id: str, product: str) -> dict[str, Any]:
        if (account_id, product) not in self.holdings:
            self.holdings[account_id, product] = dict(holding_of(self.store, account_id, product))
        return self.holdings[account_id, product]

    def money(self, account_id: str) -> dict[str, Any]:
        if account_id not in self.funds:
            self.funds[account_id] = self.store.need(FUND, account_id)
        return self.funds[account_id]

    def freeze(self, side: str, account_id: str, product: str, qty_t: int, price_fen: int, today: str) -> None:
        """Set aside what an order on `side` may deliver: tonnes (SELL) or qty × price fen (BUY)."""
        if side == SELL:
            holding = self.holding(account_id, product)
            if holding["available_t"] < qty_t:
                bought = unsettled_purchases(self.store, account_id, product, today)
                message = f"{account_id} has {holding['available_t']} t {product} available, {qty_t} t to sell"
                if holding["available_t"] + bought >= qty_t:
                    raise fail("ERR_T1_RESTRICTION", f"{message}; the {bought} t bought today can be sold once settled")
                raise fail("ERR_INSUFFICIENT_HOLDINGS", message)
            holding["available_t"] -= qty_t
            holding["frozen_t"] += qty_t
        else:
            funds, amount = self.money(account_id), qty_t * price_fen
            if funds["available_fen"] < amount:
                raise fail("ERR_INSUFFICIENT_FUNDS", f"{account_id} has {funds['available_fen']} fen available, "
                                                     f"{amount} fen to buy {qty_t} t at {price_fen}")
            funds["available_fen"] -= amount
            funds["frozen_fen"] += amount

    def release(self, order: dict[str, Any]) -> None:
        """Return what an open order still sets aside (its remaining tonnes, or their price)."""
        qty = order["remaining_t"]
        if qty == 0:
            return
        if order["side"] == SELL:
            holding = self.holding(order["account_id"], order["product"])
            holding["frozen_t"] -= qty
            holding["available_t"] += qty
        else:
            funds, amount = self.money(order["account_id"]), qty * order["price_fen"]
            funds["frozen_fen"] -= amount
            funds["available_fen"] += amount

    def write(self) -> None:
        for (account_id, product), holding in sorted(self.holdings.items()):
            self.store.put(HOLD, account_id, product, record=holding)
        for account_id, funds in sorted(self.funds.items()):
            self.store.put(FUND, account_id, record=funds)
