"""registry.issue_allocation, registry.set_obligation (DOMAIN.md §5.3).

Free allocation by the benchmark method (§3.3, §4.1). A unit's allocation is its supply
benchmark times the electricity it supplied, times a correction factor, plus its heat
benchmark times the heat it supplied; in integer kilograms, floored to whole tonnes.
The province first pre-allocates 70 % of the allocation on a base output, then, once
the actual output is known, sets the final allocation and settles the difference:
a surplus is issued, an excess is clawed back from the available holding, and what the
holding cannot cover becomes debt added to the vintage's obligation.

The obligation is what the entity must surrender for a vintage: its verified emissions,
relieved by the gap cap (at most final allocation + 20 % of emissions) and, for gas
units, by the gas exemption (at most the free allocation). At most 5 % of it may be
CCER offsets. Both percentages come from the period config.

Each entity keeps one record per vintage inside `ENT~{entity}`; writing it needs the
entity's province (the record's key-level policy, §6.1).
"""

from __future__ import annotations

import re
from typing import Any

from chaincode.contract import Context, transaction

from .accounts import holding_of
from .common import (
    BM,
    ENT,
    HOLD,
    ISS,
    PRODUCT,
    PROVINCE_MSPS,
    Store,
    caller,
    check_id,
    emit,
    fail,
    non_negative,
    one_of,
    period_of,
    positive,
    province_officer,
)

PRE, FINAL = "PRE", "FINAL"
PRE_PCT = 70
OFFICERS = {msp: ("province_officer",) for msp in PROVINCE_MSPS.values()}
REPORT_REF = re.compile(  # mrv:AR~{entity}~{year}~v{n}:{sha256 hex}, DOMAIN.md §6.3
    r"mrv:AR~(?P<entity>[A-Za-z0-9._-]{1,64})~(?P<year>[1-9][0-9]{0,8})~v[1-9][0-9]{0,8}:[0-9a-f]{64}")


