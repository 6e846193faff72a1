"""mrv.file_objection, mrv.decide_objection (DOMAIN.md §3.2, §5.1; Measures Art. 27).

An entity may object to its verified result within 7 working days; the province
decides within 10 working days of the filing. Upholding never edits the verified
report: it adds the next version, VERIFIED with the revised emissions, and marks the
objected one SUPERSEDED (its `status` and `superseded_by` are the only fields that
change). Working days are Monday to Friday (no holiday list on this channel).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chaincode.contract import Context, transaction

from .common import (
    AR,
    ENTMRV,
    MEE,
    OBJ,
    PROVINCE_MSPS,
    SUPERSEDED,
    VERIFIED,
    Store,
    check_hash,
    check_id,
    check_year,
    emit,
    fail,
    latest_report,
    non_negative,
    now,
    officer_of,
    one_of,
    own_entity,
    parse_time,
    peers_of,
    report_key,
    working_days_after,
)

OBJECT_WITHIN = 7  # working days after verified_at
DECIDE_WITHIN = 10  # working days after filed_at
DECISIONS = ("UPHELD", "DISMISSED")


def objections_of(store: Store, entity_id: str, year: int) -> list[dict[str, Any]]:
    return sorted((record for _, record in store.scan(OBJ, entity_id, str(year))), key=lambda r: int(r["seq"]))


class ObjectionTransactions:
    """Transactions of the mrv chaincode: file_objection, decide_objection."""

    @transaction
    def file_objection(self, ctx: Context, entity_id: str, year: int, reason_hash: str) -> None:
        """Object to the entity's own verified `year` report (its emitter), within 7
        working days after its `verified_at` (ERR_DEADLINE).

        ERR_CONFLICT unless the newest report is VERIFIED and no objection is pending.
        Writes `OBJ~{entity_id}~{year}~{seq}` (seq 1, 2, ...) = {"entity_id", "year",
        "seq", "version", "reason_hash", "filed_at", "decision": null, "decided_at":
        null}, policy AND(Prov{p}, MEEMSP) for the decision. Touches `ENTMRV~{entity_id}`.
        """
        check_id(entity_id, "entity_id")
        check_year(year)
        check_hash(reason_hash, "reason_hash")
        store = Store(ctx)
        entity = own_entity(ctx, store, entity_id)
        report = latest_report(store, entity_id, year)
        if report["status"] != VERIFIED:
            raise fail("ERR_CONFLICT", f"{AR}~{'~'.join(report_key(report))} must be VERIFIED to object, "
                                       f"found {report['status']}")
        at = now(ctx)
        in_time("an objection", report["verified_at"], at, OBJECT_WITHIN)
        earlier = objections_of(store, entity_id, year)
        if any(objection["decision"] is None for objection in earlier):
            raise fail("ERR_CONFLICT", f"an objection to {entity_id} {year} is pending")
        seq = str(len(earlier) + 1)
        store.create(OBJ, entity_id, str(year), seq, record={
            "entity_id": entity_id, "year": year, "seq": seq, "version": report["version"],
            "reason_hash": reason_hash, "filed_at": at.isoformat(), "decision": None, "decided_at": None},
            policy=peers_of(PROVINCE_MSPS[entity["province"]], MEE))
        store.touch(ENTMRV, entity_id)
        emit(ctx, "ObjectionFiled", {"entity_id": entity_id, "year": year, "seq": seq, "version": report["version"],
                                     "reason_hash": reason_hash})

    @transaction
    def decide_objection(self, ctx: Context, entity_id: str, year: int, seq: str, decision: str,
                         revised_emissions_t: int | None) -> None:
        """Decide objection `seq` (an officer of the entity's province; the ministry
        endorses through the objection's policy), within 10 working days after its
        filing (ERR_DEADLINE).

        `decision` UPHELD needs `revised_emissions_t`; DISMISSED takes none (empty).
        ERR_CONFLICT if decided already or the objected version is no longer the
        newest. UPHELD writes `AR~{entity_id}~{year}~v{n+1}`: a copy of v{n} with
        "verified_emissions_t" revised, "version" n+1, "status" VERIFIED, "verified_at"
        now and "objection_seq", policy AND(Prov{p}, MEEMSP); v{n} gets "status"
        SUPERSEDED and "superseded_by" n+1, nothing else.
        """
        check_id(entity_id, "entity_id")
        check_year(year)
        check_id(seq, "seq")
        one_of(decision, DECISIONS, "decision")
        if decision == "UPHELD":
            if revised_emissions_t is None:
                raise fail("ERR_INVALID_ARGUMENT", "revised_emissions_t is needed to uphold an objection")
            non_negative(revised_emissions_t, "revised_emissions_t")
        elif revised_emissions_t is not None:
            raise fail("ERR_INVALID_ARGUMENT", f"a DISMISSED objection takes no revised_emissions_t, "
                                               f"found {revised_emissions_t!r}")
        store = Store(ctx)
        _, entity = officer_of(ctx, store, entity_id)
        objection = store.need(OBJ, entity_id, str(year), seq)
        if objection["decision"] is not None:
            raise fail("ERR_CONFLICT", f"objection {entity_id} {year} {seq} is already {objection['decision']}")
        at = now(ctx)
        in_time("a decision", objection["filed_at"], at, DECIDE_WITHIN)
        report = latest_report(store, entity_id, year)
        if report["version"] != objection["version"] or report["status"] != VERIFIED:
            raise fail("ERR_CONFLICT", f"objection {seq} is to v{objection['version']}, but the newest report is "
                                       f"v{report['version']} {report['status']}")
        objection.update(decision=decision, decided_at=at.isoformat())
        store.put(OBJ, entity_id, str(year), seq, record=objection)
        payload: dict[str, Any] = {"entity_id": entity_id, "year": year, "seq": seq, "decision": decision}
        if decision == "UPHELD":
            version = int(report["version"]) + 1
            revised = {**report, "version": version, "status": VERIFIED, "verified_emissions_t": revised_emissions_t,
                       "verified_at": at.isoformat(), "objection_seq": seq}
            revised.pop("superseded_by", None)
            store.create(AR, *report_key(revised), record=revised,
                         policy=peers_of(PROVINCE_MSPS[entity["province"]], MEE))
            store.put(AR, *report_key(report), record={**report, "status": SUPERSEDED, "superseded_by": version})
            payload.update(version=version, verified_emissions_t=revised_emissions_t)
        emit(ctx, "ObjectionDecided", payload)


def in_time(what: str, since: str, at: dt.datetime, working_days: int) -> None:
    """ERR_DEADLINE unless `at` is within `working_days` working days after `since`."""
    elapsed = working_days_after(parse_time(since).date(), at.date())
    if elapsed > working_days:
        raise fail("ERR_DEADLINE", f"{what} must come within {working_days} working days after {since}, "
                                   f"found {elapsed}")
