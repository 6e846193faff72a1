"""A property-based test of the exchange (DOMAIN.md §5.4, SC-05): Hypothesis drives
random sequences of listings, takes, cancellations, deposits, withdrawals and day
settlements (valid and invalid alike) against the trading chaincode on a fake ledger,
and after every step the invariants must hold: nothing negative (I1), allowances and
money conserved (I2, I3), trades delivered versus payment (I4), frozen amounts equal to
what open orders and unsettled trades set aside (I5), every resting order inside its
bands (I9), and the exchange's own indexes in step with the orders. A refused call must
leave the ledger as it was and answer with one of the contract's error codes.

When Hypothesis finds a breach it shrinks the sequence to a short one that shows it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chaincode.contract import ContractChaincode
from chaincode.contracts.trading import contracts
from tests.unit.chaincode.trading.conftest import Trading, make_parties
from tests.unit.chaincode.trading.market import (
    before_trading,
    check_invariants,
    records,
)

pytestmark = pytest.mark.unit

TRADERS = ("E1", "E2", "E3")  # E3 starts with nothing: its sales need settled purchases (T+1)
# Minutes into the day at which calls happen: mostly in the continuous sessions, one
# time in five outside them.
IN_SESSION = [9 * 60 + 30, 9 * 60 + 45, 10 * 60 + 30, 11 * 60 + 29, 13 * 60, 13 * 60 + 10, 14 * 60 + 30, 14 * 60 + 59]
MINUTES = st.sampled_from(IN_SESSION * 4 + [9 * 60 + 15, 12 * 60, 15 * 60 + 5, 8 * 60])
QUANTITIES = st.sampled_from([1, 100, 2_000, 2_000, 30_000, 30_000, 99_999, 0, 100_000])
LIVE = ("OPEN", "PARTIAL")


class Exchange(RuleBasedStateMachine):
    """The market of SC-01 before its trade (A-E1 1,754,000 t, A-E2 1,227,800 t, A-E3
    nothing; each 1,000,000,000 fen), one trading day after another from 2023-09-05."""

    cc = ContractChaincode(*contracts)

    def __init__(self) -> None:
        super().__init__()
        self.trading = before_trading(Trading(self.cc, make_parties()))
        self.day = dt.date(2023, 9, 5)
        self.ids = 0
        self.calls_today = 0
        self.outcomes: dict[str, int] = {}
        for who in TRADERS:
            self.call("bank", "settlement:deposit", f"A-{who}", 1_000_000_000, f"BR-{who}", minute=9 * 60)

    # --- one call, whatever its outcome ------------------------------------------------

    def call(self, who: str, function: str, *args: object, minute: int = 10 * 60) -> bool:
        at = f"{self.day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}"
        accepted, said = self.trading.attempt(who, function, *args, at=at)
        self.calls_today += 1
        name = f"{function} {said.split(':', 1)[0]}"
        self.outcomes[name] = self.outcomes.get(name, 0) + 1
        return accepted

    def next_id(self) -> str:
        self.ids += 1
        return f"P{self.ids}"

    def live(self) -> list[dict[str, Any]]:
        return [o for o in records(self.trading, "ORD").values() if o["status"] in LIVE]

    def prev_close(self) -> int:
        return int(records(self.trading, "PRODUCT")[("CEA21",)]["prev_close_fen"])

    # --- the rules ---------------------------------------------------------------------

    @rule(who=st.sampled_from(TRADERS), side=st.sampled_from(["BUY", "SELL"]), qty=QUANTITIES,
          move=st.integers(-12, 12), minute=MINUTES)
    def post(self, who: str, side: str, qty: int, move: int, minute: int) -> None:
        price = self.prev_close() * (100 + move) // 100
        self.call(who, "exchange:post_listing", self.next_id(), f"A-{who}", side, "CEA21", qty, price, minute=minute)

    @precondition(lambda self: any(o["mode"] == "LISTING" for o in self.live()))
    @rule(pick=st.integers(0, 1_000), who=st.sampled_from(TRADERS), share=st.sampled_from([1, 2, 4, 0]),
          minute=MINUTES)
    def take(self, pick: int, who: str, share: int, minute: int) -> None:
        listings = [o for o in self.live() if o["mode"] == "LISTING"]
        listing = listings[pick % len(listings)]
        qty = listing["remaining_t"] + 1 if share == 0 else max(1, listing["remaining_t"] // share)
        self.call(who, "exchange:take_listing", self.next_id(), listing["order_id"], f"A-{who}", qty, minute=minute)

    @precondition(lambda self: bool(self.live()))
    @rule(pick=st.integers(0, 1_000), by=st.sampled_from(["owner", "exchange", "stranger"]), minute=MINUTES)
    def cancel(self, pick: int, by: str, minute: int) -> None:
        orders = self.live()
        order = orders[pick % len(orders)]
        owner = order["account_id"][2:]
        who = {"owner": owner, "exchange": "exchange", "stranger": next(t for t in TRADERS if t != owner)}[by]
        self.call(who, "exchange:cancel_order", order["order_id"], minute=minute)

    @rule(who=st.sampled_from(TRADERS), deposit=st.booleans(),
          amount=st.sampled_from([1, 5_000_000, 200_000_000, 900_000_000]))
    def money(self, who: str, deposit: bool, amount: int) -> None:
        function = "settlement:deposit" if deposit else "settlement:withdraw"
        self.call("bank", function, f"A-{who}", amount, self.next_id(), minute=9 * 60)

    @precondition(lambda self: self.calls_today >= 8)
    @rule(early=st.booleans())
    def settle(self, early: bool) -> None:
        """Settle the day (after a refused try before the close, sometimes) and go on to
        the next working day."""
        date = self.day.isoformat()
        if early:
            assert not self.call("exchange", "settlement:settle_day", date, minute=14 * 60 + 59)
        assert self.call("registry", "settlement:settle_day", date, minute=15 * 60 + 30)
        assert not self.call("exchange", "settlement:settle_day", date, minute=16 * 60)  # once only
        self.day += dt.timedelta(days=3 if self.day.weekday() == 4 else 1)
        self.calls_today = 0

    # --- after every step ----------------------------------------------------------------

    @invariant()
    def invariants_hold(self) -> None:
        check_invariants(self.trading)

    def teardown(self) -> None:
        """At the end every open order expires with its day and every trade is settled."""
        self.call("registry", "settlement:settle_day", self.day.isoformat(), minute=15 * 60 + 30)
        check_invariants(self.trading)
        assert all(t["status"] == "SETTLED" for t in records(self.trading, "TRD").values())
        assert not records(self.trading, "OPENORD")


Exchange.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])
test_random_order_take_cancel_settle_sequences_keep_the_invariants = Exchange.TestCase
