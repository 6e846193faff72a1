"""settlement.deposit, settlement.withdraw (DOMAIN.md §5.3).

Money enters and leaves the market only through the settlement bank: a bank operator
credits an account's funds when the entity has paid in, and debits them when it pays
out on the entity's request. Every `FUND~` record carries the key-level policy Registry
AND Bank (§6.1), so no transaction moves money without the bank's endorsement.

`FUNDTOTAL~all` counts all money paid in and out, so that funds conservation
(invariant I3: Σ available + frozen = deposited − withdrawn) can be checked against the
state alone. It is also the bank's anchor (Registry AND Bank, set by the first
deposit): `settlement.settle_day` touches it, so every settlement needs the bank, as
DOMAIN.md §6.1 asks, also on a day on which no money moves. Every deposit and
withdrawal writes it, so they are serialized (one per block succeeds, the others fail
MVCC and are resubmitted), an accepted cost at the sample's volumes.
"""

from __future__ import annotations

from typing import Any

from chaincode.contract import Context, transaction

from .common import (
    BANK,
    FUND,
    REGISTRY,
    Store,
    caller,
    check_id,
    emit,
    fail,
    peers_of,
    positive,
)

FUNDTOTAL = "FUNDTOTAL"  # FUNDTOTAL~all: {"deposited_fen", "withdrawn_fen"}
BANK_OPERATOR = {BANK: ("bank_operator",)}


class FundTransactions:
    """Transactions of the trading chaincode: settlement.deposit, settlement.withdraw."""

    @transaction
    def deposit(self, ctx: Context, account_id: str, amount_fen: int, bank_ref: str) -> None:
        """Credit `amount_fen` to `account_id`'s available funds (bank operator).

        `bank_ref` is the bank's reference of the payment, carried in the event.
        """
        _move(ctx, account_id, amount_fen, bank_ref, withdrawing=False)

    @transaction
    def withdraw(self, ctx: Context, account_id: str, amount_fen: int, bank_ref: str) -> None:
        """Debit `amount_fen` from `account_id`'s available funds (bank operator, on the
        entity's request); ERR_INSUFFICIENT_FUNDS if available is short (frozen funds
        back orders and cannot be withdrawn)."""
        _move(ctx, account_id, amount_fen, bank_ref, withdrawing=True)


def _move(ctx: Context, account_id: str, amount_fen: int, bank_ref: str, *, withdrawing: bool) -> None:
    check_id(account_id, "account_id")
    positive(amount_fen, "amount_fen")
    check_id(bank_ref, "bank_ref")
    who = caller(ctx, BANK_OPERATOR)
    store = Store(ctx)
    funds = store.need(FUND, account_id)
    if withdrawing and funds["available_fen"] < amount_fen:
        raise fail("ERR_INSUFFICIENT_FUNDS", f"{account_id} has {funds['available_fen']} fen available, "
                                             f"{amount_fen} fen to withdraw")
    totals: dict[str, Any] | None = store.get(FUNDTOTAL, "all")
    first = totals is None
    totals = totals or {"deposited_fen": 0, "withdrawn_fen": 0}
    total = "withdrawn_fen" if withdrawing else "deposited_fen"
    change = -amount_fen if withdrawing else amount_fen
    store.put(FUND, account_id, record={**funds, "available_fen": funds["available_fen"] + change})
    store.put(FUNDTOTAL, "all", record={**totals, total: totals[total] + amount_fen},
              policy=peers_of(REGISTRY, BANK) if first else None)
    emit(ctx, "FundsWithdrawn" if withdrawing else "FundsDeposited",
         {"account_id": account_id, "amount_fen": amount_fen, "bank_ref": bank_ref,
          "bank_id": who.attribute("bank_id")})
