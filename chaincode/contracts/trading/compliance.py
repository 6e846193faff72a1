"""registry.surrender, registry.evaluate_compliance, registry.record_penalty (DOMAIN.md §5.3).

Each year an entity surrenders allowances (CEA) and offsets (CCER) to cover its
obligation for a vintage, the verified emissions of that year as capped by
`set_obligation` (DOMAIN.md §3.1, §4.1). What it surrenders is retired: it leaves the
entity's holding and is counted in `RET~{product}`, so the product's conservation sum
(invariant I2) still holds. The rules (invariants I7, I8):

* an entity surrenders from its own account, and only what is available (frozen
  holdings and purchases not yet settled are not);
* CEA of the obligation's vintage or an earlier one (banking); a later vintage would be
  borrowing, which this sample does not implement, so it is refused;
* CCER from a named batch the account owns, of a project outside the covered entities,
  at most `ccer_cap_t` (5 % of the obligation) in all;
* never more, in all, than the obligation.

Surrender stays open after the deadline. After it, the entity's province (or the
ministry) evaluates the vintage: COMPLIANT if the obligation was covered by the
deadline, COMPLIANT_LATE if the receipt that covered it came later, NON_COMPLIANT with
the shortfall otherwise. The province then records the fine for a non-compliant entity
and the shortfall to deduct from its next allocation (DOMAIN.md §3.5, A5); the
allocation code applies the deduction. Every function here writes the entity's `ENT~`
record, whose key-level policy makes the transaction need the province's endorsement.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from chaincode.contract import Context, transaction

from .common import (
    CCERB,
    EMITTER,
    ENT,
    HOLD,
    MEE,
    PRODUCT,
    PROVINCE_MSPS,
    RET,
    SUR,
    Store,
    caller,
    check_id,
    emit,
    fail,
    non_negative,
    now,
    parse_json,
    parse_time,
    period_of,
    positive,
    province_officer,
)

CEA, CCER = "CEA", "CCER"
COMPLIANT, COMPLIANT_LATE, NON_COMPLIANT = "COMPLIANT", "COMPLIANT_LATE", "NON_COMPLIANT"
FINE_MIN_FEN, FINE_MAX_FEN = 2_000_000, 3_000_000  # 20,000-30,000 CNY [F:S18]
ITEM_FIELDS = frozenset({"product", "qty_t", "batch_id"})
SEQ_DIGITS = 6  # receipt numbers are zero-padded so that their keys sort in order

OFFICERS = {msp: ("province_officer",) for msp in PROVINCE_MSPS.values()}


@dataclass(frozen=True)
class Item:
    """One line of a surrender: `qty_t` tonnes of `product` (from CCER batch `batch_id`)."""

    product: str
    qty_t: int
    batch_id: str | None

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {"product": self.product, "qty_t": self.qty_t}
        if self.batch_id is not None:
            line["batch_id"] = self.batch_id
        return line


class ComplianceTransactions:
    """Transactions of the trading chaincode: registry.surrender, registry.evaluate_compliance,
    registry.record_penalty."""

    @transaction
    def surrender(self, ctx: Context, entity_id: str, vintage: int, items_json: str) -> dict[str, Any]:
        """Retire `items` (JSON [{"product", "qty_t", "batch_id" for CCER}]) from the entity's
        available holdings against its `vintage` obligation; a receipt `SUR~` records them."""
        check_id(entity_id, "entity_id")
        positive(vintage, "vintage")
        items = parse_items(items_json)
        who = caller(ctx, {EMITTER: ("emitter",)})
        if who.attribute("entity_id") != entity_id:
            raise fail("ERR_UNAUTHORIZED", f"an emitter of entity {who.attribute('entity_id') or '?'} "
                                           f"may not surrender for {entity_id}")
        store = Store(ctx)
        entity = store.need(ENT, entity_id)
        record = obligation_of(entity, entity_id, vintage)
        if record.get("penalty") is not None:
            raise fail("ERR_CONFLICT", f"the {vintage} obligation of {entity_id} is closed by a penalty; "
                                       f"its shortfall is deducted from the next allocation")
        account = entity["account_id"]

        # What may be surrendered: eligible products and batches.
        kinds: dict[str, str] = {}
        batches: dict[str, dict[str, Any]] = {}
        for item in items:
            if item.product not in kinds:
                kinds[item.product] = eligible_kind(store.need(PRODUCT, item.product), vintage)
            if kinds[item.product] == CEA:
                if item.batch_id is not None:
                    raise fail("ERR_INVALID_ARGUMENT", f"{item.product} is a CEA product: its item takes no batch_id")
                continue
            if item.batch_id is None:
                raise fail("ERR_INVALID_ARGUMENT", f"{item.product} is CCER: its item must name a batch_id")
            if item.batch_id not in batches:
                batches[item.batch_id] = eligible_batch(store.need(CCERB, item.batch_id), account)

        # How much: within the offset cap and the obligation.
        cea_t = sum(item.qty_t for item in items if kinds[item.product] == CEA)
        ccer_t = sum(item.qty_t for item in items if kinds[item.product] == CCER)
        done_cea, done_ccer = int(record["surrendered_cea_t"] or 0), int(record["surrendered_ccer_t"] or 0)
        obligation, cap = int(record["obligation_t"]), int(record["ccer_cap_t"])
        if done_ccer + ccer_t > cap:
            raise fail("ERR_OFFSET_CAP", f"CCER surrendered for {entity_id} {vintage} would be {done_ccer + ccer_t} t, "
                                         f"above the cap of {cap} t ({done_ccer} t already)")
        if done_cea + done_ccer + cea_t + ccer_t > obligation:
            raise fail("ERR_OVER_SURRENDER", f"surrender for {entity_id} {vintage} would total "
                                             f"{done_cea + done_ccer + cea_t + ccer_t} t, above the obligation of "
                                             f"{obligation} t ({done_cea + done_ccer} t already)")

        # From what the account has available.
        per_product: Counter[str] = Counter()
        per_batch: Counter[str] = Counter()
        for item in items:
            per_product[item.product] += item.qty_t
            if item.batch_id is not None:
                per_batch[item.batch_id] += item.qty_t
        holdings: dict[str, dict[str, Any]] = {}
        for product, qty in per_product.items():
            holding = store.get(HOLD, account, product) or {"available_t": 0, "frozen_t": 0}
            if holding["available_t"] < qty:
                raise fail("ERR_INSUFFICIENT_HOLDINGS", f"{account} has {holding['available_t']} t {product} "
                                                        f"available, {qty} t asked")
            holdings[product] = holding
        for batch_id, qty in per_batch.items():
            if batches[batch_id]["available_t"] < qty:
                available = batches[batch_id]["available_t"]
                raise fail("ERR_INSUFFICIENT_HOLDINGS", f"CCER batch {batch_id} has {available} t available, "
                                                        f"{qty} t asked")
        retired = {product: store.need(RET, product) for product in per_product}

        # Effects: holdings and batches down, retired up, the entity's totals, a receipt.
        for product, qty in per_product.items():
            holdings[product]["available_t"] -= qty
            store.put(HOLD, account, product, record=holdings[product])
            retired[product]["retired_t"] += qty
            store.put(RET, product, record=retired[product])
        for batch_id, qty in per_batch.items():
            batches[batch_id]["available_t"] -= qty
            store.put(CCERB, batch_id, record=batches[batch_id])
        record["surrendered_cea_t"] = done_cea + cea_t
        record["surrendered_ccer_t"] = done_ccer + ccer_t
        store.put(ENT, entity_id, record=entity)
        seq = str(sum(1 for _ in store.scan(SUR, entity_id, str(vintage))) + 1).zfill(SEQ_DIGITS)
        lines = [item.to_json() for item in items]
        store.create(SUR, entity_id, str(vintage), seq, record={"items": lines, "at": now(ctx).isoformat()})

        total = cea_t + ccer_t
        emit(ctx, "AllowancesSurrendered", {"entity_id": entity_id, "vintage": vintage, "items": lines,
                                            "total_t": total})
        surrendered = done_cea + done_ccer + total
        return {"entity_id": entity_id, "vintage": vintage, "receipt": seq, "total_t": total,
                "surrendered_cea_t": record["surrendered_cea_t"], "surrendered_ccer_t": record["surrendered_ccer_t"],
                "remaining_t": obligation - surrendered}

    @transaction
    def evaluate_compliance(self, ctx: Context, entity_id: str, vintage: int) -> dict[str, Any]:
        """After the period's surrender deadline, the entity's compliance status for `vintage`
        (it may be evaluated again, e.g. after a late surrender, until a penalty is recorded)."""
        check_id(entity_id, "entity_id")
        positive(vintage, "vintage")
        who = caller(ctx, {MEE: ("regulator",), **OFFICERS})
        store = Store(ctx)
        entity = store.need(ENT, entity_id)
        if who.msp_id != MEE:
            province_officer(ctx, entity["province"])
        deadline_text = period_of(store, vintage)["surrender_deadline"]
        deadline = parse_time(deadline_text, "surrender_deadline")
        at = now(ctx)
        if at <= deadline:
            raise fail("ERR_DEADLINE", f"compliance for {vintage} is evaluated after the surrender deadline "
                                       f"{deadline_text}, not at {at.isoformat()}")
        record = obligation_of(entity, entity_id, vintage)
        if record.get("penalty") is not None:
            raise fail("ERR_CONFLICT", f"the {vintage} obligation of {entity_id} is closed by a penalty")

        obligation = int(record["obligation_t"])
        surrendered = int(record["surrendered_cea_t"] or 0) + int(record["surrendered_ccer_t"] or 0)
        receipts = [receipt for _, receipt in store.scan(SUR, entity_id, str(vintage))]
        if surrendered >= obligation:
            # Surrender stops at the obligation, so the last receipt is the one that covered it.
            completed_at = receipts[-1]["at"] if receipts else None
            late = completed_at is not None and dt.datetime.fromisoformat(completed_at) > deadline
            status, shortfall = (COMPLIANT_LATE if late else COMPLIANT), 0
        else:
            completed_at, status, shortfall = None, NON_COMPLIANT, obligation - surrendered
        record.update(status=status, shortfall_t=shortfall, completed_at=completed_at, evaluated_at=at.isoformat())
        store.put(ENT, entity_id, record=entity)

        result = {"entity_id": entity_id, "vintage": vintage, "status": status, "shortfall_t": shortfall}
        emit(ctx, "ComplianceEvaluated", result)
        return result

    @transaction
    def record_penalty(self, ctx: Context, entity_id: str, vintage: int, fine_fen: int,
                       deduct_next_t: int) -> dict[str, Any]:
        """The fine of a NON_COMPLIANT entity and the shortfall to deduct from its next allocation."""
        check_id(entity_id, "entity_id")
        positive(vintage, "vintage")
        non_negative(fine_fen, "fine_fen")
        if not FINE_MIN_FEN <= fine_fen <= FINE_MAX_FEN:
            raise fail("ERR_INVALID_ARGUMENT", f"fine_fen must be between {FINE_MIN_FEN} and {FINE_MAX_FEN}, "
                                               f"found {fine_fen}")
        non_negative(deduct_next_t, "deduct_next_t")
        caller(ctx, OFFICERS)
        store = Store(ctx)
        entity = store.need(ENT, entity_id)
        province_officer(ctx, entity["province"])
        record = obligation_of(entity, entity_id, vintage)
        if record.get("penalty") is not None:
            raise fail("ERR_CONFLICT", f"a penalty for {entity_id} {vintage} is already recorded")
        if record.get("status") != NON_COMPLIANT:
            raise fail("ERR_CONFLICT", f"a penalty needs status {NON_COMPLIANT}; {entity_id} {vintage} is "
                                       f"{record.get('status')}")
        if deduct_next_t != record["shortfall_t"]:
            raise fail("ERR_INVALID_ARGUMENT", f"deduct_next_t must equal the shortfall of {record['shortfall_t']} t, "
                                               f"found {deduct_next_t}")
        record["penalty"] = {"fine_fen": fine_fen, "deduct_next_t": deduct_next_t, "recorded_at": now(ctx).isoformat()}
        record["deduct_next_t"] = deduct_next_t
        store.put(ENT, entity_id, record=entity)

        result = {"entity_id": entity_id, "vintage": vintage, "fine_fen": fine_fen, "deduct_next_t": deduct_next_t}
        emit(ctx, "PenaltyRecorded", result)
        return result


def parse_items(items_json: str) -> list[Item]:
    """The surrender lines: a non-empty JSON array of {"product", "qty_t"[, "batch_id"]},
    each (product, batch) at most once."""
    raw = parse_json(items_json, "items_json")
    if not isinstance(raw, list) or not raw:
        raise fail("ERR_INVALID_ARGUMENT", f"items_json must be a non-empty JSON array, found {items_json!r}")
    items: list[Item] = []
    for i, line in enumerate(raw):
        where = f"items_json[{i}]"
        if not isinstance(line, dict):
            raise fail("ERR_INVALID_ARGUMENT", f"{where} must be a JSON object, found {line!r}")
        unknown = sorted(set(line) - ITEM_FIELDS)
        if unknown or "product" not in line or "qty_t" not in line:
            raise fail("ERR_INVALID_ARGUMENT", f"{where} must have product, qty_t and (for CCER) batch_id, "
                                               f"found fields {', '.join(sorted(line)) or 'none'}")
        batch = line.get("batch_id")
        item = Item(product=check_id(line["product"], f"{where}.product"),
                    qty_t=positive(line["qty_t"], f"{where}.qty_t"),
                    batch_id=None if batch is None else check_id(batch, f"{where}.batch_id"))
        if any((item.product, item.batch_id) == (seen.product, seen.batch_id) for seen in items):
            raise fail("ERR_INVALID_ARGUMENT", f"{where} repeats {item.product}"
                                               f"{'' if item.batch_id is None else ' batch ' + item.batch_id}")
        items.append(item)
    return items


def obligation_of(entity: dict[str, Any], entity_id: str, vintage: int) -> dict[str, Any]:
    """The entity's record for `vintage` (a part of `entity`, changed in place), once its
    obligation is set (ERR_CONFLICT before)."""
    record: dict[str, Any] | None = entity.get("vintages", {}).get(str(vintage))
    if record is None or record.get("obligation_t") is None or record.get("ccer_cap_t") is None:
        raise fail("ERR_CONFLICT", f"the {vintage} obligation of {entity_id} is not set")
    return record


def eligible_kind(product: dict[str, Any], vintage: int) -> str:
    """The kind of a product that may count against a `vintage` obligation."""
    kind = product.get("kind")
    if kind == CCER:
        return CCER
    if kind != CEA:
        raise fail("ERR_INVALID_ARGUMENT", f"product {product.get('code')} is of kind {kind!r}, not CEA or CCER")
    if int(product["vintage"]) > vintage:
        # Banking only: a later vintage would be borrowing, which is not implemented.
        raise fail("ERR_VINTAGE_INELIGIBLE", f"{product.get('code')} (vintage {product['vintage']}) cannot cover a "
                                             f"{vintage} obligation: only vintage {vintage} or earlier (no borrowing)")
    return CEA


def eligible_batch(batch: dict[str, Any], account: str) -> dict[str, Any]:
    """A CCER batch the account may surrender from: its own, from a project outside the market."""
    if batch.get("account_id") != account:
        raise fail("ERR_CCER_INELIGIBLE", f"CCER batch {batch.get('batch_id')} is not held by {account}")
    if batch.get("covered_project"):
        raise fail("ERR_CCER_INELIGIBLE", f"CCER batch {batch.get('batch_id')} comes from project "
                                          f"{batch.get('project_id')}, inside a covered entity")
    return batch
