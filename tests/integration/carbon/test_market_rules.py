"""DOMAIN.md §8 SC-02, SC-03, SC-04 and SC-15 — the exchange's rules for listings, block
trades, same-day resale and settlement — on the default network, called by the market's
parties as the network file names them; then a seeded random sequence of listings,
takes, cancellations and settlements, each call checked against a small model of the
market kept here (apart from the chaincode, so that a bug is not repeated by its check)
and against the invariants of §5.4.

The network is shared, so the module keeps to ids of its own: period CP2031-2032 with
products CEA31 (previous close 4,900 fen, as SC-02 gives it) and CEA32 (5,000, as SC-03
gives it), benchmark set BM-MKT (1,000 kg/MWh, so a PRE allocation on m MWh is
floor(0.7 × m) t), entities E10-E19 (accounts A-E10 ...), orders SCnn-... and MR-...,
and trading days 2024-03-04 to 2024-03-13. A date is settled once for every product, and
a product takes no orders of a later day while an earlier one is unsettled, so every
test settles the days it trades on, each on days of its own. The scenarios trade at
the previous close, so each finds the close it starts from whatever scenario ran
before; the random sequence moves the closes and comes last.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.carbon import CarbonMarket

pytestmark = pytest.mark.integration

PERIOD = {"vintages": [2031, 2032], "products": ["CEA31", "CEA32"],
          "report_deadline": "2032-03-31T23:59+08:00", "verify_deadline": "2032-06-30T23:59+08:00",
          "surrender_deadline": "2033-12-31T17:00+08:00", "milestone95_date": "2033-11-15"}
BENCHMARKS = {unit_type: {"supply_kg_per_mwh": 1_000, "heat_kg_per_gj": 100}
              for unit_type in ("COAL_GT300", "COAL_LE300", "COAL_UNCONV", "GAS")}
SETUP_AT = "2024-03-01T09:00"
REGISTRY, EXCHANGE, BANK = "Registry/Operator", "Exchange/Operator", "Bank/Operator"
OFFICER = "ProvGD/Officer"

# What each entity starts with: tonnes per product (PRE allocations), fen deposited.
HOLDINGS = {"E10": {"CEA31": 200_000}, "E11": {"CEA32": 200_000}, "E15": {"CEA32": 20_000},
            "E16": {"CEA31": 50_000}, "E18": {"CEA31": 30_000, "CEA32": 30_000},
            "E19": {"CEA31": 30_000, "CEA32": 30_000}}
FUNDS = {"E12": 800_000_000, "E14": 100_000_000, "E17": 100_000_000, "E18": 100_000_000, "E19": 100_000_000}
VINTAGE = {"CEA31": 2031, "CEA32": 2032}


def emitter(entity: str) -> str:
    return f"Emitter/{entity}"


def held(market: CarbonMarket, account: str, product: str) -> tuple[int, int]:
    """(available, frozen) tonnes; an account that never held the product has none."""
    holding = market.records("HOLD").get((account, product), {"available_t": 0, "frozen_t": 0})
    return holding["available_t"], holding["frozen_t"]


def money(market: CarbonMarket, account: str) -> tuple[int, int]:
    """(available, frozen) fen."""
    funds = market.record("FUND", account)
    return funds["available_fen"], funds["frozen_fen"]


def prev_close(market: CarbonMarket, product: str) -> int:
    return int(market.record("PRODUCT", product)["prev_close_fen"])


def settle(market: CarbonMarket, date: str) -> Any:
    """Settle `date` after its close, endorsed by all three organisations it needs."""
    return market.trading(EXCHANGE, "settlement:settle_day", date, at=f"{date}T15:30",
                  endorsers=["RegistryMSP", "ExchangeMSP", "BankMSP"]).result


@pytest.fixture(scope="module")
def rules(market: CarbonMarket) -> CarbonMarket:
    """The module's period, benchmarks, products and accounts; HOLDINGS allocated, FUNDS
    deposited; E14 owes 10,000 t for 2032 (FINAL allocation 0, emissions 50,000, gap cap
    20 %) and holds none."""
    market.trading("MEE/Regulator", "admin:init_period", "CP2031-2032", json.dumps(PERIOD), at=SETUP_AT)
    market.trading("MEE/Regulator", "admin:set_benchmarks", "BM-MKT", json.dumps(BENCHMARKS), at=SETUP_AT)
    market.trading(EXCHANGE, "admin:list_product", "CEA31", "CEA", 2031, 4_900, at=SETUP_AT)
    market.trading(EXCHANGE, "admin:list_product", "CEA32", "CEA", 2032, 5_000, at=SETUP_AT)
    for n in range(10, 20):
        market.trading(REGISTRY, "registry:open_account", f"A-E{n}", f"E{n}", f"Market rules {n}", "GD",
               "COAL_GT300", at=SETUP_AT)
    for entity, products in HOLDINGS.items():
        for product, tonnes in products.items():
            mwh = -(-tonnes * 10 // 7)  # the least output whose floor(0.7 × mwh) is `tonnes`
            market.trading(OFFICER, "registry:issue_allocation", entity, VINTAGE[product], "PRE", "BM-MKT", mwh, 0,
                   1_000, at=SETUP_AT)
            assert held(market, f"A-{entity}", product) == (tonnes, 0)
    for entity, fen in FUNDS.items():
        market.trading(BANK, "settlement:deposit", f"A-{entity}", fen, f"MKT-{entity}", at=SETUP_AT)
    for phase in ("PRE", "FINAL"):
        market.trading(OFFICER, "registry:issue_allocation", "E14", 2032, phase, "BM-MKT", 0, 0, 1_000, at=SETUP_AT)
    # No report of E14 is on data-sharing: SC-04 needs the obligation only (the
    # reconciler of DOMAIN.md §6.3 lists it as unmatched).
    market.trading(OFFICER, "registry:set_obligation", "E14", 2032, 50_000, "mrv:AR~E14~2032~v1:" + "cd" * 32,
           at=SETUP_AT)
    assert market.record("ENT", "E14")["vintages"]["2032"]["obligation_t"] == 10_000
    market.check_invariants()
    return market


# ----- SC-02 Listing order breaks quantity or price rules ---------------------------------


def test_sc02_listing_quantity_and_price_rules(rules: CarbonMarket) -> None:
    """A listing is below 100,000 t and within ±10 % of the previous close (4,900 →
    4,410-5,390 fen), priced in whole fen; refusals leave no trace, the order that
    passes freezes its tonnes until settlement expires it."""
    market, day = rules, "2024-03-04"
    assert prev_close(market, "CEA31") == 4_900 and held(market, "A-E10", "CEA31") == (200_000, 0)
    at, sell = f"{day}T10:00", ("exchange:post_listing", "SC02-1", "A-E10", "SELL", "CEA31")

    market.refused("ERR_QTY_RULE", emitter("E10"), "trading", "trading", *sell, 100_000, 5_000, at=at,
                   naming="below 100000 t")
    market.refused("ERR_PRICE_LIMIT", emitter("E10"), "trading", "trading", *sell, 10_000, 5_391, at=at,
                   naming="4410-5390 fen")
    market.refused("ERR_PRICE_LIMIT", emitter("E10"), "trading", "trading", *sell, 10_000, 4_409, at=at,
                   naming="4410-5390 fen")
    for price in ("50.005", 5_000.5, "abc"):
        market.refused("ERR_INVALID_ARGUMENT", emitter("E10"), "trading", "trading", *sell, 10_000, price, at=at,
                       naming="price_fen")
    assert "SC02-1" not in {key[0] for key in market.records("ORD")}

    order = market.trading(emitter("E10"), *sell, 10_000, 5_390, at=at).result
    assert (order["status"], order["remaining_t"], order["price_fen"]) == ("OPEN", 10_000, 5_390)
    assert held(market, "A-E10", "CEA31") == (190_000, 10_000)
    market.check_invariants()

    settled = settle(market, day)
    assert settled["expired"] == [{"order_id": "SC02-1", "remaining_t": 10_000}]
    assert market.record("ORD", "SC02-1")["status"] == "EXPIRED"
    assert held(market, "A-E10", "CEA31") == (200_000, 0)
    assert prev_close(market, "CEA31") == 4_900  # no trade, no new close
    market.check_invariants()


# ----- SC-03 Block trade bands and session -------------------------------------------------


def test_sc03_block_bands_session_and_counterparty(rules: CarbonMarket) -> None:
    """A block is at least 100,000 t, within ±30 % of the previous close (5,000 →
    3,500-6,500 fen), proposed 13:00-15:00 to one named account, which alone may accept
    it; its trade settles both legs and leaves the close alone (blocks do not set it)."""
    market, day = rules, "2024-03-05"
    assert prev_close(market, "CEA32") == 5_000 and held(market, "A-E11", "CEA32") == (200_000, 0)
    assert money(market, "A-E12") == (800_000_000, 0)
    block = ("exchange:propose_block", "SC03-1", "A-E11", "A-E12", "SELL", "CEA32")
    afternoon = f"{day}T13:30"

    market.refused("ERR_QTY_RULE", emitter("E11"), "trading", "trading", *block, 99_999, 5_000, at=afternoon,
                   naming="at least 100000 t")
    market.refused("ERR_PRICE_LIMIT", emitter("E11"), "trading", "trading", *block, 120_000, 6_501, at=afternoon,
                   naming="3500-6500 fen")
    market.refused("ERR_MARKET_CLOSED", emitter("E11"), "trading", "trading", *block, 120_000, 6_500,
                   at=f"{day}T10:30", naming="13:00-15:00")
    proposed = market.trading(emitter("E11"), *block, 120_000, 6_500, at=afternoon).result
    assert (proposed["mode"], proposed["status"], proposed["counterparty_account"]) == ("BLOCK", "OPEN", "A-E12")
    assert held(market, "A-E11", "CEA32") == (80_000, 120_000)

    accept = ("exchange:accept_block", "SC03-1")
    market.refused("ERR_UNAUTHORIZED", emitter("E13"), "trading", "trading", *accept, "A-E13", at=f"{day}T13:40",
                   naming="offered to account A-E12, not A-E13")
    market.refused("ERR_UNAUTHORIZED", emitter("E13"), "trading", "trading", *accept, "A-E12", at=f"{day}T13:40",
                   naming="may not act for account A-E12")
    market.refused("ERR_UNAUTHORIZED", emitter("E11"), "trading", "trading", *accept, "A-E11", at=f"{day}T13:40",
                   naming="offered to account A-E12")
    taken = market.trading(emitter("E12"), *accept, "A-E12", at=f"{day}T13:45")
    trade = taken.result
    assert (trade["mode"], trade["buy_account"], trade["sell_account"], trade["qty_t"], trade["price_fen"],
            trade["status"]) == ("BLOCK", "A-E12", "A-E11", 120_000, 6_500, "EXECUTED")
    assert "BankMSP" in taken.endorsers  # the buyer's money is frozen: the bank endorses
    assert money(market, "A-E12") == (20_000_000, 780_000_000)
    assert market.record("ORD", "SC03-1")["status"] == "FILLED"
    market.check_invariants()

    settle(market, day)
    assert held(market, "A-E12", "CEA32") == (120_000, 0)
    assert held(market, "A-E11", "CEA32") == (80_000, 0)
    assert money(market, "A-E11") == (780_000_000, 0)
    assert money(market, "A-E12") == (20_000_000, 0)
    assert market.record("DAY", "CEA32", day) == {"open_fen": 5_000, "close_fen": 5_000, "vwap_fen": 6_500,
                                                  "volume_t": 120_000, "settled": True}
    assert prev_close(market, "CEA32") == 5_000
    market.check_invariants()


# ----- SC-04 Same-day resale forbidden (T+1) -------------------------------------------------


def test_sc04_bought_tonnes_are_sold_or_surrendered_after_settlement(rules: CarbonMarket) -> None:
    """What E14 buys on day T reaches its holding only at T's settlement: selling it
    that day is ERR_T1_RESTRICTION, surrendering it ERR_INSUFFICIENT_HOLDINGS; on T+1
    both go through."""
    market, day, next_day = rules, "2024-03-06", "2024-03-07"
    assert prev_close(market, "CEA32") == 5_000
    assert held(market, "A-E14", "CEA32") == (0, 0) and money(market, "A-E14") == (100_000_000, 0)
    market.trading(emitter("E15"), "exchange:post_listing", "SC04-1", "A-E15", "SELL", "CEA32", 10_000, 5_000,
           at=f"{day}T09:40")
    trade = market.trading(emitter("E14"), "exchange:take_listing", "SC04-2", "SC04-1", "A-E14", 10_000,
                   at=f"{day}T10:00").result
    assert (trade["buy_account"], trade["status"]) == ("A-E14", "EXECUTED")
    assert money(market, "A-E14") == (50_000_000, 50_000_000)

    resale = ("exchange:post_listing", "SC04-3", "A-E14", "SELL", "CEA32")
    market.refused("ERR_T1_RESTRICTION", emitter("E14"), "trading", "trading", *resale, 10_000, 5_000,
                   at=f"{day}T14:00", naming="10000 t bought today")
    market.refused("ERR_INSUFFICIENT_HOLDINGS", emitter("E14"), "trading", "trading", *resale, 10_001, 5_000,
                   at=f"{day}T14:00")  # more than it bought
    surrender = ("registry:surrender", "E14", 2032, [{"product": "CEA32", "qty_t": 10_000}])
    market.refused("ERR_INSUFFICIENT_HOLDINGS", emitter("E14"), "trading", "trading", *surrender, at=f"{day}T14:00",
                   naming="0 t CEA32 available")
    market.check_invariants()

    settle(market, day)
    assert held(market, "A-E14", "CEA32") == (10_000, 0)
    assert (held(market, "A-E15", "CEA32"), money(market, "A-E15")) == ((10_000, 0), (50_000_000, 0))
    order = market.trading(emitter("E14"), *resale, 10_000, 5_000, at=f"{next_day}T09:45").result
    assert order["status"] == "OPEN"
    assert held(market, "A-E14", "CEA32") == (0, 10_000)
    market.check_invariants()

    settle(market, next_day)  # the resale finds no taker and expires
    assert market.record("ORD", "SC04-3")["status"] == "EXPIRED"
    done = market.trading(emitter("E14"), *surrender, at=f"{next_day}T16:00").result
    assert (done["total_t"], done["remaining_t"]) == (10_000, 0)
    assert held(market, "A-E14", "CEA32") == (0, 0)
    market.check_invariants()


# ----- SC-15 Settlement needs the bank; failures leave no trace ------------------------------


def test_sc15_settlement_needs_the_bank_and_happens_once(rules: CarbonMarket) -> None:
    """Settlement moves money (`FUND~`, Registry AND Bank): endorsed by Registry and
    Exchange only it commits as invalid and changes nothing; with the bank it settles,
    once, and never before the close at 15:00."""
    market, day = rules, "2024-03-08"
    assert prev_close(market, "CEA31") == 4_900
    market.trading(emitter("E16"), "exchange:post_listing", "SC15-1", "A-E16", "SELL", "CEA31", 10_000, 4_900,
           at=f"{day}T10:00")
    market.trading(emitter("E17"), "exchange:take_listing", "SC15-2", "SC15-1", "A-E17", 10_000, at=f"{day}T10:05")
    before = (held(market, "A-E16", "CEA31"), held(market, "A-E17", "CEA31"), money(market, "A-E16"),
              money(market, "A-E17"))
    assert before == ((40_000, 10_000), (0, 0), (0, 0), (51_000_000, 49_000_000))

    market.refused("ERR_MARKET_CLOSED", EXCHANGE, "trading", "trading", "settlement:settle_day", day,
                   at=f"{day}T14:59", naming="after its close at 15:00")
    market.refused("ENDORSEMENT_POLICY_FAILURE", EXCHANGE, "trading", "trading", "settlement:settle_day", day,
                   at=f"{day}T15:30", endorsers=["RegistryMSP", "ExchangeMSP"])
    assert (held(market, "A-E16", "CEA31"), held(market, "A-E17", "CEA31"), money(market, "A-E16"),
            money(market, "A-E17")) == before
    assert market.record("TRD", day, "SC15-2")["status"] == "EXECUTED"
    assert day not in {key[0] for key in market.records("SETTLED")}

    settled = market.trading(EXCHANGE, "settlement:settle_day", day, at=f"{day}T15:31",
                     endorsers=["RegistryMSP", "ExchangeMSP", "BankMSP"])
    assert sorted(settled.endorsers) == ["BankMSP", "ExchangeMSP", "RegistryMSP"]
    assert settled.result["trades"] == [{"trade_id": "SC15-2", "product": "CEA31", "qty_t": 10_000,
                                         "price_fen": 4_900}]
    assert market.record("TRD", day, "SC15-2")["status"] == "SETTLED"
    assert (held(market, "A-E16", "CEA31"), held(market, "A-E17", "CEA31")) == ((40_000, 0), (10_000, 0))
    assert (money(market, "A-E16"), money(market, "A-E17")) == ((49_000_000, 0), (51_000_000, 0))
    market.check_invariants()

    market.refused("ERR_CONFLICT", EXCHANGE, "trading", "trading", "settlement:settle_day", day, at=f"{day}T16:00",
                   naming=f"{day} is already settled")
    market.refused("ERR_CONFLICT", REGISTRY, "trading", "trading", "settlement:settle_day", day, at=f"{day}T16:00")


# ----- a seeded random sequence, checked after every call ------------------------------------

TRADERS = ("E18", "E19")
PRODUCTS = ("CEA31", "CEA32")
LIVE = ("OPEN", "PARTIAL")
DAYS = ("2024-03-11", "2024-03-12", "2024-03-13")
# Times of the day: most in the listing sessions, some in the lunch break or before the open.
TIMES = ("09:15", "09:35", "09:50", "10:00", "10:30", "11:00", "11:20", "12:10", "13:05", "13:30", "14:00", "14:20",
         "14:40", "14:55")


def half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def listing_band(close: int) -> tuple[int, int]:
    """A listing's lowest and highest price: ±10 % of the previous close, half-up to the fen."""
    return half_up(close * 90, 100), half_up(close * 110, 100)


