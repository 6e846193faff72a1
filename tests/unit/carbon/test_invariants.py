"""consortia.carbon.invariants: each invariant it checks is reported when broken, by a
sentence that names it, and sound records give no report."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from consortia.carbon.invariants import fund_totals, product_totals, violations

pytestmark = pytest.mark.unit

Book = dict[str, dict[tuple[str, ...], dict[str, Any]]]

# After a listing of 100 t at 5,000 fen taken for 40 t (unsettled) and a BUY listing resting.
SOUND: Book = {
    "ISS": {("CEA21",): {"issued_t": 1_000, "clawed_back_t": 0}},
    "RET": {("CEA21",): {"retired_t": 100, "cancelled_t": 0}},
    "HOLD": {("A-E1", "CEA21"): {"available_t": 500, "frozen_t": 0},
             ("A-E2", "CEA21"): {"available_t": 300, "frozen_t": 100}},
    "FUND": {("A-E1",): {"available_fen": 100_000, "frozen_fen": 250_000},
             ("A-E2",): {"available_fen": 50_000, "frozen_fen": 0}},
    "FUNDTOTAL": {("all",): {"deposited_fen": 450_000, "withdrawn_fen": 50_000}},
    "ORD": {("O1",): {"status": "PARTIAL", "side": "SELL", "mode": "LISTING", "account_id": "A-E2",
                      "product": "CEA21", "qty_t": 100, "remaining_t": 60, "price_fen": 5_000},
            ("O3",): {"status": "OPEN", "side": "BUY", "mode": "LISTING", "account_id": "A-E1",
                      "product": "CEA21", "qty_t": 10, "remaining_t": 10, "price_fen": 5_000}},
    "TRD": {("2023-09-05", "T1"): {"status": "EXECUTED", "sell_account": "A-E2", "buy_account": "A-E1",
                                   "product": "CEA21", "qty_t": 40, "price_fen": 5_000}},
    "SETTLED": {},
    "PRODUCT": {("CEA21",): {"prev_close_fen": 4_900}},
    "ENT": {("E1",): {"vintages": {"2021": {"obligation_t": 200, "ccer_cap_t": 10, "surrendered_cea_t": 100,
                                            "surrendered_ccer_t": 0}}}},
    "ACCT": {("A-E1",): {"entity_id": "E1"}, ("A-E2",): {"entity_id": "E2"}},
}


def reader(book: Book) -> Callable[[str], Mapping[tuple[str, ...], Mapping[str, Any]]]:
    return lambda kind: book.get(kind, {})


def broken(change: Callable[[Book], None]) -> list[str]:
    book = copy.deepcopy(SOUND)
    change(book)
    return violations(reader(book))


def test_sound_records_break_nothing() -> None:
    assert violations(reader(SOUND)) == []
    (cea,) = product_totals(reader(SOUND))
    assert (cea.held_t, cea.retired_t, cea.issued_t, cea.conserved) == (900, 100, 1_000, True)
    assert fund_totals(reader(SOUND)).conserved and fund_totals(reader(SOUND)).held_fen == 400_000


@pytest.mark.parametrize(("change", "named"), [
    (lambda b: b["HOLD"][("A-E1", "CEA21")].update(available_t=-1), "I1: holding A-E1/CEA21 is negative"),
    (lambda b: b["FUND"][("A-E2",)].update(available_fen=-1), "I1: funds of A-E2 are negative"),
    (lambda b: b["ISS"][("CEA21",)].update(issued_t=1_001), "I2: CEA21 is not conserved"),
    (lambda b: b["FUNDTOTAL"][("all",)].update(withdrawn_fen=0), "I3: funds are not conserved"),
    (lambda b: b["SETTLED"].update({("2023-09-05",): {}}), "I4: trade T1 of 2023-09-05 is EXECUTED, expected SETTLED"),
    (lambda b: b["ORD"][("O1",)].update(remaining_t=50), "I5: A-E2/CEA21 has 100 t frozen, its orders and trades set aside 90 t"),
    (lambda b: b["ORD"][("O3",)].update(status="FILLED"), "I5: A-E1 has 250000 fen frozen"),
    (lambda b: b["ORD"][("O3",)].update(account_id="A-E9"), "I5: A-E9 has orders or trades setting aside"),
    (lambda b: b["ENT"][("E1",)]["vintages"]["2021"].update(surrendered_ccer_t=101), "I7: E1 surrendered 201 t for 2021"),
    (lambda b: b["ENT"][("E1",)]["vintages"]["2021"].update(surrendered_ccer_t=11), "I8: E1 surrendered 11 t CCER"),
    (lambda b: b["ORD"][("O3",)].update(price_fen=5_391), "I9: order O3 rests at 5391 fen, outside 4410-5390"),
    (lambda b: b["ORD"][("O3",)].update(qty_t=100_000), "I9: order O3 (LISTING) is for 100000 t"),
    (lambda b: b["ACCT"].update({("A-X",): {"entity_id": "E1"}}), "I12: entity E1 has two accounts, A-E1 and A-X"),
])
def test_each_breach_is_named(change: Callable[[Book], None], named: str) -> None:
    found = broken(change)
    assert any(line.startswith(named) for line in found), found
