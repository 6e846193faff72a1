"""The trading channel's invariants (DOMAIN.md §5.4), checked over its records.

The checks read records of the `trading` chaincode by kind (HOLD, FUND, ORD, ...), from
wherever they come: the chaincode's `query:records` through a client (tests on a real
network, `consortia demo compliance-cycle`) or a fake ledger (unit tests). They are
written apart from the chaincode on purpose: a bug in its bookkeeping must not be
repeated by the code that checks it.

I5 is read as the exchange keeps it while trades await settlement: frozen tonnes =
remaining of open SELL orders + tonnes sold in EXECUTED trades + regulatory freezes;
frozen fen = remaining × price of open BUY orders + what EXECUTED trades owe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from consortia.carbon.session import Session

Key = tuple[str, ...]
# All records of one kind, by their key's parts (HOLD: (account, product)).
Records = Callable[[str], Mapping[Key, Mapping[str, Any]]]

LIVE = ("OPEN", "PARTIAL")
SUPERVISOR = "MEE/Regulator"  # reads the whole book (query:records)


def trading_records(session: Session, user: str = SUPERVISOR) -> Records:
    """The trading chaincode's records of a kind, as `user` reads them through
    `query:records` on a running network."""
    def read(kind: str) -> dict[Key, dict[str, Any]]:
        found = session.evaluate(user, "trading", "trading", "query:records", kind)
        return {tuple(entry["key"]): entry["record"] for entry in found}
    return read


@dataclass(frozen=True)
class ProductTotals:
    """I2's terms for one product, in tonnes."""

    product: str
    held_t: int  # available + frozen, over every account
    retired_t: int
    cancelled_t: int
    issued_t: int
    clawed_back_t: int

    @property
    def conserved(self) -> bool:
        return self.held_t + self.retired_t + self.cancelled_t == self.issued_t - self.clawed_back_t


@dataclass(frozen=True)
class FundTotals:
    """I3's terms, in fen."""

    held_fen: int  # available + frozen, over every account
    deposited_fen: int
    withdrawn_fen: int

    @property
    def conserved(self) -> bool:
        return self.held_fen == self.deposited_fen - self.withdrawn_fen


def product_totals(records: Records) -> list[ProductTotals]:
    """I2's terms for every listed product (those with an issuance record), by code."""
    holds, retired = records("HOLD"), records("RET")
    totals = []
    for (code,), issued in sorted(records("ISS").items()):
        held = sum(h["available_t"] + h["frozen_t"] for (_, product), h in holds.items() if product == code)
        gone = retired.get((code,), {})
        totals.append(ProductTotals(code, held, gone.get("retired_t", 0), gone.get("cancelled_t", 0),
                                    issued["issued_t"], issued["clawed_back_t"]))
    return totals


def fund_totals(records: Records) -> FundTotals:
    flows = records("FUNDTOTAL").get(("all",), {})
    held = sum(m["available_fen"] + m["frozen_fen"] for m in records("FUND").values())
    return FundTotals(held, flows.get("deposited_fen", 0), flows.get("withdrawn_fen", 0))


def violations(records: Records) -> list[str]:
    """Every breach of I1-I5, I7-I9 and I12 in the records, as sentences; empty when all hold."""
    found: list[str] = []
    holds, funds, orders, trades = records("HOLD"), records("FUND"), records("ORD"), records("TRD")
    live = {parts[0]: order for parts, order in orders.items() if order["status"] in LIVE}

    for (account, product), holding in holds.items():  # I1
        if holding["available_t"] < 0 or holding["frozen_t"] < 0:
            found.append(f"I1: holding {account}/{product} is negative: {dict(holding)}")
    for (account,), cash in funds.items():
        if cash["available_fen"] < 0 or cash["frozen_fen"] < 0:
            found.append(f"I1: funds of {account} are negative: {dict(cash)}")

    for totals in product_totals(records):  # I2
        if not totals.conserved:
            found.append(f"I2: {totals.product} is not conserved: held {totals.held_t} + retired {totals.retired_t} "
                         f"+ cancelled {totals.cancelled_t} != issued {totals.issued_t} "
                         f"- clawed back {totals.clawed_back_t}")
    money = fund_totals(records)  # I3
    if not money.conserved:
        found.append(f"I3: funds are not conserved: held {money.held_fen} != deposited {money.deposited_fen} "
                     f"- withdrawn {money.withdrawn_fen}")

    settled = records("SETTLED")  # I4: a date's trades all settled (both legs) with the date, or none
    for (date, trade_id), trade in trades.items():
        expected = "SETTLED" if (date,) in settled else "EXECUTED"
        if trade["status"] != expected:
            found.append(f"I4: trade {trade_id} of {date} is {trade['status']}, expected {expected}")

    found += _frozen(holds, funds, live, trades)
    found += _surrenders(records("ENT"))
    found += _bands(records("PRODUCT"), live)

    owners: dict[str, str] = {}  # I12
    for (account,), opened in records("ACCT").items():
        other = owners.setdefault(opened["entity_id"], account)
        if other != account:
            found.append(f"I12: entity {opened['entity_id']} has two accounts, {other} and {account}")
    return found