def in_session(hhmm: str) -> bool:
    return "09:30" <= hhmm < "11:30" or "13:00" <= hhmm < "15:00"


@dataclass
class Order:
    """An order as the model keeps it (a taker's order is FILLED at once)."""

    order_id: str
    account: str
    side: str
    product: str
    price: int
    remaining: int
    status: str = "OPEN"


@dataclass
class Trade:
    """A trade awaiting the day's settlement, between accounts."""

    buyer: str
    seller: str
    product: str
    qty: int
    price: int


@dataclass
class Model:
    """What the traders' records should be after each call, by DOMAIN.md §3.4 and §5.3:
    each method returns the code the call should end with ("ok" or an ERR_...) and, when
    it goes through, applies it."""

    holdings: dict[tuple[str, str], list[int]]  # (account, product): [available, frozen]
    funds: dict[str, list[int]]  # account: [available, frozen]
    closes: dict[str, int]
    orders: dict[str, Order] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)  # of the day, until settled
    settled: set[str] = field(default_factory=set)

    def best_five(self, product: str, side: str) -> list[int]:
        prices = {o.price for o in self.orders.values()
                  if o.product == product and o.side == side and o.status in LIVE and o.remaining > 0}
        return sorted(prices, reverse=side == "BUY")[:5]

    def freeze(self, account: str, side: str, product: str, qty: int, price: int) -> str:
        if side == "SELL":
            holding = self.holdings[account, product]
            if holding[0] < qty:
                bought = sum(t.qty for t in self.trades if t.buyer == account and t.product == product)
                return "ERR_T1_RESTRICTION" if holding[0] + bought >= qty else "ERR_INSUFFICIENT_HOLDINGS"
            holding[0] -= qty
            holding[1] += qty
        else:
            if self.funds[account][0] < qty * price:
                return "ERR_INSUFFICIENT_FUNDS"
            self.funds[account][0] -= qty * price
            self.funds[account][1] += qty * price
        return "ok"

    def release(self, order: Order) -> None:
        if order.side == "SELL":
            self.holdings[order.account, order.product][0] += order.remaining
            self.holdings[order.account, order.product][1] -= order.remaining
        else:
            self.funds[order.account][0] += order.remaining * order.price
            self.funds[order.account][1] -= order.remaining * order.price

    def post(self, caller: str, order_id: str, account: str, side: str, product: str, qty: int, price: int,
             hhmm: str) -> str:
        low, high = listing_band(self.closes[product])
        if not in_session(hhmm):
            return "ERR_MARKET_CLOSED"
        if qty >= 100_000:
            return "ERR_QTY_RULE"
        if account != f"A-{caller}":
            return "ERR_UNAUTHORIZED"
        if not low <= price <= high:
            return "ERR_PRICE_LIMIT"
        code = self.freeze(account, side, product, qty, price)
        if code == "ok":
            self.orders[order_id] = Order(order_id, account, side, product, price, qty)
        return code

    def take(self, order_id: str, listing: Order, account: str, qty: int, hhmm: str) -> str:
        if not in_session(hhmm):
            return "ERR_MARKET_CLOSED"
        if listing.status not in LIVE:
            return "ERR_CONFLICT"
        if listing.account == account:
            return "ERR_SELF_TRADE"
        if listing.price not in self.best_five(listing.product, listing.side):
            return "ERR_NOT_BEST_FIVE"
        if qty > listing.remaining:
            return "ERR_QTY_RULE"
        side = "BUY" if listing.side == "SELL" else "SELL"
        code = self.freeze(account, side, listing.product, qty, listing.price)
        if code == "ok":
            listing.remaining -= qty
            listing.status = "FILLED" if listing.remaining == 0 else "PARTIAL"
            self.orders[order_id] = Order(order_id, account, side, listing.product, listing.price, 0, "FILLED")
            buyer, seller = (account, listing.account) if side == "BUY" else (listing.account, account)
            self.trades.append(Trade(buyer, seller, listing.product, qty, listing.price))
        return code

    def cancel(self, caller: str, order: Order) -> str:
        if caller != "exchange" and order.account != f"A-{caller}":
            return "ERR_UNAUTHORIZED"
        if order.status not in LIVE:
            return "ERR_CONFLICT"
        self.release(order)
        order.status = "CANCELLED"
        return "ok"

    def settle(self, date: str, hhmm: str) -> str:
        if hhmm < "15:00":
            return "ERR_MARKET_CLOSED"
        if date in self.settled:
            return "ERR_CONFLICT"
        for t in self.trades:  # delivery versus payment
            self.holdings[t.seller, t.product][1] -= t.qty
            self.holdings[t.buyer, t.product][0] += t.qty
            self.funds[t.buyer][1] -= t.qty * t.price
            self.funds[t.seller][0] += t.qty * t.price
        for order in self.orders.values():
            if order.status in LIVE:
                self.release(order)
                order.status = "EXPIRED"
        for product in self.closes:  # the close: VWAP of the day's (listing) trades
            traded = [t for t in self.trades if t.product == product]
            if traded:
                self.closes[product] = half_up(sum(t.qty * t.price for t in traded), sum(t.qty for t in traded))
        self.trades.clear()
        self.settled.add(date)
        return "ok"