class AllocationTransactions:
    """Transactions of the trading chaincode: registry.issue_allocation, registry.set_obligation."""

    @transaction
    def issue_allocation(self, ctx: Context, entity_id: str, vintage: int, phase: str, benchmark_set: str,
                         supply_mwh: int, heat_gj: int, cf_permille: int) -> None:
        """Allocate `vintage` allowances to `entity_id` (officer of the entity's province).

        PRE (once): pre_alloc_t = floor(70 × allocation / 100) on the given (base) output,
        issued to the entity's account; it creates the vintage record (all fields 0, ""
        or null; final_alloc_t stays null until FINAL). FINAL (once, after PRE):
        final_alloc_t = the allocation on the actual output; adjustment_t = final − pre.
        Deductions for unsurrendered tonnes of earlier vintages (their `deduct_next_t`,
        set by a penalty) not yet taken are taken now, once each: the vintage record
        notes them in "deducted_t" and "deducted_from" {vintage: t}. The net change is
        issued (`ISS.issued_t`), or clawed back from the available holding
        (`ISS.clawed_back_t`), the remainder becoming the vintage's "debt_t".
        The holding is the CEA product of the vintage (ERR_NOT_FOUND if none is listed).
        """
        check_id(entity_id, "entity_id")
        positive(vintage, "vintage")
        one_of(phase, (PRE, FINAL), "phase")
        check_id(benchmark_set, "benchmark_set")
        non_negative(supply_mwh, "supply_mwh")
        non_negative(heat_gj, "heat_gj")
        positive(cf_permille, "cf_permille")
        caller(ctx, OFFICERS)
        store = Store(ctx)
        entity = store.need(ENT, entity_id)
        province_officer(ctx, entity["province"])
        vintages: dict[str, dict[str, Any]] = entity["vintages"]
        record = vintages.get(str(vintage))
        if phase == PRE and record is not None:
            raise fail("ERR_CONFLICT", f"{entity_id} already has its PRE allocation for {vintage}")
        if phase == FINAL and record is None:
            raise fail("ERR_CONFLICT", f"{entity_id} has no PRE allocation for {vintage}: FINAL comes after PRE")
        if record is not None and record["final_alloc_t"] is not None:
            raise fail("ERR_CONFLICT", f"{entity_id} already has its FINAL allocation for {vintage}")
        benchmark = store.need(BM, benchmark_set)["unit_types"][entity["unit_type"]]
        product = cea_product(store, vintage)
        allocation = unit_allocation(benchmark["supply_kg_per_mwh"], benchmark["heat_kg_per_gj"], supply_mwh, heat_gj,
                                     cf_permille)
        deducted_from: dict[str, int] = {}
        if record is None:
            qty = PRE_PCT * allocation // 100
            record = new_vintage(qty)
            adjustment = change = qty
        else:
            qty = allocation
            adjustment = qty - record["pre_alloc_t"]
            deducted_from = pending_deductions(vintages, vintage)
            change = adjustment - sum(deducted_from.values())
            record = {**record, "final_alloc_t": qty, "deducted_t": sum(deducted_from.values()),
                      "deducted_from": deducted_from}
        account = entity["account_id"]
        holding = holding_of(store, account, product)
        issued = store.need(ISS, product)
        clawed = min(-change, holding["available_t"]) if change < 0 else 0
        debt = -change - clawed if change < 0 else 0
        if change > 0:
            store.put(HOLD, account, product, record={**holding, "available_t": holding["available_t"] + change})
            store.put(ISS, product, record={**issued, "issued_t": issued["issued_t"] + change})
        elif clawed > 0:
            store.put(HOLD, account, product, record={**holding, "available_t": holding["available_t"] - clawed})
            store.put(ISS, product, record={**issued, "clawed_back_t": issued["clawed_back_t"] + clawed})
        record["debt_t"] += debt
        store.put(ENT, entity_id, record={**entity, "vintages": {**vintages, str(vintage): record}})
        emit(ctx, "AllocationIssued", {"entity_id": entity_id, "account_id": account, "product": product,
                                       "vintage": vintage, "phase": phase, "qty_t": qty, "adjustment_t": adjustment,
                                       "deducted_t": sum(deducted_from.values()), "clawed_back_t": clawed,
                                       "debt_t": debt})

    @transaction
    def set_obligation(self, ctx: Context, entity_id: str, vintage: int, verified_emissions_t: int,
                       report_ref: str) -> None:
        """Set what `entity_id` must surrender for `vintage` (officer of the entity's province).

        Needs the FINAL allocation (ERR_CONFLICT) and a period covering the vintage
        (ERR_NOT_FOUND). obligation_t follows DOMAIN.md §4.1 with the period's
        gap_cap_pct and gas_exempt, plus the vintage's debt_t; ccer_cap_t =
        floor(ccer_cap_pct × obligation_t / 100). `report_ref` names the verified annual
        report of this entity and year, `mrv:AR~{entity}~{year}~v{n}:{sha256 hex}`
        (lower-case hex). It may be set again, for a corrected report, while the vintage
        is PENDING and nothing has been surrendered (ERR_CONFLICT after).
        """
        check_id(entity_id, "entity_id")
        positive(vintage, "vintage")
        non_negative(verified_emissions_t, "verified_emissions_t")
        ref = REPORT_REF.fullmatch(report_ref)
        if ref is None:
            raise fail("ERR_INVALID_ARGUMENT", f"report_ref must be mrv:AR~<entity>~<year>~v<n>:<sha256 hex>, "
                                               f"found {report_ref!r}")
        if ref["entity"] != entity_id or int(ref["year"]) != vintage:
            raise fail("ERR_INVALID_ARGUMENT", f"report_ref must name the report of {entity_id} for {vintage}, "
                                               f"found {report_ref!r}")
        caller(ctx, OFFICERS)
        store = Store(ctx)
        entity = store.need(ENT, entity_id)
        province_officer(ctx, entity["province"])
        record = entity["vintages"].get(str(vintage))
        if record is None or record["final_alloc_t"] is None:
            raise fail("ERR_CONFLICT", f"{entity_id} has no FINAL allocation for {vintage}")
        surrendered = record["surrendered_cea_t"] + record["surrendered_ccer_t"]
        if record["status"] != "PENDING" or surrendered > 0:
            raise fail("ERR_CONFLICT", f"the obligation of {entity_id} for {vintage} is settled: status "
                                       f"{record['status']}, {surrendered} t surrendered")
        period = period_of(store, vintage)
        obligation = obligation_of(entity["unit_type"], verified_emissions_t, record["final_alloc_t"], period)
        obligation += record["debt_t"]
        ccer_cap = period["ccer_cap_pct"] * obligation // 100
        record = {**record, "verified_emissions_t": verified_emissions_t, "report_ref": report_ref,
                  "obligation_t": obligation, "ccer_cap_t": ccer_cap}
        store.put(ENT, entity_id, record={**entity, "vintages": {**entity["vintages"], str(vintage): record}})
        emit(ctx, "ObligationSet", {"entity_id": entity_id, "vintage": vintage,
                                    "verified_emissions_t": verified_emissions_t, "obligation_t": obligation,
                                    "ccer_cap_t": ccer_cap, "debt_t": record["debt_t"], "report_ref": report_ref})


