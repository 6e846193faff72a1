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
"""

from __future__ import annotations

import datetime as dt
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

REGISTRY, EXCHANGE, BANK, MEE = "RegistryMSP", "ExchangeMSP", "BankMSP", "MEEMSP"
EMITTER = "EmitterMSP"
PROVINCE_MSPS = {"GD": "ProvGDMSP", "SD": "ProvSDMSP"}
UNIT_TYPES = ("COAL_GT300", "COAL_LE300", "COAL_UNCONV", "GAS")

# Composite key object types (DOMAIN.md §4.1).
CFG, BM, PROV, PRODUCT, ENT, ACCT, HOLD, FUND = "CFG", "BM", "PROV", "PRODUCT", "ENT", "ACCT", "HOLD", "FUND"
CCERB, ORD, TRD, DAY, SUR, RET, ISS = "CCERB", "ORD", "TRD", "DAY", "SUR", "RET", "ISS"


def fail(code: str, message: str) -> ContractError:
    """The error to raise: `raise fail("ERR_CONFLICT", "...")` (the code comes first, as DOMAIN.md lists them)."""
    return ContractError(message, code)


# ----- arguments -----------------------------------------------------------------------


def check_id(value: str, name: str) -> str:
    if not isinstance(value, str) or not ID.fullmatch(value):
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must match [A-Za-z0-9._-]{{1,64}}, found {value!r}")
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


def parse_json(value: str, name: str) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError) as exc:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be JSON: {exc}") from exc


# ----- time ----------------------------------------------------------------------------


def now(ctx: Context) -> dt.datetime:
    """The proposal's timestamp, in Beijing time (endorsers check it is near their clock)."""
    return ctx.stub.get_tx_timestamp().astimezone(BEIJING)


def is_working_day(day: dt.date, holidays: list[str]) -> bool:
    return day.weekday() < 5 and day.isoformat() not in holidays


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

    def put(self, kind: str, *parts: str, record: Mapping[str, Any]) -> None:
        self.stub.put_state(self.key(kind, *parts), encode(record))

    def create(self, kind: str, *parts: str, record: Mapping[str, Any], policy: bytes | None = None) -> None:
        """A new record (ERR_CONFLICT if it exists), with its key-level policy if given."""
        if self.get(kind, *parts) is not None:
            raise fail("ERR_CONFLICT", f"{kind}~{'~'.join(parts)} already exists")
        self.put(kind, *parts, record=record)
        if policy is not None:
            self.stub.set_state_validation_parameter(self.key(kind, *parts), policy)

    def delete(self, kind: str, *parts: str) -> None:
        self.stub.del_state(self.key(kind, *parts))

    def scan(self, kind: str, *parts: str) -> Iterator[tuple[list[str], dict[str, Any]]]:
        """Records whose key starts with `kind` and `parts`, in key order: (all parts, record)."""
        with self.stub.get_state_by_partial_composite_key(kind, list(parts)) as results:
            for kv in results:
                yield self.stub.split_composite_key(kv.key)[1], json.loads(kv.value)

    def touch(self, kind: str, *parts: str) -> dict[str, Any]:
        """Write an anchor record again (its `touched` count goes up): the transaction then
        needs the anchor's key-level policy (DOMAIN.md §6)."""
        record = self.need(kind, *parts)
        record["touched"] = int(record.get("touched", 0)) + 1
        self.put(kind, *parts, record=record)
        return record


def peers_of(*msp_ids: str) -> bytes:
    """A key-level policy: a peer of every one of `msp_ids` (DOMAIN.md §6.1), the
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


def period_of(store: Store, vintage: int) -> dict[str, Any]:
    """The compliance period whose vintages include `vintage` (ERR_NOT_FOUND if none)."""
    for _, period in store.scan(CFG, "period"):
        if vintage in period.get("vintages", []):
            return period
    raise fail("ERR_NOT_FOUND", f"no compliance period covers vintage {vintage}")
