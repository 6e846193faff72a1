"""registry.open_account, registry.import_ccer, registry.freeze, registry.unfreeze (DOMAIN.md §5.3).

The national registry keeps the book of record: one registry account per covered
entity (invariant I12), and per account and product a holding of whole tonnes, split
into what is available and what is frozen. Opening an account creates three records:
the account, the entity (the anchor that the entity's province endorses for, §6.1) and
the entity's funds (which only move with the settlement bank). CCER offsets enter the
market through the registry, endorsed by the ministry; regulators (the ministry, or the
entity's province) may freeze holdings, and such regulatory freezes are counted apart
from the quantities frozen by orders (invariant I5).
"""

from __future__ import annotations

from typing import Any

from chaincode.contract import Context, transaction

from .common import (
    ACCT,
    BANK,
    CCERB,
    CFG,
    ENT,
    FUND,
    HOLD,
    ISS,
    MEE,
    PRODUCT,
    PROV,
    PROVINCE_MSPS,
    REGISTRY,
    UNIT_TYPES,
    Store,
    caller,
    check_id,
    emit,
    fail,
    now,
    one_of,
    peers_of,
    positive,
    province_officer,
)

REGISTRY_OPERATOR = {REGISTRY: ("registry_operator",)}
REGULATORS = {MEE: ("regulator",), **{msp: ("province_officer",) for msp in PROVINCE_MSPS.values()}}
CCER = "CCER"
MAX_TEXT = 256  # characters of a free-text argument (an entity's name, a freeze's reason)


class AccountTransactions:
    """Transactions of the trading chaincode: registry.open_account, registry.import_ccer, registry.freeze, registry.unfreeze."""

    @transaction
    def open_account(self, ctx: Context, account_id: str, entity_id: str, name: str, province: str,
                     unit_type: str) -> None:
        """Open registry account `account_id` for entity `entity_id` (registry operator).

        One account per entity and one entity per account (ERR_CONFLICT). The province's
        anchor `PROV~{province}` is touched, so the province endorses; it exists once a
        period is open (ERR_NOT_FOUND before). Writes `ACCT~{account_id}` =
        {"account_id", "entity_id", "status": "ACTIVE", "opened_at"},
        `ENT~{entity_id}` = {"entity_id", "name", "province", "unit_type", "account_id",
        "vintages": {}} (Registry AND the province) and `FUND~{account_id}` =
        {"available_fen": 0, "frozen_fen": 0} (Registry AND Bank).
        """
        check_id(account_id, "account_id")
        check_id(entity_id, "entity_id")
        _text(name, "name")
        one_of(province, tuple(PROVINCE_MSPS), "province")
        one_of(unit_type, UNIT_TYPES, "unit_type")
        caller(ctx, REGISTRY_OPERATOR)
        store = Store(ctx)
        existing = store.get(ENT, entity_id)
        if existing is not None:
            raise fail("ERR_CONFLICT", f"entity {entity_id} already has account {existing['account_id']}")
        for kind in (ACCT, FUND):
            if store.get(kind, account_id) is not None:
                raise fail("ERR_CONFLICT", f"account {account_id} already exists")
        store.touch(PROV, province)
        store.create(ACCT, account_id, record={"account_id": account_id, "entity_id": entity_id, "status": "ACTIVE",
                                               "opened_at": now(ctx).isoformat()})
        store.create(ENT, entity_id, record={"entity_id": entity_id, "name": name, "province": province,
                                             "unit_type": unit_type, "account_id": account_id, "vintages": {}},
                     policy=peers_of(REGISTRY, PROVINCE_MSPS[province]))
        store.create(FUND, account_id, record={"available_fen": 0, "frozen_fen": 0}, policy=peers_of(REGISTRY, BANK))
        emit(ctx, "AccountOpened", {"account_id": account_id, "entity_id": entity_id, "province": province,
                                    "unit_type": unit_type})

    @transaction
    def import_ccer(self, ctx: Context, batch_id: str, account_id: str, project_id: str, covered_project: bool,
                    qty_t: int, vintage_year: int) -> None:
        """Book CCER batch `batch_id` of `qty_t` tonnes into `account_id` (registry operator).

        The ministry endorses: the config anchor touched is that of the newest period
        (the one with the latest vintage), as a CCER's vintage year need not be a vintage
        of any period; ERR_NOT_FOUND if no period is open. The product CCER must be
        listed. Writes `CCERB~{batch_id}` = {"batch_id", "account_id", "project_id",
        "covered_project", "issued_t", "available_t", "vintage_year"}, adds `qty_t` to
        `HOLD~{account_id}~CCER`.available_t and to `ISS~CCER`.issued_t.
        """
        check_id(batch_id, "batch_id")
        check_id(account_id, "account_id")
        check_id(project_id, "project_id")
        positive(qty_t, "qty_t")
        positive(vintage_year, "vintage_year")
        caller(ctx, REGISTRY_OPERATOR)
        store = Store(ctx)
        if store.get(CCERB, batch_id) is not None:
            raise fail("ERR_CONFLICT", f"CCER batch {batch_id} already exists")
        store.need(ACCT, account_id)
        listed(store, CCER)
        periods = [period for _, period in store.scan(CFG, "period")]
        if not periods:
            raise fail("ERR_NOT_FOUND", "no compliance period is open (the ministry endorses CCER imports through it)")
        newest = max(periods, key=lambda period: max(period["vintages"]))
        issued = store.need(ISS, CCER)
        holding = holding_of(store, account_id, CCER)
        store.touch(CFG, "period", newest["period_id"])
        store.create(CCERB, batch_id, record={"batch_id": batch_id, "account_id": account_id, "project_id": project_id,
                                              "covered_project": covered_project, "issued_t": qty_t,
                                              "available_t": qty_t, "vintage_year": vintage_year})
        store.put(HOLD, account_id, CCER, record={**holding, "available_t": holding["available_t"] + qty_t})
        store.put(ISS, CCER, record={**issued, "issued_t": issued["issued_t"] + qty_t})
        emit(ctx, "CCERIssued", {"batch_id": batch_id, "account_id": account_id, "project_id": project_id,
                                 "covered_project": covered_project, "qty_t": qty_t, "vintage_year": vintage_year})

    @transaction
    def freeze(self, ctx: Context, account_id: str, product: str, qty_t: int, reason: str) -> None:
        """Freeze `qty_t` available tonnes of `product` in `account_id` (MEE regulator, or an
        officer of the account's entity's province).

        available_t → frozen_t, and the quantity is counted in the holding's
        "regulatory_frozen_t" (invariant I5); ERR_INSUFFICIENT_HOLDINGS if available is
        short. `ENT~{entity}` is touched, so the entity's province endorses.
        """
        _regulatory(ctx, account_id, product, qty_t, reason, freezing=True)

    @transaction
    def unfreeze(self, ctx: Context, account_id: str, product: str, qty_t: int, reason: str) -> None:
        """Release `qty_t` regulatorily frozen tonnes (callers as for freeze).

        Only what a regulator froze can be released this way (orders release their own):
        ERR_INSUFFICIENT_HOLDINGS if regulatory_frozen_t < qty_t.
        """
        _regulatory(ctx, account_id, product, qty_t, reason, freezing=False)


