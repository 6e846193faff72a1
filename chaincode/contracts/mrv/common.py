"""What every function of the `mrv` chaincode shares (DOMAIN.md §0, §2.2, §4.2, §6.2).

The package is deployed on its own (channel `data-sharing`) and imports nothing from the
`trading` chaincode. State is JSON records under composite keys, compact and with sorted keys so that every endorser produces the
same bytes; time is the proposal's timestamp in Beijing time, never the wall clock.

Raw monitoring data and plan documents never reach public state: they arrive as
transient data, go into the province's private data collection `mrvRaw{province}`, and
the public record keeps their sha256 (§4.2). Authority is carried by key-level policies
(§6.2): `PROVMRV~{p}` needs the province's peer, `ENTMRV~{e}` the emitters' and the
province's peers, and an annual report's own policy follows its status; a function
that needs an org's endorsement writes ("touches") the key whose policy names it.

The records, argument checks and policy builders every contract package shares come
from the contract API (`chaincode.contract.records`, `chaincode.contract.policies`);
this module adds this chaincode's own rules and re-exports them for its modules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from chaincode.contract import Context
from chaincode.contract.policies import peers_of as peers_of
from chaincode.contract.records import HEX64 as HEX64
from chaincode.contract.records import ID as ID
from chaincode.contract.records import Caller as Caller
from chaincode.contract.records import Store as RecordStore
from chaincode.contract.records import caller as caller
from chaincode.contract.records import check_hash as check_hash
from chaincode.contract.records import check_id as check_id
from chaincode.contract.records import emit as emit
from chaincode.contract.records import encode as encode
from chaincode.contract.records import fail as fail
from chaincode.contract.records import non_negative as non_negative
from chaincode.contract.records import one_of as one_of
from chaincode.contract.records import positive as positive

BEIJING = dt.timezone(dt.timedelta(hours=8))

MEE, EMITTER, VERIFIER = "MEEMSP", "EmitterMSP", "VerifierMSP"
PROVINCE_MSPS = {"GD": "ProvGDMSP", "SD": "ProvSDMSP"}
UNIT_TYPES = ("COAL_GT300", "COAL_LE300", "COAL_UNCONV", "GAS")

# Composite key object types (DOMAIN.md §4.2).
PROVMRV, ENTMRV, PLAN, MD, AR, VA, OBJ = "PROVMRV", "ENTMRV", "PLAN", "MD", "AR", "VA", "OBJ"

# Statuses of an annual report; the last two are final (ERR_IMMUTABLE).
SUBMITTED, UNDER_VERIFICATION, VERIFIED, SUPERSEDED = "SUBMITTED", "UNDER_VERIFICATION", "VERIFIED", "SUPERSEDED"
FINAL = (VERIFIED, SUPERSEDED)


# ----- arguments -----------------------------------------------------------------------


def check_year(value: int, name: str = "year") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2000 <= value <= 9998:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be a year from 2000 to 9998, found {value!r}")
    return value


def transient(ctx: Context, name: str) -> bytes:
    """The transient field `name` (ERR_INVALID_ARGUMENT if absent or empty)."""
    value = ctx.stub.get_transient().get(name, b"")
    if not value:
        raise fail("ERR_INVALID_ARGUMENT", f"transient field {name!r} is missing (it carries the private payload)")
    return bytes(value)


def matching(payload: bytes, declared: str, name: str) -> str:
    """`declared` if it is sha256(`payload`) in hex; ERR_HASH_MISMATCH otherwise."""
    actual = hashlib.sha256(payload).hexdigest()
    if actual != declared:
        raise fail("ERR_HASH_MISMATCH", f"{name} {declared} is not the sha256 of the transient payload ({actual})")
    return declared


# ----- time ----------------------------------------------------------------------------


def parse_time(value: str) -> dt.datetime:
    """A time this chaincode wrote (ISO-8601 with its offset)."""
    return dt.datetime.fromisoformat(value)


def now(ctx: Context) -> dt.datetime:
    """The proposal's timestamp, in Beijing time (endorsers check it is near their clock)."""
    return ctx.stub.get_tx_timestamp().astimezone(BEIJING)


