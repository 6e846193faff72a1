"""What every function of the `datashare` chaincode shares (DOMAIN.md §0, §2.2, §4.2, §6.2).

The package is deployed on its own (channel `data-sharing`), so it carries its own small
set of helpers. State is JSON records under composite keys, compact and with sorted keys
so that every endorser produces the same bytes; time is the proposal's timestamp in
Beijing time, never the wall clock.

Authority is carried by key-level policies (§6.2). The governing departments (`GOV`:
MEE, the two provinces, Stats, Energy) decide by majority, 3 of 5: the anchor
`GOV~config` carries OutOf(3, GOV peers), and each organisation's anchor `ORG~{msp}`
carries its own peer. A function that needs an authority writes ("touches") the anchor
whose policy names it; catalog entries and assets carry AND(owner peer, majority),
grants OR(owner peer, MEE peer).

Raw payloads never reach public state: the public record keeps their sha256 and the
payload goes into a private data collection (`govSensitive` for IMPORTANT and CORE data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2

from chaincode.contract import Context, ContractError

BEIJING = dt.timezone(dt.timedelta(hours=8))
ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")

MEE, PROV_GD, PROV_SD, STATS, ENERGY = "MEEMSP", "ProvGDMSP", "ProvSDMSP", "StatsMSP", "EnergyMSP"
EMITTER, VERIFIER, AUDIT = "EmitterMSP", "VerifierMSP", "AuditMSP"
GOV = (MEE, PROV_GD, PROV_SD, STATS, ENERGY)
MAJORITY = 3
# Organisations with an anchor ORG~{msp} and their kind (AuditMSP endorses nothing).
ORG_KINDS = {**{msp: "GOV" for msp in GOV}, EMITTER: "ENTERPRISE", VERIFIER: "VERIFIER"}

# Composite key object types (DOMAIN.md §4.2).
GOVCFG, ORG, STD, CAT, AST, QA, OWN, REQ, GRANT, LOG = (
    "GOV", "ORG", "STD", "CAT", "AST", "QA", "OWN", "REQ", "GRANT", "LOG")
CONFIG = "config"

GENERAL, IMPORTANT, CORE = "GENERAL", "IMPORTANT", "CORE"
UNCONDITIONAL, CONDITIONAL, NOT_SHARED = "UNCONDITIONAL", "CONDITIONAL", "NOT_SHARED"
ACTIVE = "ACTIVE"
GOV_SENSITIVE = "govSensitive"


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


def check_text(value: str, name: str, limit: int = 256) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be 1 to {limit} characters, found {value!r}")
    return value


def non_negative(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be a whole number, 0 or more, found {value!r}")
    return value


def one_of(value: str, allowed: Sequence[str], name: str) -> str:
    if value not in allowed:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be one of {', '.join(allowed)}, found {value!r}")
    return value


def parse_json(value: str, name: str) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError) as exc:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be JSON, found {value!r}") from exc


def string_set(value: str, name: str, *, allowed: Sequence[str] | None = None) -> list[str]:
    """A non-empty JSON list of distinct strings (each among `allowed` if given)."""
    found = parse_json(value, name)
    if not isinstance(found, list) or not found or not all(isinstance(v, str) and v for v in found):
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be a non-empty JSON list of names, found {value!r}")
    if len(set(found)) != len(found):
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must not repeat a name, found {value!r}")
    if allowed is not None:
        unknown = [v for v in found if v not in allowed]
        if unknown:
            raise fail("ERR_INVALID_ARGUMENT", f"{name} must be among {', '.join(allowed)}, found {', '.join(unknown)}")
    return list(found)


def sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


# ----- time ----------------------------------------------------------------------------


def now(ctx: Context) -> dt.datetime:
    """The proposal's timestamp, in Beijing time (endorsers check it is near their clock)."""
    return ctx.stub.get_tx_timestamp().astimezone(BEIJING)