@dataclass(frozen=True)
class Call:
    """A call of the trading chaincode and the code it must end with ("ok" or ERR_...)."""

    user: str
    function: str
    args: tuple[object, ...]
    at: str
    expected: str


def random_call(rng: random.Random, model: Model, date: str, hhmm: str, order_id: str) -> Call:
    """One call, plausible or invalid on purpose (another's account, off the band, a
    block's size, a self-trade, more than remains, a closed order, before the close),
    and the model's verdict on it."""
    at = f"{date}T{hhmm}"
    who = rng.choice(TRADERS)
    other = TRADERS[1 - TRADERS.index(who)]
    product, side = rng.choice(PRODUCTS), rng.choice(("BUY", "SELL"))
    low, high = listing_band(model.closes[product])
    listings = [o for o in model.orders.values() if o.status in LIVE]
    action = rng.choices(("post", "take", "cancel", "foreign", "off-band", "block-size", "resale", "early settle"),
                         weights=(6, 8, 3, 1, 1, 1, 1, 1))[0]
    if action == "take" and not listings or action == "cancel" and not model.orders:
        action = "post"
    if action == "resale":  # sell what was bought today, not delivered yet: one tonne more than available
        if not model.trades:
            action = "post"
        else:
            bought = rng.choice(model.trades)
            who, product, side = bought.buyer[2:], bought.product, "SELL"

    if action in ("post", "foreign", "off-band", "block-size", "resale"):
        account = f"A-{other}" if action == "foreign" else f"A-{who}"
        qty = rng.choice((1, 500, 3_000, 8_000, 15_000, 40_000))
        if action == "block-size":
            qty = 100_000
        if action == "resale":
            qty = model.holdings[account, product][0] + 1
        price = rng.choice((low - 1, high + 1)) if action == "off-band" else rng.randint(low, high)
        expected = model.post(who, order_id, account, side, product, qty, price, hhmm)
        return Call(emitter(who), "exchange:post_listing", (order_id, account, side, product, qty, price), at, expected)
    if action == "take":
        listing = rng.choice(listings)
        counterparty = next(t for t in TRADERS if f"A-{t}" != listing.account)
        taker = rng.choice(TRADERS) if rng.random() < 0.2 else counterparty  # now and then its own
        qty = rng.choice((1, max(1, listing.remaining // 2), listing.remaining, listing.remaining + 1))
        expected = model.take(order_id, listing, f"A-{taker}", qty, hhmm)
        return Call(emitter(taker), "exchange:take_listing", (order_id, listing.order_id, f"A-{taker}", qty), at,
                    expected)
    if action == "cancel":
        order = rng.choice(listings if listings and rng.random() < 0.7 else list(model.orders.values()))
        canceller = rng.choice((order.account[2:], order.account[2:], other, "exchange"))
        user = EXCHANGE if canceller == "exchange" else emitter(canceller)
        return Call(user, "exchange:cancel_order", (order.order_id,), at, model.cancel(canceller, order))
    return Call(EXCHANGE, "settlement:settle_day", (date,), at, model.settle(date, hhmm))


def run(market: CarbonMarket, call: Call) -> None:
    """Make the call, which must end as the model expects (a refusal must change nothing)."""
    endorsers = ["RegistryMSP", "ExchangeMSP", "BankMSP"] if call.function == "settlement:settle_day" else None
    if call.expected == "ok":
        market.trading(call.user, call.function, *call.args, at=call.at, endorsers=endorsers)
    else:
        market.refused(call.expected, call.user, "trading", "trading", call.function, *call.args, at=call.at,
                       endorsers=endorsers)


def assert_agrees(market: CarbonMarket, model: Model) -> None:
    """The traders' holdings, funds and orders and the products' closes are the model's;
    the invariants hold."""
    holdings, funds, orders = market.records("HOLD"), market.records("FUND"), market.records("ORD")
    assert {key: [holdings[key]["available_t"], holdings[key]["frozen_t"]] for key in model.holdings} == model.holdings
    assert {account: [funds[(account,)]["available_fen"], funds[(account,)]["frozen_fen"]]
            for account in model.funds} == model.funds
    assert {oid: (orders[(oid,)]["status"], orders[(oid,)]["remaining_t"]) for oid in model.orders} == {
        oid: (order.status, order.remaining) for oid, order in model.orders.items()}
    assert {product: prev_close(market, product) for product in model.closes} == model.closes
    market.check_invariants()


def test_a_random_sequence_of_orders_keeps_the_rules_and_the_invariants(rules: CarbonMarket) -> None:
    """42 listings, takes, cancellations and settlements of E18 and E19 over three days
    (seeded), many refused on purpose; after each, the records are what the model says and
    I1-I5, I7-I9, I12 hold. Every day ends settled, and a second settlement is refused."""
    market, rng = rules, random.Random(1607)
    model = Model(holdings={(f"A-{t}", p): [HOLDINGS[t][p], 0] for t in TRADERS for p in PRODUCTS},
                  funds={f"A-{t}": [FUNDS[t], 0] for t in TRADERS},
                  closes={product: prev_close(market, product) for product in PRODUCTS})
    assert_agrees(market, model)
    ids = (f"MR-{n}" for n in range(1, 1_000))
    outcomes: Counter[str] = Counter()  # "function code"

    def settlement(user: str, date: str, hhmm: str) -> Call:
        return Call(user, "settlement:settle_day", (date,), f"{date}T{hhmm}", model.settle(date, hhmm))

    for date in DAYS:
        for hhmm in [*sorted(rng.choices(TIMES, k=12)), "15:30", "16:00"]:
            if hhmm == "15:30":
                call = settlement(EXCHANGE, date, hhmm)
            elif hhmm == "16:00":
                call = settlement(REGISTRY, date, hhmm)  # a second time
            else:
                call = random_call(rng, model, date, hhmm, next(ids))
            run(market, call)  # the model has taken the call's effects already
            outcomes[f"{call.function.split(':')[1]} {call.expected}"] += 1
            assert_agrees(market, model)

    # The seed makes a sequence that reaches every rule the model knows but the best five.
    codes = {outcome.split()[1] for outcome in outcomes}
    assert codes == {"ok", "ERR_MARKET_CLOSED", "ERR_QTY_RULE", "ERR_UNAUTHORIZED", "ERR_PRICE_LIMIT", "ERR_CONFLICT",
                     "ERR_SELF_TRADE", "ERR_T1_RESTRICTION", "ERR_INSUFFICIENT_HOLDINGS", "ERR_INSUFFICIENT_FUNDS"}
    assert outcomes["cancel_order ok"] > 0 and outcomes["settle_day ERR_MARKET_CLOSED"] > 0, outcomes
    trades = [trade for (date, _), trade in market.records("TRD").items() if date in DAYS]
    assert len(trades) == outcomes["take_listing ok"] >= 8
    assert all(trade["status"] == "SETTLED" for trade in trades)
