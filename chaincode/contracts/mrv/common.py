"""What every function of the `mrv` chaincode shares (DOMAIN.md §0, §2.2, §4.2, §6.2).

The package is deployed on its own (channel `data-sharing`), so it carries its own small
set of helpers rather than importing the `trading` chaincode's. State is JSON records
under composite keys, compact and with sorted keys so that every endorser produces the
same bytes; time is the proposal's timestamp in Beijing time, never the wall clock.

Raw monitoring data and plan documents never reach public state: they arrive as
transient data, go into the province's private data collection `mrvRaw{province}`, and
the public record keeps their sha256 (§4.2). Authority is carried by key-level policies
(§6.2): `PROVMRV~{p}` needs the province's peer, `ENTMRV~{e}` the emitters' and the
province's peers, and an annual report's own policy follows its status; a function
that needs an org's endorsement writes ("touches") the key whose policy names it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2

from chaincode.contract import Context, ContractError

BEIJING = dt.timezone(dt.timedelta(hours=8))
ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")

MEE, EMITTER, VERIFIER = "MEEMSP", "EmitterMSP", "VerifierMSP"
PROVINCE_MSPS = {"GD": "ProvGDMSP", "SD": "ProvSDMSP"}
UNIT_TYPES = ("COAL_GT300", "COAL_LE300", "COAL_UNCONV", "GAS")

# Composite key object types (DOMAIN.md §4.2).
PROVMRV, ENTMRV, PLAN, MD, AR, VA, OBJ = "PROVMRV", "ENTMRV", "PLAN", "MD", "AR", "VA", "OBJ"

# Statuses of an annual report; the last two are final (ERR_IMMUTABLE).
SUBMITTED, UNDER_VERIFICATION, VERIFIED, SUPERSEDED = "SUBMITTED", "UNDER_VERIFICATION", "VERIFIED", "SUPERSEDED"
FINAL = (VERIFIED, SUPERSEDED)


def fail(code: str, message: str) -> ContractError:
    """The error to raise: `raise fail("ERR_CONFLICT", "...")`."""
    return ContractError(message, code)


# ----- arguments -----------------------------------------------------------------------


def check_id(value: str, name: str) -> str:
    if not isinstance(value, str) or not ID.fullmatch(value):
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must match [A-Za-z0-9._-]{{1,64}}, found {value!r}")
    return value


def check_hash(value: str, name: str) -> str:
    """A sha256 digest in lowercase hex."""
    if not isinstance(value, str) or not HEX64.fullmatch(value):
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be a sha256 in 64 lowercase hex digits, found {value!r}")
    return value


def positive(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be a whole number above 0, found {value!r}")
    return value


def non_negative(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be a whole number, 0 or more, found {value!r}")
    return value


def one_of(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be one of {', '.join(allowed)}, found {value!r}")
    return value


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


@dataclass(frozen=True)
class Caller:
    msp_id: str
    role: str
    attributes: Mapping[str, str]

    def attribute(self, name: str) -> str:
        return self.attributes.get(name, "")


def caller(ctx: Context, allowed: Mapping[str, tuple[str, ...]]) -> Caller:
    """The creator, if its MSP and `role` attribute are among `allowed` ({msp: roles});
    ERR_UNAUTHORIZED otherwise (DOMAIN.md §2.2: check msp_id AND role)."""
    identity = ctx.client_identity
    role = identity.get_attribute_value("role") or ""
    if role not in allowed.get(identity.msp_id, ()):
        wanted = "; ".join(f"{msp} {'/'.join(roles)}" for msp, roles in allowed.items())
        raise fail("ERR_UNAUTHORIZED", f"{identity.msp_id} {role or 'without a role'} may not do this (needs {wanted})")
    return Caller(identity.msp_id, role, identity.attributes)


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


def encode(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


class Store:
    """The transaction's records: JSON under composite keys."""

    def __init__(self, ctx: Context) -> None:
        self.stub = ctx.stub

    def key(self, kind: str, *parts: str) -> str:
        return self.stub.create_composite_key(kind, list(parts))

    def get(self, kind: str, *parts: str) -> dict[str, Any] | None:
        raw = self.stub.get_state(self.key(kind, *parts))
        return json.loads(raw) if raw else None

    def need(self, kind: str, *parts: str) -> dict[str, Any]:
        found = self.get(kind, *parts)
        if found is None:
            raise fail("ERR_NOT_FOUND", f"{kind}~{'~'.join(parts)} does not exist")
        return found

    def put(self, kind: str, *parts: str, record: Mapping[str, Any], policy: bytes | None = None) -> None:
        self.stub.put_state(self.key(kind, *parts), encode(record))
        if policy is not None:
            self.stub.set_state_validation_parameter(self.key(kind, *parts), policy)

    def create(self, kind: str, *parts: str, record: Mapping[str, Any], policy: bytes | None = None) -> None:
        """A new record (ERR_CONFLICT if it exists), with its key-level policy if given."""
        if self.get(kind, *parts) is not None:
            raise fail("ERR_CONFLICT", f"{kind}~{'~'.join(parts)} already exists")
        self.put(kind, *parts, record=record, policy=policy)

    def scan(self, kind: str, *parts: str) -> Iterator[tuple[list[str], dict[str, Any]]]:
        """Records whose key starts with `kind` and `parts`, in key order: (all parts, record)."""
        with self.stub.get_state_by_partial_composite_key(kind, list(parts)) as results:
            for kv in results:
                yield self.stub.split_composite_key(kv.key)[1], json.loads(kv.value)

    def touch(self, kind: str, *parts: str) -> dict[str, Any]:
        """Write an anchor record again (its `touched` count goes up): the transaction then
        needs the anchor's key-level policy (DOMAIN.md §6.2)."""
        record = self.need(kind, *parts)
        record["touched"] = int(record.get("touched", 0)) + 1
        self.put(kind, *parts, record=record)
        return record

    def put_private(self, province: str, kind: str, *parts: str, payload: bytes) -> None:
        """`payload` into the province's collection `mrvRaw{province}`, under `kind~parts`."""
        self.stub.put_private_data(collection_of(province), self.key(kind, *parts), payload)


def collection_of(province: str) -> str:
    return f"mrvRaw{province}"


def peers_of(*msp_ids: str) -> bytes:
    """A key-level policy: a peer of every one of `msp_ids` (DOMAIN.md §6.2), the
    SignaturePolicyEnvelope Fabric's policydsl makes of AND('A.peer', 'B.peer')."""
    principals = [
        msp_principal_pb2.MSPPrincipal(
            principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
            principal=msp_principal_pb2.MSPRole(msp_identifier=msp, role=msp_principal_pb2.MSPRole.PEER)
            .SerializeToString())
        for msp in msp_ids
    ]
    rule = policies_pb2.SignaturePolicy(n_out_of=policies_pb2.SignaturePolicy.NOutOf(
        n=len(msp_ids), rules=[policies_pb2.SignaturePolicy(signed_by=i) for i in range(len(msp_ids))]))
    return bytes(policies_pb2.SignaturePolicyEnvelope(version=0, rule=rule, identities=principals).SerializeToString())


def emit(ctx: Context, name: str, payload: Mapping[str, Any]) -> None:
    ctx.stub.set_event(name, encode(payload))


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