def working_days_after(start: dt.date, day: dt.date) -> int:
    """How many working days (Mon-Fri) lie after `start`, up to and including `day`."""
    count, current = 0, start
    while current < day:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            count += 1
    return count


# ----- the caller ----------------------------------------------------------------------


OFFICERS = {msp: ("province_officer",) for msp in PROVINCE_MSPS.values()}
EMITTERS = {EMITTER: ("emitter",)}
VERIFIERS = {VERIFIER: ("verifier",)}


def province_officer(ctx: Context, province: str) -> Caller:
    """An officer of `province`'s ecology department (its MSP and its `province` attribute)."""
    who = caller(ctx, OFFICERS)
    if who.msp_id != PROVINCE_MSPS.get(province) or who.attribute("province") != province:
        raise fail("ERR_UNAUTHORIZED",
                   f"an officer of {who.msp_id} (province {who.attribute('province') or '?'}) may not act for {province}")
    return who


# ----- state ---------------------------------------------------------------------------


class Store(RecordStore):
    """The records of the mrv chaincode, and its raw documents in the provinces' collections."""

    def put_private(self, province: str, kind: str, *parts: str, payload: bytes) -> None:
        """`payload` into the province's collection `mrvRaw{province}`, under `kind~parts`."""
        self.stub.put_private_data(collection_of(province), self.key(kind, *parts), payload)


def collection_of(province: str) -> str:
    return f"mrvRaw{province}"


# ----- the records every function reads ------------------------------------------------


def own_entity(ctx: Context, store: Store, entity_id: str) -> dict[str, Any]:
    """The entity `entity_id`, if the caller is an emitter whose `entity_id` attribute
    names it (ERR_UNAUTHORIZED otherwise; ERR_NOT_FOUND if it is not registered)."""
    who = caller(ctx, EMITTERS)
    if who.attribute("entity_id") != entity_id:
        raise fail("ERR_UNAUTHORIZED", f"emitter {who.attribute('entity_id') or '?'} may not act for entity {entity_id}")
    return store.need(ENTMRV, entity_id)


def officer_of(ctx: Context, store: Store, entity_id: str) -> tuple[Caller, dict[str, Any]]:
    """The caller and entity `entity_id`, if the caller is an officer of the entity's province."""
    caller(ctx, OFFICERS)  # refuse other kinds of caller before anything is read
    entity = store.need(ENTMRV, entity_id)
    return province_officer(ctx, entity["province"]), entity


def reports_of(store: Store, entity_id: str, year: int) -> list[dict[str, Any]]:
    """The versions of entity_id's annual report for `year`, oldest first."""
    found = [record for _, record in store.scan(AR, entity_id, str(year))]
    return sorted(found, key=lambda record: int(record["version"]))


def latest_report(store: Store, entity_id: str, year: int) -> dict[str, Any]:
    """The newest version (ERR_NOT_FOUND if there is none)."""
    reports = reports_of(store, entity_id, year)
    if not reports:
        raise fail("ERR_NOT_FOUND", f"{AR}~{entity_id}~{year} has no report")
    return reports[-1]


def report_key(record: Mapping[str, Any]) -> tuple[str, str, str]:
    """The key parts of an annual report record: (entity_id, year, v{n})."""
    return str(record["entity_id"]), str(record["year"]), f"v{record['version']}"


def not_final(record: Mapping[str, Any]) -> None:
    """ERR_IMMUTABLE if the report is VERIFIED or SUPERSEDED."""
    if record["status"] in FINAL:
        raise fail("ERR_IMMUTABLE", f"{AR}~{'~'.join(report_key(record))} is {record['status']} and may not change")