# ----- the rules, as functions of numbers ------------------------------------------------


def unit_allocation(supply_kg_per_mwh: int, heat_kg_per_gj: int, supply_mwh: int, heat_gj: int,
                    cf_permille: int) -> int:
    """floor((supply_bm × supply × cf / 1000 + heat_bm × heat) / 1000) tonnes, in integers.

    One floor division over the exact numerator is the same as flooring each step, as
    the heat term is a whole number of kilograms.
    """
    return (supply_kg_per_mwh * supply_mwh * cf_permille + 1000 * heat_kg_per_gj * heat_gj) // 1_000_000


def obligation_of(unit_type: str, verified_t: int, final_alloc_t: int, period: dict[str, Any]) -> int:
    """What must be surrendered before debt (DOMAIN.md §4.1): gas exemption, gap cap."""
    if unit_type == "GAS" and period["gas_exempt"]:
        return min(verified_t, final_alloc_t)
    cap_pct: int = period["gap_cap_pct"]
    if (verified_t - final_alloc_t) * 100 > cap_pct * verified_t:
        return final_alloc_t + cap_pct * verified_t // 100
    return verified_t


def new_vintage(pre_alloc_t: int) -> dict[str, Any]:
    """An entity's record of one vintage, as PRE allocation creates it."""
    return {"pre_alloc_t": pre_alloc_t, "final_alloc_t": None, "obligation_t": None, "ccer_cap_t": None,
            "verified_emissions_t": 0, "report_ref": "", "surrendered_cea_t": 0, "surrendered_ccer_t": 0,
            "borrowed_t": 0, "debt_t": 0, "deduct_next_t": 0, "deducted_t": 0, "deducted_from": {},
            "shortfall_t": 0, "status": "PENDING", "penalty": None}


def pending_deductions(vintages: dict[str, dict[str, Any]], vintage: int) -> dict[str, int]:
    """Tonnes of each earlier vintage's `deduct_next_t` that no FINAL allocation has taken yet."""
    taken: dict[str, int] = {}
    for other in vintages.values():
        for year, qty in other.get("deducted_from", {}).items():
            taken[year] = taken.get(year, 0) + qty
    pending = {}
    for year, other in sorted(vintages.items(), key=lambda item: int(item[0])):
        left = int(other.get("deduct_next_t") or 0) - taken.get(year, 0)
        if int(year) < vintage and left > 0:
            pending[year] = left
    return pending


def cea_product(store: Store, vintage: int) -> str:
    """The code of the CEA product of `vintage` (ERR_NOT_FOUND if none is listed)."""
    for _, product in store.scan(PRODUCT):
        if product.get("kind") == "CEA" and product.get("vintage") == vintage:
            return str(product["code"])
    raise fail("ERR_NOT_FOUND", f"no CEA product of vintage {vintage} is listed")
