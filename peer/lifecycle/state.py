"""Where the lifecycle keeps definitions and approvals in a channel's world state.

Namespace `_lifecycle`:
    namespaces/<name>                 the committed definition (CommitChaincodeDefinitionArgs)
    approvals/<name>/<sequence>/<MSP> an org's approval (ApproveChaincodeDefinitionForMyOrgArgs,
                                      with the package the org runs)

Fabric keeps approvals in each org's implicit private collection, with only hashes on
the chain. Until private data exists here (issue 8), approvals are public state; the
validator still lets only the org's own peers write its approval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fabric_protos.peer.lifecycle import lifecycle_pb2

from consortia.lifecycle.definition import Definition, differences, normalized
from consortia.policy import Principal, SignatureRule
from consortia.msp.identity import Role

DEFINITIONS = "namespaces/"
APPROVALS = "approvals/"

Getter = Callable[[str], bytes | None]  # reads one key of the _lifecycle namespace


def definition_key(name: str) -> str:
    return f"{DEFINITIONS}{name}"


def approval_key(name: str, sequence: int, msp_id: str) -> str:
    return f"{APPROVALS}{name}/{sequence}/{msp_id}"


def approval_writer(key: str) -> SignatureRule | None:
    """Who may write a key: an approval only by its org's peers (None: the namespace's policy)."""
    if not key.startswith(APPROVALS):
        return None
    return Principal(key.rsplit("/", 1)[-1], Role.PEER)


def committed(get: Getter, name: str) -> Definition | None:
    raw = get(definition_key(name))
    return None if raw is None else Definition.FromString(raw)


def approval(get: Getter, name: str, sequence: int,
             msp_id: str) -> lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs | None:
    raw = get(approval_key(name, sequence, msp_id))
    return None if raw is None else lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs.FromString(raw)


@dataclass(frozen=True)
class Approvals:
    """Which orgs approved a proposed definition, and how the others' approvals differ."""

    approved: dict[str, bool]
    mismatches: dict[str, list[str]]

    @property
    def orgs(self) -> list[str]:
        return [org for org, ok in self.approved.items() if ok]

    @property
    def missing(self) -> list[str]:
        return [org for org, ok in self.approved.items() if not ok]


def approvals(get: Getter, proposed: Definition, orgs: Iterable[str]) -> Approvals:
    approved: dict[str, bool] = {}
    mismatches: dict[str, list[str]] = {}
    for org in orgs:
        record = approval(get, proposed.name, proposed.sequence, org)
        if record is None:
            approved[org] = False
            continue
        diff = differences(normalized(proposed.name, record), proposed)
        approved[org] = not diff
        if diff:
            mismatches[org] = diff
    return Approvals(approved, mismatches)


def package_of(get: Getter, definition: Definition, msp_id: str) -> str | None:
    """The package `msp_id` runs for a committed definition (None: it chose none)."""
    record = approval(get, definition.name, definition.sequence, msp_id)
    if record is None or differences(normalized(definition.name, record), definition):
        return None
    if record.source.WhichOneof("Type") != "local_package":
        return None
    return str(record.source.local_package.package_id) or None
