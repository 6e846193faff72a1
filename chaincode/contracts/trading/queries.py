"""query.get_account, query.get_holdings, query.get_entity, query.get_book,
query.market_day (DOMAIN.md §5.3), and query.records, the supervisors' view.

Reads of the registry's and the exchange's records, following the read matrix of
DOMAIN.md §2.3. Every account, holding and entity record is readable by the ministry
(regulator), the registry and the exchange, and by the emitter it belongs to
(isolation between enterprises is by the `entity_id` attribute, as they share one
MSP). Besides them:

* an account and its entity: the officers of the entity's province;
* funds (inside get_account): the settlement bank; province officers get the account
  without its funds (the matrix gives provinces no view of funds);
* holdings: the officers of the entity's province, not the bank.

Auditors and the public see aggregates only, which these queries are not; anyone else
gets ERR_UNAUTHORIZED. A caller of a kind that may not read at all is refused before
anything is read; one that may read some records is refused after the record is found
(so it learns that the id exists).

Market data is another matter: the order book (`get_book`, price levels only: no
account, no order id) and a settled day's prices (`market_day`) are read by every
member of the trading channel that the matrix lets see orders and trades: the ministry,
every province's officers (any province's, as the market is national), every emitter,
the registry, the exchange, the bank and auditors/the public ("R (market data)").
Verifiers and the statistics and energy departments have no view of orders and trades
and are refused.

`records` is not in DOMAIN.md's table: it lists every record of one kind, for the two
parties the read matrix lets read the whole book (the ministry's regulator and the
registry), so that supervision and the conservation checks of §5.4 (I1-I5, I9, I12)
can run from outside the chaincode, through any client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaincode.contract import Context, transaction

from .common import (
    ACCT,
    BANK,
    BM,
    CCERB,
    CFG,
    DAY,
    EMITTER,
    ENT,
    EXCHANGE,
    FUND,
    HOLD,
    ISS,
    MEE,
    ORD,
    PRODUCT,
    PROV,
    PROVINCE_MSPS,
    REGISTRY,
    RET,
    SUR,
    TRD,
    Caller,
    Store,
    caller,
    check_id,
    fail,
    one_of,
    parse_date,
    province_officer,
)
from .exchange import AUCBID, BEST_LEVELS, BOOK, BUY, OPENORD, SELL
from .funds import FUNDTOTAL
from .settlement import SETTLED_DAY

AUDIT = "AuditMSP"

OFFICERS = {msp: ("province_officer",) for msp in PROVINCE_MSPS.values()}
MARKET = {MEE: ("regulator",), REGISTRY: ("registry_operator",), EXCHANGE: ("exchange_operator",),
          EMITTER: ("emitter",)}
ENTITY_READERS = {**MARKET, **OFFICERS}
ACCOUNT_READERS = {**MARKET, **OFFICERS, BANK: ("bank_operator",)}
MARKET_DATA_READERS = {**ACCOUNT_READERS, AUDIT: ("auditor",)}
SUPERVISORS = {MEE: ("regulator",), REGISTRY: ("registry_operator",)}
KINDS = (ACCT, AUCBID, BM, BOOK, CCERB, CFG, DAY, ENT, FUND, FUNDTOTAL, HOLD, ISS, OPENORD, ORD, PRODUCT, PROV, RET,
         SETTLED_DAY, SUR, TRD)


class QueryTransactions:
    """Transactions of the trading chaincode: query.get_account, query.get_holdings, query.get_entity,
    query.get_book, query.market_day, query.records."""

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

    @transaction(submit=False)
    def get_book(self, ctx: Context, product: str) -> dict[str, Any]:
        """{"product", "SELL": [level], "BUY": [level]}: the best five price levels of each
        side of `product`'s open listings (lowest asks, highest bids first), each level
        {"price_fen", "remaining_t" (the listings' total), "orders" (how many)}; market data."""
        check_id(product, "product")
        caller(ctx, MARKET_DATA_READERS)
        store = Store(ctx)
        store.need(PRODUCT, product)
        return {"product": product, SELL: _levels(store, product, SELL), BUY: _levels(store, product, BUY)}

    @transaction(submit=False)
    def market_day(self, ctx: Context, product: str, date: str) -> dict[str, Any]:
        """`DAY~{product}~{date}` with "product" and "date" (ERR_NOT_FOUND until the day is
        settled); market data."""
        check_id(product, "product")
        parse_date(date, "date")
        caller(ctx, MARKET_DATA_READERS)
        return {"product": product, "date": date, **Store(ctx).need(DAY, product, date)}


    @transaction(submit=False)
    def records(self, ctx: Context, kind: str) -> list[dict[str, Any]]:
        """Every record of `kind` (ACCT, HOLD, FUND, ORD, TRD, ISS, RET, ...), in key
        order, each as {"key": [the key's parts], "record": {...}}; the ministry's
        regulator and the registry only."""
        one_of(kind, KINDS, "kind")
        caller(ctx, SUPERVISORS)
        return [{"key": parts, "record": record} for parts, record in Store(ctx).scan(kind)]


def _levels(store: Store, product: str, side: str) -> list[dict[str, Any]]:
    """The best five price levels of one side of the book, from the book's index and the
    listings' remaining tonnes."""
    levels: dict[int, dict[str, Any]] = {}
    for parts, entry in store.scan(BOOK, product, side):
        order = store.need(ORD, parts[2])
        level = levels.setdefault(entry["price_fen"], {"price_fen": entry["price_fen"], "remaining_t": 0, "orders": 0})
        level["remaining_t"] += order["remaining_t"]
        level["orders"] += 1
    best = sorted(levels, reverse=side == BUY)[:BEST_LEVELS]
    return [levels[price] for price in best]


def _may_read(ctx: Context, who: Caller, entity: Mapping[str, Any]) -> None:
    """Emitters read their own entity's records, province officers their province's."""
    if who.msp_id == EMITTER and who.attribute("entity_id") != entity["entity_id"]:
        raise fail("ERR_UNAUTHORIZED", f"emitter {who.attribute('entity_id') or '?'} may not read the records "
                                       f"of {entity['entity_id']}")
    if who.msp_id in OFFICERS:
        province_officer(ctx, entity["province"])
