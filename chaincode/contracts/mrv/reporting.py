"""mrv.submit_monthly, mrv.submit_annual_report, mrv.get_report, mrv.get_history
(DOMAIN.md §3.2, §5.1).

Under an approved plan an entity uploads its monthly evidence within 40 natural days
after each month's end (later uploads are kept but flagged `late`), and reports the
year's emissions by 31 March of the next year. The annual report must add up: all
twelve months present and the totals equal to their sums, exactly. A month may be
uploaded again (as the next version) until the annual report is in.

An annual report's record holds public fields only (the raw data behind it stays in the
province's collection), so any member of the channel reads it: the current version
(`get_report`) or every version with its status (`get_history`), e.g. v1 SUPERSEDED
and v2 VERIFIED after an upheld objection.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from chaincode.contract import Context, transaction

from .common import (
    AR,
    ENTMRV,
    MD,
    PLAN,
    PROVINCE_MSPS,
    SUBMITTED,
    Store,
    check_hash,
    check_id,
    check_year,
    emit,
    fail,
    latest_report,
    matching,
    non_negative,
    not_final,
    now,
    own_entity,
    peers_of,
    reports_of,
    transient,
)

PERIOD = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
LATE_AFTER_DAYS = 40  # natural days after month end [F:S14]
QUANTITIES = ("emissions_t", "power_supplied_mwh", "heat_supplied_gj")


def month_end(year: int, month: int) -> dt.date:
    """The last day of the month."""
    following = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return following - dt.timedelta(days=1)


class ReportingTransactions:
    """Transactions of the mrv chaincode: submit_monthly, submit_annual_report, get_report, get_history."""

    @transaction
    def submit_monthly(self, ctx: Context, entity_id: str, period: str, emissions_t: int, power_supplied_mwh: int,
                       heat_supplied_gj: int, data_hash: str) -> None:
        """Upload month `period` (YYYY-MM) of the entity's own monitoring data, whose raw
        data is the transient field `raw` (the entity's emitter).

        ERR_INVALID_ARGUMENT if the month has not begun; ERR_CONFLICT without an
        APPROVED plan or once the year's annual report is submitted; ERR_HASH_MISMATCH
        unless `data_hash` = sha256(raw). Writes `MD~{entity_id}~{period}` =
        {"entity_id", "period", "emissions_t", "power_supplied_mwh", "heat_supplied_gj",
        "data_hash", "submitted_at", "late", "version"} (late: submitted after month end
        + 40 days); raw data to `mrvRaw{p}` under `MD~{entity_id}~{period}~v{n}`.
        Touches `ENTMRV~{entity_id}`.
        """
        check_id(entity_id, "entity_id")
        found = PERIOD.fullmatch(period) if isinstance(period, str) else None
        if found is None:
            raise fail("ERR_INVALID_ARGUMENT", f"period must be a month YYYY-MM, found {period!r}")
        year, month = int(found.group(1)), int(found.group(2))
        for name, value in zip(QUANTITIES, (emissions_t, power_supplied_mwh, heat_supplied_gj), strict=True):
            non_negative(value, name)
        check_hash(data_hash, "data_hash")
        store = Store(ctx)
        entity = own_entity(ctx, store, entity_id)
        at = now(ctx)
        if (year, month) > (at.year, at.month):
            raise fail("ERR_INVALID_ARGUMENT", f"period {period} has not begun (now {at.date().isoformat()})")
        raw = transient(ctx, "raw")
        matching(raw, data_hash, "data_hash")
        if not any(plan["status"] == "APPROVED" for _, plan in store.scan(PLAN, entity_id)):
            raise fail("ERR_CONFLICT", f"entity {entity_id} has no APPROVED plan")
        if reports_of(store, entity_id, year):
            raise fail("ERR_CONFLICT", f"the {year} annual report of {entity_id} is submitted; its months are closed")
        previous = store.get(MD, entity_id, period)
        version = 1 if previous is None else int(previous["version"]) + 1
        late = at.date() > month_end(year, month) + dt.timedelta(days=LATE_AFTER_DAYS)
        store.put(MD, entity_id, period, record={
            "entity_id": entity_id, "period": period, "emissions_t": emissions_t,
            "power_supplied_mwh": power_supplied_mwh, "heat_supplied_gj": heat_supplied_gj, "data_hash": data_hash,
            "submitted_at": at.isoformat(), "late": late, "version": version})
        store.put_private(entity["province"], MD, entity_id, period, f"v{version}", payload=raw)
        store.touch(ENTMRV, entity_id)
        emit(ctx, "MonthlyDataSubmitted", {"entity_id": entity_id, "period": period, "version": version,
                                           "data_hash": data_hash, "late": late})

    @transaction
    def submit_annual_report(self, ctx: Context, entity_id: str, year: int, emissions_t: int, power_supplied_mwh: int,
                             heat_supplied_gj: int, report_hash: str) -> None:
        """Report the entity's own emissions of `year` (its emitter), after the year ends.

        ERR_IMMUTABLE if the year's report is verified, ERR_CONFLICT if it is otherwise
        submitted; ERR_INCONSISTENT unless all twelve `MD~` months exist and each
        total equals their sum. Writes `AR~{entity_id}~{year}~v1` = {"entity_id",
        "year", "version": 1, the totals, "report_hash", "status": "SUBMITTED",
        "submitted_at", "late"} (late: after 31 March of year + 1), policy the
        province's peer. Touches `ENTMRV~{entity_id}`.
        """
        check_id(entity_id, "entity_id")
        check_year(year)
        totals = dict(zip(QUANTITIES, (emissions_t, power_supplied_mwh, heat_supplied_gj), strict=True))
        for name, value in totals.items():
            non_negative(value, name)
        check_hash(report_hash, "report_hash")
        store = Store(ctx)
        entity = own_entity(ctx, store, entity_id)
        at = now(ctx)
        if at.year <= year:
            raise fail("ERR_INVALID_ARGUMENT", f"year {year} has not ended (now {at.date().isoformat()})")
        if reports_of(store, entity_id, year):
            not_final(latest_report(store, entity_id, year))
            raise fail("ERR_CONFLICT", f"the {year} annual report of {entity_id} is already submitted")
        months = {f"{year}-{month:02d}": store.get(MD, entity_id, f"{year}-{month:02d}") for month in range(1, 13)}
        missing = [period for period, record in months.items() if record is None]
        if missing:
            raise fail("ERR_INCONSISTENT", f"monthly data missing for {', '.join(missing)}")
        for name, total in totals.items():
            summed = sum(int(record[name]) for record in months.values() if record is not None)
            if summed != total:
                raise fail("ERR_INCONSISTENT", f"{name} must equal the months' sum {summed:,}, found {total:,}")
        late = at.date() > dt.date(year + 1, 3, 31)
        store.create(AR, entity_id, str(year), "v1", record={
            "entity_id": entity_id, "year": year, "version": 1, **totals, "report_hash": report_hash,
            "status": SUBMITTED, "submitted_at": at.isoformat(), "late": late},
            policy=peers_of(PROVINCE_MSPS[entity["province"]]))
        store.touch(ENTMRV, entity_id)
        emit(ctx, "AnnualReportSubmitted", {"entity_id": entity_id, "year": year, "version": 1, **totals,
                                            "report_hash": report_hash, "late": late})

    @transaction(submit=False)
    def get_report(self, ctx: Context, entity_id: str, year: int) -> dict[str, Any]:
        """The newest version of the entity's annual report for `year` that is not
        superseded (its public fields; ERR_NOT_FOUND if none). Any channel member."""
        check_id(entity_id, "entity_id")
        check_year(year)
        current = [record for record in reports_of(Store(ctx), entity_id, year) if record["status"] != "SUPERSEDED"]
        if not current:
            raise fail("ERR_NOT_FOUND", f"{AR}~{entity_id}~{year} has no report")
        return current[-1]

    @transaction(submit=False)
    def get_history(self, ctx: Context, entity_id: str, year: int) -> list[dict[str, Any]]:
        """Every version of the entity's annual report for `year` (v1..vn, oldest first),
        each with its status (ERR_NOT_FOUND if none). Any channel member."""
        check_id(entity_id, "entity_id")
        check_year(year)
        store = Store(ctx)
        latest_report(store, entity_id, year)  # ERR_NOT_FOUND if there is no version
        return reports_of(store, entity_id, year)