def parse_time(value: str, name: str) -> dt.datetime:
    """An ISO-8601 time with its UTC offset."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be an ISO-8601 time, found {value!r}") from exc
    if parsed.tzinfo is None:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must carry its UTC offset (e.g. +08:00), found {value!r}")
    return parsed


# ----- the caller ----------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    msp_id: str
    role: str
    id: str
    attributes: Mapping[str, str]

    def attribute(self, name: str) -> str:
        return self.attributes.get(name, "")


Roles = Mapping[str, tuple[str, ...]]

# Who may do what (DOMAIN.md §2.2, §2.3), as {msp: roles}.
OFFICER_ROLES: Roles = {MEE: ("regulator", "standard_setter"), PROV_GD: ("province_officer",),
                        PROV_SD: ("province_officer",), STATS: ("dept_officer", "standard_setter"),
                        ENERGY: ("dept_officer",)}
STANDARD_SETTERS: Roles = {MEE: ("standard_setter",), STATS: ("standard_setter",)}
EMITTERS: Roles = {EMITTER: ("emitter",)}
REGULATORS: Roles = {MEE: ("regulator",)}
AUDITORS: Roles = {AUDIT: ("auditor",)}
# Every client role on the data-sharing channel but `public`.
MEMBERS: Roles = {**OFFICER_ROLES, **EMITTERS, VERIFIER: ("verifier",), AUDIT: ("auditor",)}


def caller(ctx: Context, *allowed: Roles) -> Caller:
    """The creator, if its MSP and `role` attribute are among `allowed` ({msp: roles});
    ERR_UNAUTHORIZED otherwise (DOMAIN.md §2.2: check msp_id AND role)."""
    identity = ctx.client_identity
    role = identity.get_attribute_value("role") or ""
    if not any(role in roles.get(identity.msp_id, ()) for roles in allowed):
        wanted = "; ".join(f"{msp} {'/'.join(r)}" for roles in allowed for msp, r in roles.items())
        raise fail("ERR_UNAUTHORIZED", f"{identity.msp_id} {role or 'without a role'} may not do this (needs {wanted})")
    return Caller(identity.msp_id, role, identity.id, identity.attributes)


def is_owner(who: Caller, owner_msp: str, owner_entity: str) -> bool:
    """Whether `who` is an officer of the owning organisation (for enterprise data, the
    emitter whose `entity_id` is the owning entity)."""
    if who.msp_id != owner_msp:
        return False
    if owner_msp == EMITTER:
        return who.role == "emitter" and who.attribute("entity_id") == owner_entity
    return who.role in OFFICER_ROLES.get(owner_msp, ())


def owner(ctx: Context, record: Mapping[str, Any], what: str) -> Caller:
    """The caller, if it is an officer of `record`'s owner (ERR_UNAUTHORIZED otherwise)."""
    who = caller(ctx, OFFICER_ROLES, EMITTERS)
    if not is_owner(who, record["owner_msp"], record.get("owner_entity", "")):
        raise fail("ERR_UNAUTHORIZED", f"{who.msp_id} {who.attribute('entity_id') or who.role} is not the owner "
                                       f"of {what} (owner {record['owner_msp']} {record.get('owner_entity', '')})")
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
        needs the anchor's key-level policy (DOMAIN.md §6)."""
        record = self.need(kind, *parts)
        record["touched"] = int(record.get("touched", 0)) + 1
        self.put(kind, *parts, record=record)
        return record

    def touch_org(self, msp_id: str) -> None:
        """Touch ORG~{msp_id}: the organisation's peer endorses."""
        self.touch(ORG, msp_id)

    def touch_gov(self) -> None:
        """Touch GOV~config: a majority of the governing departments endorses."""
        self.touch(GOVCFG, CONFIG)


# ----- key-level policies --------------------------------------------------------------

# A policy: an MSP id (its peer) or (n, [policies]) for OutOf(n, ...).
Rule = Union[str, tuple[int, list["Rule"]]]


def envelope(rule: Rule) -> bytes:
    """The SignaturePolicyEnvelope Fabric's policydsl makes of `rule`: a gate numbers the
    principals of the gates nested in it first, then its own, none deduplicated."""
    identities: list[msp_principal_pb2.MSPPrincipal] = []

    def signed_by(msp: str) -> policies_pb2.SignaturePolicy:
        role = msp_principal_pb2.MSPRole(msp_identifier=msp, role=msp_principal_pb2.MSPRole.PEER)
        identities.append(msp_principal_pb2.MSPPrincipal(
            principal_classification=msp_principal_pb2.MSPPrincipal.ROLE, principal=role.SerializeToString()))
        return policies_pb2.SignaturePolicy(signed_by=len(identities) - 1)

    def gate(n: int, rules: list[Rule]) -> policies_pb2.SignaturePolicy:
        built: list[policies_pb2.SignaturePolicy | None] = [
            None if isinstance(sub, str) else gate(*sub) for sub in rules]
        for index, sub in enumerate(rules):
            if isinstance(sub, str):
                built[index] = signed_by(sub)
        return policies_pb2.SignaturePolicy(n_out_of=policies_pb2.SignaturePolicy.NOutOf(
            n=n, rules=[b for b in built if b is not None]))

    root = signed_by(rule) if isinstance(rule, str) else gate(*rule)
    return bytes(policies_pb2.SignaturePolicyEnvelope(version=0, rule=root, identities=identities)
                 .SerializeToString())


def majority_rule() -> Rule:
    return (MAJORITY, list(GOV))


def peers_of(*msp_ids: str) -> bytes:
    """AND of a peer of every one of `msp_ids`."""
    return envelope((len(msp_ids), list(msp_ids)))


def any_peer_of(*msp_ids: str) -> bytes:
    """OR of a peer of any one of `msp_ids`."""
    return envelope((1, list(msp_ids)))


def majority() -> bytes:
    """OutOf(3, MEE, ProvGD, ProvSD, Stats, Energy) peers."""
    return envelope(majority_rule())


def owner_and_majority(owner_msp: str) -> bytes:
    """AND(owner peer, OutOf(3, GOV peers)) for CAT~ and AST~."""
    return envelope((2, [owner_msp, majority_rule()]))


def emit(ctx: Context, name: str, payload: Mapping[str, Any]) -> None:
    ctx.stub.set_event(name, encode(payload))
