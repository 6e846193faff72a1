"""What every function of the `datashare` chaincode shares (DOMAIN.md §0, §2.2, §4.2, §6.2).

The package is deployed on its own (channel `data-sharing`) and imports nothing from the
other chaincodes. State is JSON records under composite keys, compact and with sorted keys
so that every endorser produces the same bytes; time is the proposal's timestamp in
Beijing time, never the wall clock.

Authority is carried by key-level policies (§6.2). The governing departments (`GOV`:
MEE, the two provinces, Stats, Energy) decide by majority, 3 of 5: the anchor
`GOV~config` carries OutOf(3, GOV peers), and each organisation's anchor `ORG~{msp}`
carries its own peer. A function that needs an authority writes ("touches") the anchor
whose policy names it; catalog entries and assets carry AND(owner peer, majority),
grants OR(owner peer, MEE peer).

Raw payloads never reach public state: the public record keeps their sha256 and the
payload goes into a private data collection (`govSensitive` for IMPORTANT and CORE data
of the governing departments, the owner's implicit collection otherwise: assets.py).

The records, argument checks and policy builders every contract package shares come
from the contract API (`chaincode.contract.records`, `chaincode.contract.policies`);
this module adds this chaincode's own rules and re-exports them for its modules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chaincode.contract import Context
from chaincode.contract.policies import Rule as Rule
from chaincode.contract.policies import any_peer_of as any_peer_of
from chaincode.contract.policies import envelope as envelope
from chaincode.contract.policies import peers_of as peers_of
from chaincode.contract.records import HEX64 as HEX64
from chaincode.contract.records import ID as ID
from chaincode.contract.records import Store as RecordStore
from chaincode.contract.records import check_hash as check_hash
from chaincode.contract.records import check_id as check_id
from chaincode.contract.records import emit as emit
from chaincode.contract.records import encode as encode
from chaincode.contract.records import fail as fail
from chaincode.contract.records import non_negative as non_negative
from chaincode.contract.records import one_of as one_of
from chaincode.contract.records import parse_json as parse_json

BEIJING = dt.timezone(dt.timedelta(hours=8))

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


# ----- arguments -----------------------------------------------------------------------


def check_text(value: str, name: str, limit: int = 256) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be 1 to {limit} characters, found {value!r}")
    return value


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


class Store(RecordStore):
    """The records of the datashare chaincode, and its governance anchors."""

    def touch_org(self, msp_id: str) -> None:
        """Touch ORG~{msp_id}: the organisation's peer endorses."""
        self.touch(ORG, msp_id)

    def touch_gov(self) -> None:
        """Touch GOV~config: a majority of the governing departments endorses."""
        self.touch(GOVCFG, CONFIG)


# ----- key-level policies --------------------------------------------------------------

# A policy: an MSP id (its peer) or (n, [policies]) for OutOf(n, ...).


def majority_rule() -> Rule:
    return (MAJORITY, list(GOV))


def majority() -> bytes:
    """OutOf(3, MEE, ProvGD, ProvSD, Stats, Energy) peers."""
    return envelope(majority_rule())


def owner_and_majority(owner_msp: str) -> bytes:
    """AND(owner peer, OutOf(3, GOV peers)) for CAT~ and AST~."""
    return envelope((2, [owner_msp, majority_rule()]))