def _regulatory(ctx: Context, account_id: str, product: str, qty_t: int, reason: str, *, freezing: bool) -> None:
    """freeze (available → frozen) or unfreeze (back), counted in regulatory_frozen_t."""
    check_id(account_id, "account_id")
    check_id(product, "product")
    positive(qty_t, "qty_t")
    _text(reason, "reason")
    who = caller(ctx, REGULATORS)
    store = Store(ctx)
    account = store.need(ACCT, account_id)
    entity = store.need(ENT, account["entity_id"])
    if who.msp_id != MEE:
        province_officer(ctx, entity["province"])
    store.need(PRODUCT, product)
    holding = holding_of(store, account_id, product)
    regulatory = int(holding.get("regulatory_frozen_t", 0))
    if freezing and holding["available_t"] < qty_t:
        raise fail("ERR_INSUFFICIENT_HOLDINGS", f"{account_id} has {holding['available_t']} t {product} available, "
                                                f"{qty_t} t to freeze")
    if not freezing and regulatory < qty_t:
        raise fail("ERR_INSUFFICIENT_HOLDINGS", f"{account_id} has {regulatory} t {product} frozen by regulators, "
                                                f"{qty_t} t to release")
    moved = qty_t if freezing else -qty_t
    store.put(HOLD, account_id, product, record={**holding, "available_t": holding["available_t"] - moved,
                                                 "frozen_t": holding["frozen_t"] + moved,
                                                 "regulatory_frozen_t": regulatory + moved})
    store.touch(ENT, entity["entity_id"])
    emit(ctx, "HoldingsFrozen" if freezing else "HoldingsUnfrozen",
         {"account_id": account_id, "entity_id": entity["entity_id"], "product": product, "qty_t": qty_t,
          "reason": reason})


# ----- shared by the registry's transactions -------------------------------------------


def holding_of(store: Store, account_id: str, product: str) -> dict[str, Any]:
    """`HOLD~{account_id}~{product}`, or an empty holding if the account never held it."""
    return store.get(HOLD, account_id, product) or {"available_t": 0, "frozen_t": 0}


def listed(store: Store, code: str) -> dict[str, Any]:
    """The product's record; ERR_NOT_FOUND if never listed, ERR_CONFLICT if delisted."""
    product = store.need(PRODUCT, code)
    if product["status"] != "LISTED":
        raise fail("ERR_CONFLICT", f"product {code} is {product['status']}, not LISTED")
    return product


def _text(value: str, name: str) -> None:
    if not value.strip() or len(value) > MAX_TEXT:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be 1-{MAX_TEXT} characters, not blank, "
                                           f"found {len(value)} characters")
