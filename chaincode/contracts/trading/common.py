"""What every function of the `trading` chaincode shares (DOMAIN.md §0, §2.2, §4.1, §6.1).

State is JSON records under composite keys (`TYPE~part~part` in DOMAIN.md), written
compact and with sorted keys so that every endorser produces the same bytes. Amounts are
integer tonnes and integer fen; time is the proposal's timestamp in Beijing time, never
the wall clock. A function checks its arguments and its caller before it reads
anything, raises `ContractError` with one of DOMAIN.md §5's codes, and emits at most one
event (a JSON payload of ids, quantities and hashes).

Authority is carried by anchor keys with key-level endorsement policies (§6.1): a
function that needs a province, the exchange, the bank or the ministry writes ("touches")
the anchor that names it, so the transaction is valid only with that org's endorsement.

The records, argument checks and policy builders every contract package shares come
from the contract API (`chaincode.contract.records`, `chaincode.contract.policies`);
this module adds the market's own rules and re-exports them for its modules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chaincode.contract import Context
from chaincode.contract.policies import peers_of as peers_of
from chaincode.contract.records import ID as ID
from chaincode.contract.records import Caller as Caller
from chaincode.contract.records import Store as Store
from chaincode.contract.records import caller as caller
from chaincode.contract.records import check_id as check_id
from chaincode.contract.records import emit as emit
from chaincode.contract.records import fail as fail
from chaincode.contract.records import non_negative as non_negative
from chaincode.contract.records import one_of as one_of
from chaincode.contract.records import parse_json as parse_json
from chaincode.contract.records import positive as positive

BEIJING = dt.timezone(dt.timedelta(hours=8))

REGISTRY, EXCHANGE, BANK, MEE = "RegistryMSP", "ExchangeMSP", "BankMSP", "MEEMSP"
EMITTER = "EmitterMSP"
PROVINCE_MSPS = {"GD": "ProvGDMSP", "SD": "ProvSDMSP"}
UNIT_TYPES = ("COAL_GT300", "COAL_LE300", "COAL_UNCONV", "GAS")

# Composite key object types (DOMAIN.md §4.1).
CFG, BM, PROV, PRODUCT, ENT, ACCT, HOLD, FUND = "CFG", "BM", "PROV", "PRODUCT", "ENT", "ACCT", "HOLD", "FUND"
CCERB, ORD, TRD, DAY, SUR, RET, ISS = "CCERB", "ORD", "TRD", "DAY", "SUR", "RET", "ISS"


# ----- arguments -----------------------------------------------------------------------


def parse_time(value: str, name: str) -> dt.datetime:
    """An ISO-8601 time; without an offset it is Beijing time."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be an ISO-8601 date or time, found {value!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=BEIJING)


def parse_date(value: str, name: str) -> dt.date:
    """A calendar date written YYYY-MM-DD, exactly (the form trade dates are keyed by)."""
    try:
        parsed = dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.isoformat() != value:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be a date YYYY-MM-DD, found {value!r}")
    return parsed


# ----- time ----------------------------------------------------------------------------


def now(ctx: Context) -> dt.datetime:
    """The proposal's timestamp, in Beijing time (endorsers check it is near their clock)."""
    return ctx.stub.get_tx_timestamp().astimezone(BEIJING)


def is_working_day(day: dt.date, holidays: list[str]) -> bool:
    return day.weekday() < 5 and day.isoformat() not in holidays


# ----- the caller ----------------------------------------------------------------------


def province_officer(ctx: Context, province: str) -> Caller:
    """An officer of `province`'s ecology department (its MSP and its `province` attribute)."""
    msp = PROVINCE_MSPS.get(province)
    if msp is None:
        raise fail("ERR_INVALID_ARGUMENT", f"unknown province {province!r} (known: {', '.join(PROVINCE_MSPS)})")
    who = caller(ctx, {msp: ("province_officer",)})
    if who.attribute("province") != province:
        raise fail("ERR_UNAUTHORIZED", f"an officer of province {who.attribute('province') or '?'} may not act for {province}")
    return who


# ----- state ---------------------------------------------------------------------------


def period_of(store: Store, vintage: int) -> dict[str, Any]:
    """The compliance period whose vintages include `vintage` (ERR_NOT_FOUND if none)."""
    for _, period in store.scan(CFG, "period"):
        if vintage in period.get("vintages", []):
            return period
    raise fail("ERR_NOT_FOUND", f"no compliance period covers vintage {vintage}")
