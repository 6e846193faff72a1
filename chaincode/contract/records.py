"""Records for contracts: JSON under composite keys, argument checks, errors and events.

What the carbon-market contracts (and any contract written like them) share: every
record is compact, sorted-key JSON, so every endorser writes the same bytes; a record
may carry its own key-level endorsement policy; an anchor record is "touched" (written
again) to bring its policy into a transaction; arguments are checked before anything
is read, and a refusal is a `ContractError` whose code comes first, as specifications
list them (`fail("ERR_CONFLICT", ...)`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chaincode.contract.context import Context
from chaincode.contract.errors import ContractError

ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def fail(code: str, message: str) -> ContractError:
    """The error to raise: `raise fail("ERR_CONFLICT", "...")`."""
    return ContractError(message, code)


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


def one_of(value: str, allowed: Sequence[str], name: str) -> str:
    if value not in allowed:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be one of {', '.join(allowed)}, found {value!r}")
    return value


def parse_json(value: str, name: str) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError) as exc:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be JSON: {exc}") from exc


def encode(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def emit(ctx: Context, name: str, payload: Mapping[str, Any]) -> None:
    """The transaction's one event, its payload as JSON (ids, quantities, hashes)."""
    ctx.stub.set_event(name, encode(payload))


class Store:
    """The transaction's records: JSON under composite keys (`kind` then `parts`)."""

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
        """Write a record, and its key-level policy if given."""
        self.stub.put_state(self.key(kind, *parts), encode(record))
        if policy is not None:
            self.stub.set_state_validation_parameter(self.key(kind, *parts), policy)

    def create(self, kind: str, *parts: str, record: Mapping[str, Any], policy: bytes | None = None) -> None:
        """A new record (ERR_CONFLICT if it exists), with its key-level policy if given."""
        if self.get(kind, *parts) is not None:
            raise fail("ERR_CONFLICT", f"{kind}~{'~'.join(parts)} already exists")
        self.put(kind, *parts, record=record, policy=policy)

    def delete(self, kind: str, *parts: str) -> None:
        self.stub.del_state(self.key(kind, *parts))

    def scan(self, kind: str, *parts: str) -> Iterator[tuple[list[str], dict[str, Any]]]:
        """Records whose key starts with `kind` and `parts`, in key order: (all parts, record)."""
        with self.stub.get_state_by_partial_composite_key(kind, list(parts)) as results:
            for kv in results:
                yield self.stub.split_composite_key(kv.key)[1], json.loads(kv.value)

    def touch(self, kind: str, *parts: str) -> dict[str, Any]:
        """Write an anchor record again (its `touched` count goes up): the transaction then
        needs the anchor's key-level policy."""
        record = self.need(kind, *parts)
        record["touched"] = int(record.get("touched", 0)) + 1
        self.put(kind, *parts, record=record)
        return record


@dataclass(frozen=True)
class Caller:
    """Who submitted the proposal: MSP, `role` attribute, and every attribute."""

    msp_id: str
    role: str
    attributes: Mapping[str, str]

    def attribute(self, name: str) -> str:
        return self.attributes.get(name, "")


def caller(ctx: Context, allowed: Mapping[str, tuple[str, ...]]) -> Caller:
    """The creator, if its MSP and `role` attribute are among `allowed` ({msp: roles});
    ERR_UNAUTHORIZED otherwise (a mutating function checks the MSP and the role)."""
    identity = ctx.client_identity
    role = identity.get_attribute_value("role") or ""
    if role not in allowed.get(identity.msp_id, ()):
        wanted = "; ".join(f"{msp} {'/'.join(roles)}" for msp, roles in allowed.items())
        raise fail("ERR_UNAUTHORIZED", f"{identity.msp_id} {role or 'without a role'} may not do this (needs {wanted})")
    return Caller(identity.msp_id, role, identity.attributes)
