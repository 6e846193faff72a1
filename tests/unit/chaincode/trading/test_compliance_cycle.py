"""A compliance cycle through every function the trading chaincode has so far, each
calling the others' records (nothing seeded): SC-01 steps 1, 6, 7, 10, 11 and 12 without
the trade of steps 8-9 (the exchange is not built yet), so E1 ends 46,000 t short and the
cycle goes on into SC-13's evaluation and penalty. The conservation invariant I2 is
checked after every step that moves allowances."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.chaincode.trading.market import (
    SETUP_AT,
    open_accounts,
    open_market,
    record,
)

pytestmark = pytest.mark.unit

REF = "mrv:AR~{entity}~2021~v1:" + "ab" * 32


def conserved(trading: Any, product: str) -> int:
    """I2 for `product`: held + retired + cancelled = issued − clawed back; the total."""
    held = sum(json.loads(v)["available_t"] + json.loads(v)["frozen_t"]
               for k, v in trading.ledger.state.items() if k.startswith("\x00HOLD\x00") and k.endswith(f"\x00{product}\x00"))
    retired = record(trading, "RET", product)
    issued = record(trading, "ISS", product)
    assert held + retired["retired_t"] + retired["cancelled_t"] == issued["issued_t"] - issued["clawed_back_t"]
    return int(issued["issued_t"] - issued["clawed_back_t"])


def test_a_cycle_from_accounts_to_penalty(trading: Any) -> None:
    open_market(trading)
    open_accounts(trading, "E1", "E2")
    trading.call("bank", "settlement:deposit", "A-E1", 300_000_000, "BR-1", at=SETUP_AT)
    assert record(trading, "FUND", "A-E1")["available_fen"] == 300_000_000

    for entity, base, actual in (("E1", 1_900_000, 2_000_000), ("E2", 1_300_000, 1_400_000)):
        trading.call("gd", "registry:issue_allocation", entity, 2021, "PRE", "BM-SAMPLE", base, 0, 1000,
                     at="2023-04-20T10:00")
    assert [record(trading, "HOLD", a, "CEA21")["available_t"] for a in ("A-E1", "A-E2")] == [1_166_410, 798_070]
    conserved(trading, "CEA21")

    refusal = trading.refused("E1", "registry:surrender", "E1", 2021, [{"product": "CEA21", "qty_t": 1}],
                              at="2023-05-01T10:00")
    assert refusal.startswith("ERR_CONFLICT: "), refusal  # no obligation yet

    for entity, actual, verified in (("E1", 2_000_000, 1_850_000), ("E2", 1_400_000, 1_150_000)):
        trading.call("gd", "registry:issue_allocation", entity, 2021, "FINAL", "BM-SAMPLE", actual, 0, 1000,
                     at="2023-07-10T10:00")
        trading.call("gd", "registry:set_obligation", entity, 2021, verified, REF.format(entity=entity),
                     at="2023-07-10T11:00")
    assert conserved(trading, "CEA21") == 2_981_800
    e1 = record(trading, "ENT", "E1")["vintages"]["2021"]
    assert (e1["final_alloc_t"], e1["obligation_t"], e1["ccer_cap_t"]) == (1_754_000, 1_850_000, 92_500)

    trading.call("registry", "registry:import_ccer", "B1", "A-E1", "P-WIND-1", False, 50_000, 2020,
                 at="2023-09-10T10:00")
    trading.call("E1", "registry:surrender", "E1", 2021,
                 [{"product": "CEA21", "qty_t": 1_754_000}, {"product": "CCER", "qty_t": 50_000, "batch_id": "B1"}],
                 at="2023-10-20T10:00")
    trading.call("E2", "registry:surrender", "E2", 2021, [{"product": "CEA21", "qty_t": 1_150_000}],
                 at="2023-10-20T11:00")
    assert record(trading, "HOLD", "A-E2", "CEA21")["available_t"] == 77_800
    assert record(trading, "RET", "CEA21")["retired_t"] == 2_904_000
    conserved(trading, "CEA21")
    conserved(trading, "CCER")

    assert trading.refused("gd", "registry:evaluate_compliance", "E1", 2021,
                           at="2023-12-31T16:00").startswith("ERR_DEADLINE: ")
    evaluated = {e: trading.call("gd", "registry:evaluate_compliance", e, 2021, at="2024-01-02T10:00")
                 for e in ("E1", "E2")}
    assert (evaluated["E1"]["status"], evaluated["E1"]["shortfall_t"]) == ("NON_COMPLIANT", 46_000)
    assert evaluated["E2"]["status"] == "COMPLIANT"

    trading.call("gd", "registry:record_penalty", "E1", 2021, 2_500_000, 46_000, at="2024-01-05T10:00")
    assert trading.event()[0] == "PenaltyRecorded"
    assert record(trading, "ENT", "E1")["vintages"]["2021"]["deduct_next_t"] == 46_000
