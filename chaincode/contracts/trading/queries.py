"""query.get_account, query.get_holdings, query.get_entity (DOMAIN.md §5.3).

Reads of the registry's records, following the read matrix of DOMAIN.md §2.3. Every
record is readable by the ministry (regulator), the registry and the exchange, and by
the emitter it belongs to (isolation between enterprises is by the `entity_id`
attribute, as they share one MSP). Besides them:

* an account and its entity: the officers of the entity's province;
* funds (inside get_account): the settlement bank; province officers get the account
  without its funds (the matrix gives provinces no view of funds);
* holdings: the officers of the entity's province, not the bank.

Auditors and the public see aggregates only, which these queries are not; anyone else
gets ERR_UNAUTHORIZED. A caller of a kind that may not read at all is refused before
anything is read; one that may read some records is refused after the record is found
(so it learns that the id exists).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaincode.contract import Context, transaction

from .common import (
    ACCT,
    BANK,
    EMITTER,
    ENT,
    EXCHANGE,
    FUND,
    HOLD,
    MEE,
    PROVINCE_MSPS,
    REGISTRY,
    Caller,
    Store,
    caller,
    check_id,
    fail,
    province_officer,
)

OFFICERS = {msp: ("province_officer",) for msp in PROVINCE_MSPS.values()}
MARKET = {MEE: ("regulator",), REGISTRY: ("registry_operator",), EXCHANGE: ("exchange_operator",),
          EMITTER: ("emitter",)}
ENTITY_READERS = {**MARKET, **OFFICERS}
ACCOUNT_READERS = {**MARKET, **OFFICERS, BANK: ("bank_operator",)}


class QueryTransactions:
    """Transactions of the trading chaincode: query.get_account, query.get_holdings, query.get_entity."""

    @transaction(submit=False)
    def get_account(self, ctx: Context, account_id: str) -> dict[str, Any]:
        """`ACCT~{account_id}` plus "funds" (`FUND~{account_id}`), the latter left out
        for province officers."""
        check_id(account_id, "account_id")
        who = caller(ctx, ACCOUNT_READERS)
        store = Store(ctx)
        account = store.need(ACCT, account_id)
        if who.msp_id != BANK:
            _may_read(ctx, who, store.need(ENT, account["entity_id"]))
        if who.msp_id in OFFICERS:
            return account
        return {**account, "funds": store.need(FUND, account_id)}

    @transaction(submit=False)
    def get_holdings(self, ctx: Context, account_id: str) -> dict[str, Any]:
        """{"account_id", "holdings": {product: `HOLD~{account_id}~{product}`}}."""
        check_id(account_id, "account_id")
        who = caller(ctx, ENTITY_READERS)
        store = Store(ctx)
        account = store.need(ACCT, account_id)
        _may_read(ctx, who, store.need(ENT, account["entity_id"]))
        holdings = {parts[1]: record for parts, record in store.scan(HOLD, account_id)}
        return {"account_id": account_id, "holdings": holdings}

    @transaction(submit=False)
    def get_entity(self, ctx: Context, entity_id: str) -> dict[str, Any]:
        """`ENT~{entity_id}` with its vintage records (without the anchor's "touched" count)."""
        check_id(entity_id, "entity_id")
        who = caller(ctx, ENTITY_READERS)
        entity = Store(ctx).need(ENT, entity_id)
        _may_read(ctx, who, entity)
        return {field: value for field, value in entity.items() if field != "touched"}


def _may_read(ctx: Context, who: Caller, entity: Mapping[str, Any]) -> None:
    """Emitters read their own entity's records, province officers their province's."""
    if who.msp_id == EMITTER and who.attribute("entity_id") != entity["entity_id"]:
        raise fail("ERR_UNAUTHORIZED", f"emitter {who.attribute('entity_id') or '?'} may not read the records "
                                       f"of {entity['entity_id']}")
    if who.msp_id in OFFICERS:
        province_officer(ctx, entity["province"])
