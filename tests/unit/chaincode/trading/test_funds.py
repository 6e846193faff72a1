"""settlement.deposit, settlement.withdraw (DOMAIN.md §5.3; SC-01 step 1; invariant I3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.chaincode.trading.market import (
    open_accounts,
    open_market,
    record,
    refused,
    with_strangers,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def market(trading: Any) -> Any:
    open_market(trading)
    open_accounts(trading, "E1", "E2")
    return with_strangers(trading)


def test_deposit_credits_available_funds_sc01_step1(market: Any) -> None:
    market.call("bank", "settlement:deposit", "A-E1", 300_000_000, "SB1-20230420-001", at="2023-04-20T11:00")

    assert record(market, "FUND", "A-E1") == {"available_fen": 300_000_000, "frozen_fen": 0}
    assert record(market, "FUNDTOTAL", "all") == {"deposited_fen": 300_000_000, "withdrawn_fen": 0}
    assert market.event() == ("FundsDeposited", {"account_id": "A-E1", "amount_fen": 300_000_000,
                                                 "bank_ref": "SB1-20230420-001", "bank_id": "SB1"})


def test_withdraw_debits_available_funds_and_totals_stay_conserved(market: Any) -> None:
    market.call("bank", "settlement:deposit", "A-E1", 300_000_000, "R1")
    market.call("bank", "settlement:deposit", "A-E2", 5_000, "R2")
    market.call("bank", "settlement:withdraw", "A-E1", 70_000_000, "R3")

    assert record(market, "FUND", "A-E1") == {"available_fen": 230_000_000, "frozen_fen": 0}
    assert market.event() == ("FundsWithdrawn", {"account_id": "A-E1", "amount_fen": 70_000_000, "bank_ref": "R3",
                                                 "bank_id": "SB1"})
    totals = record(market, "FUNDTOTAL", "all")
    assert totals == {"deposited_fen": 300_005_000, "withdrawn_fen": 70_000_000}
    held = sum(record(market, "FUND", account)["available_fen"] + record(market, "FUND", account)["frozen_fen"]
               for account in ("A-E1", "A-E2"))
    assert held == totals["deposited_fen"] - totals["withdrawn_fen"]  # I3


def test_withdraw_needs_available_funds(market: Any) -> None:
    market.call("bank", "settlement:deposit", "A-E1", 1_000, "R1")
    refused(market, "ERR_INSUFFICIENT_FUNDS", "bank", "settlement:withdraw", "A-E1", 1_001, "R2",
            naming="1000 fen available")
    market.call("bank", "settlement:withdraw", "A-E1", 1_000, "R2")
    assert record(market, "FUND", "A-E1")["available_fen"] == 0


@pytest.mark.parametrize("function", ["settlement:deposit", "settlement:withdraw"])
def test_funds_need_an_account(market: Any, function: str) -> None:
    refused(market, "ERR_NOT_FOUND", "bank", function, "A-E9", 1, "R1", naming="A-E9")


@pytest.mark.parametrize(("args", "naming"), [
    (("A E1", 1, "R1"), "account_id"),
    (("A-E1", 0, "R1"), "amount_fen"),
    (("A-E1", -1, "R1"), "amount_fen"),
    (("A-E1", "1e3", "R1"), "amount_fen"),
    (("A-E1", 1, "ref 1"), "bank_ref"),
])
@pytest.mark.parametrize("function", ["settlement:deposit", "settlement:withdraw"])
def test_funds_refuse_invalid_arguments(market: Any, function: str, args: tuple[object, ...], naming: str) -> None:
    refused(market, "ERR_INVALID_ARGUMENT", "bank", function, *args, naming=naming)


@pytest.mark.parametrize("who", ["registry", "exchange", "regulator", "gd", "auditor", "E1", "bank_no_role"])
@pytest.mark.parametrize("function", ["settlement:deposit", "settlement:withdraw"])
def test_only_the_bank_operator_moves_money(market: Any, function: str, who: str) -> None:
    market.call("bank", "settlement:deposit", "A-E1", 1_000, "R1")
    refused(market, "ERR_UNAUTHORIZED", who, function, "A-E1", 1, "R2", naming="BankMSP bank_operator")