def _frozen(holds: Mapping[Key, Mapping[str, Any]], funds: Mapping[Key, Mapping[str, Any]],
            live: Mapping[str, Mapping[str, Any]], trades: Mapping[Key, Mapping[str, Any]]) -> list[str]:
    """I5: what is frozen is what open orders, unsettled trades and regulators set aside."""
    frozen_t: dict[Key, int] = {}
    frozen_fen: dict[str, int] = {}
    for order in live.values():
        if order["side"] == "SELL":
            at = (order["account_id"], order["product"])
            frozen_t[at] = frozen_t.get(at, 0) + order["remaining_t"]
        else:
            owed = order["remaining_t"] * order["price_fen"]
            frozen_fen[order["account_id"]] = frozen_fen.get(order["account_id"], 0) + owed
    for trade in trades.values():
        if trade["status"] == "EXECUTED":
            at = (trade["sell_account"], trade["product"])
            frozen_t[at] = frozen_t.get(at, 0) + trade["qty_t"]
            owed = trade["qty_t"] * trade["price_fen"]
            frozen_fen[trade["buy_account"]] = frozen_fen.get(trade["buy_account"], 0) + owed
    found = []
    for (account, product), holding in holds.items():
        expected = frozen_t.pop((account, product), 0) + holding.get("regulatory_frozen_t", 0)
        if holding["frozen_t"] != expected:
            found.append(f"I5: {account}/{product} has {holding['frozen_t']} t frozen, its orders and trades "
                         f"set aside {expected} t")
    for (account,), money in funds.items():
        expected = frozen_fen.pop(account, 0)
        if money["frozen_fen"] != expected:
            found.append(f"I5: {account} has {money['frozen_fen']} fen frozen, its orders and trades set aside "
                         f"{expected} fen")
    found += [f"I5: {account}/{product} has orders or trades setting aside {qty} t but no holding record"
              for (account, product), qty in frozen_t.items()]
    found += [f"I5: {account} has orders or trades setting aside {fen} fen but no funds record"
              for account, fen in frozen_fen.items()]
    return found


def _surrenders(entities: Mapping[Key, Mapping[str, Any]]) -> list[str]:
    """I7 (cumulative surrender within the obligation) and I8 (CCER within its cap)."""
    found = []
    for (entity,), record in entities.items():
        for vintage, year in record.get("vintages", {}).items():
            cea, ccer = year.get("surrendered_cea_t") or 0, year.get("surrendered_ccer_t") or 0
            obligation, cap = year.get("obligation_t") or 0, year.get("ccer_cap_t") or 0
            if cea + ccer > obligation:
                found.append(f"I7: {entity} surrendered {cea + ccer} t for {vintage}, over its obligation {obligation}")
            if ccer > cap:
                found.append(f"I8: {entity} surrendered {ccer} t CCER for {vintage}, over its cap {cap}")
    return found


def _bands(products: Mapping[Key, Mapping[str, Any]], live: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """I9: no order rests outside its mode's price band (listing ±10 %, block and
    bidding ±30 % of the previous close, rounded half up to the fen) or quantity band
    (listing 1-99,999 t, block from 100,000 t)."""
    found = []
    for order_id, order in live.items():
        prev = products[(order["product"],)]["prev_close_fen"]
        pct = 10 if order["mode"] == "LISTING" else 30
        low, high = (prev * (100 - pct) * 2 + 100) // 200, (prev * (100 + pct) * 2 + 100) // 200
        if not low <= order["price_fen"] <= high:
            found.append(f"I9: order {order_id} rests at {order['price_fen']} fen, outside {low}-{high}")
        least, most = {"LISTING": (1, 99_999), "BLOCK": (100_000, None)}.get(order["mode"], (1, None))
        if order["qty_t"] < least or (most is not None and order["qty_t"] > most):
            found.append(f"I9: order {order_id} ({order['mode']}) is for {order['qty_t']} t, outside its band")
    return found
