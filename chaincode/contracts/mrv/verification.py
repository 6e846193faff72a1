"""mrv.assign_verifier, mrv.submit_verification, mrv.confirm_verification (DOMAIN.md §3.2, §5.1).

The province organises verification: it assigns an agency to a submitted report (the
report's key-level policy becomes AND(VerifierMSP, Prov{p})), the assigned agency
submits the verified figures (policy AND(Prov{p}, MEEMSP) from then on), and the
province, endorsed by the ministry, confirms them. A VERIFIED report never changes
again: any later attempt to write it is ERR_IMMUTABLE.
"""

from __future__ import annotations

from chaincode.contract import Context, transaction

from .common import (
    AR,
    ENTMRV,
    MEE,
    PROVINCE_MSPS,
    SUBMITTED,
    UNDER_VERIFICATION,
    VA,
    VERIFIED,
    VERIFIER,
    VERIFIERS,
    Store,
    caller,
    check_hash,
    check_id,
    check_year,
    emit,
    fail,
    latest_report,
    non_negative,
    not_final,
    now,
    officer_of,
    peers_of,
    report_key,
)


class VerificationTransactions:
    """Transactions of the mrv chaincode: assign_verifier, submit_verification, confirm_verification."""

    @transaction
    def assign_verifier(self, ctx: Context, entity_id: str, year: int, agency_id: str) -> None:
        """Assign agency `agency_id` to verify the entity's `year` report (an officer of
        the entity's province).

        The newest report must be SUBMITTED (ERR_IMMUTABLE if verified, ERR_CONFLICT if
        already under verification). Writes `VA~{entity_id}~{year}` = {"agency_id",
        "assigned_by", "assigned_at"}; the report becomes UNDER_VERIFICATION with policy
        AND(VerifierMSP, Prov{p}).
        """
        check_id(entity_id, "entity_id")
        check_year(year)
        check_id(agency_id, "agency_id")
        store = Store(ctx)
        who, entity = officer_of(ctx, store, entity_id)
        report = latest_report(store, entity_id, year)
        not_final(report)
        if report["status"] != SUBMITTED:
            raise fail("ERR_CONFLICT", f"{AR}~{'~'.join(report_key(report))} must be SUBMITTED to assign a verifier, "
                                       f"found {report['status']}")
        at = now(ctx).isoformat()
        store.put(VA, entity_id, str(year), record={"agency_id": agency_id, "assigned_by": who.msp_id,
                                                    "assigned_at": at})
        report["status"] = UNDER_VERIFICATION
        store.put(AR, *report_key(report), record=report,
                  policy=peers_of(VERIFIER, PROVINCE_MSPS[entity["province"]]))
        emit(ctx, "VerifierAssigned", {"entity_id": entity_id, "year": year, "version": report["version"],
                                       "agency_id": agency_id})

    @transaction
    def submit_verification(self, ctx: Context, entity_id: str, year: int, verified_emissions_t: int,
                            verified_power_mwh: int, verified_heat_gj: int, findings_hash: str) -> None:
        """Submit the verified figures of the entity's `year` report (a verifier whose
        `agency_id` is the assigned one, ERR_UNAUTHORIZED otherwise).

        The report must be UNDER_VERIFICATION without figures yet (ERR_IMMUTABLE if
        verified, ERR_CONFLICT otherwise). Adds "verified_emissions_t",
        "verified_power_mwh", "verified_heat_gj", "findings_hash", "verifier",
        "verification_submitted_at"; the report's policy becomes AND(Prov{p}, MEEMSP).
        """
        check_id(entity_id, "entity_id")
        check_year(year)
        non_negative(verified_emissions_t, "verified_emissions_t")
        non_negative(verified_power_mwh, "verified_power_mwh")
        non_negative(verified_heat_gj, "verified_heat_gj")
        check_hash(findings_hash, "findings_hash")
        who = caller(ctx, VERIFIERS)
        store = Store(ctx)
        entity = store.need(ENTMRV, entity_id)
        report = latest_report(store, entity_id, year)
        assignment = store.need(VA, entity_id, str(year))
        if who.attribute("agency_id") != assignment["agency_id"]:
            raise fail("ERR_UNAUTHORIZED", f"agency {who.attribute('agency_id') or '?'} is not the verifier assigned "
                                           f"to {entity_id} {year} ({assignment['agency_id']})")
        not_final(report)
        if report["status"] != UNDER_VERIFICATION or "verified_emissions_t" in report:
            raise fail("ERR_CONFLICT", f"{AR}~{'~'.join(report_key(report))} must be UNDER_VERIFICATION without "
                                       f"verified figures, found {report['status']}")
        report.update(verified_emissions_t=verified_emissions_t, verified_power_mwh=verified_power_mwh,
                      verified_heat_gj=verified_heat_gj, findings_hash=findings_hash,
                      verifier=assignment["agency_id"], verification_submitted_at=now(ctx).isoformat())
        store.put(AR, *report_key(report), record=report, policy=peers_of(PROVINCE_MSPS[entity["province"]], MEE))
        emit(ctx, "VerificationSubmitted", {"entity_id": entity_id, "year": year, "version": report["version"],
                                            "agency_id": assignment["agency_id"], "findings_hash": findings_hash,
                                            "verified_emissions_t": verified_emissions_t,
                                            "verified_power_mwh": verified_power_mwh,
                                            "verified_heat_gj": verified_heat_gj})

    @transaction
    def confirm_verification(self, ctx: Context, entity_id: str, year: int) -> None:
        """Confirm the verified figures (an officer of the entity's province; the report's
        policy AND(Prov{p}, MEEMSP) makes the ministry endorse): VERIFIED, with
        "verified_at" (ERR_IMMUTABLE if verified already; ERR_CONFLICT without figures)."""
        check_id(entity_id, "entity_id")
        check_year(year)
        store = Store(ctx)
        officer_of(ctx, store, entity_id)
        report = latest_report(store, entity_id, year)
        not_final(report)
        if report["status"] != UNDER_VERIFICATION or "verified_emissions_t" not in report:
            raise fail("ERR_CONFLICT", f"{AR}~{'~'.join(report_key(report))} has no verification submitted "
                                       f"(status {report['status']})")
        report.update(status=VERIFIED, verified_at=now(ctx).isoformat())
        store.put(AR, *report_key(report), record=report)
        emit(ctx, "ReportVerified", {"entity_id": entity_id, "year": year, "version": report["version"],
                                     "verified_emissions_t": report["verified_emissions_t"],
                                     "report_hash": report["report_hash"]})
