"""Where the lifecycle keeps definitions and approvals in a channel's state.

Namespace `_lifecycle`, public state:
    namespaces/<name>                        the committed definition (CommitChaincodeDefinitionArgs)

Each org's implicit collection `_implicit_org_<MSP>` of `_lifecycle` (private data, as
in Fabric 2.x):
    approvals/<name>/<sequence>/<field>      one agreed parameter of the org's approval
    sources/<name>/<sequence>                the package the org runs (ChaincodeSource)

An approval stays in the state of the org's own peers: the transaction's read-write
set, and every other org's peers, hold only hashes of its keys and values (the approve
proposal's arguments are in the transaction, as in Fabric). The parameters are stored
one per key, as Fabric stores them, so that any peer can tell from the hashes alone
whether an org approved a proposed definition and, if it approved another one, in
which parameters they differ. The package is not among them: each org chooses its
own. Only the org's peers may write its implicit collection (see
`consortia.lifecycle.collections.find_config`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fabric_protos.peer import collection_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2

from consortia.lifecycle.definition import Definition, differences, normalized
from peer.ledger.pvtdata import value_hash

DEFINITIONS = "namespaces/"
APPROVALS = "approvals/"
SOURCES = "sources/"

# The agreed parameters, each under its own key (the sequence is part of the keys).
FIELDS = ("version", "endorsement_plugin", "validation_plugin", "validation_parameter", "init_required", "collections")

Getter = Callable[[str], bytes | None]  # reads one key of the _lifecycle namespace
HashGetter = Callable[[str, str], bytes | None]  # (MSP id, key): SHA-256 of that org's private value


def definition_key(name: str) -> str:
    return f"{DEFINITIONS}{name}"


def field_key(name: str, sequence: int, field: str) -> str:
    return f"{APPROVALS}{name}/{sequence}/{field}"


def source_key(name: str, sequence: int) -> str:
    return f"{SOURCES}{name}/{sequence}"


def committed(get: Getter, name: str) -> Definition | None:
    raw = get(definition_key(name))
    return None if raw is None else Definition.FromString(raw)


def _field_values(definition: Definition) -> dict[str, bytes]:
    """The stored value of each agreed parameter. A private value cannot be empty (that
    would delete the key), so each starts with its parameter's name."""
    raw = {
        "version": definition.version.encode(),
        "endorsement_plugin": definition.endorsement_plugin.encode(),
        "validation_plugin": definition.validation_plugin.encode(),
        "validation_parameter": bytes(definition.validation_parameter),
        "init_required": b"true" if definition.init_required else b"false",
        "collections": bytes(definition.collections.SerializeToString(deterministic=True)),
    }
    return {field: field.encode() + b"=" + raw[field] for field in FIELDS}


def _stored(own: Getter, name: str, sequence: int) -> dict[str, bytes | None]:
    """This org's stored value of each agreed parameter of its approval (None: absent)."""
    return {field: own(field_key(name, sequence, field)) for field in FIELDS}


def approval_writes(definition: Definition, source: lifecycle_pb2.ChaincodeSource) -> dict[str, bytes]:
    """What an org's approval writes into its implicit collection: key -> value."""
    writes = {field_key(definition.name, definition.sequence, field): value
              for field, value in _field_values(definition).items()}
    writes[source_key(definition.name, definition.sequence)] = bytes(source.SerializeToString(deterministic=True))
    return writes


def own_approval(own: Getter, name: str,
                 sequence: int) -> lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs | None:
    """This org's approval of `name` at `sequence`, read from its own private values
    (`own`), None if it has none."""
    values = _stored(own, name, sequence)
    if any(value is None for value in values.values()):
        return None
    raw = {field: value.partition(b"=")[2] for field, value in values.items() if value is not None}
    record = lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs(
        name=name, sequence=sequence, version=raw["version"].decode(),
        endorsement_plugin=raw["endorsement_plugin"].decode(), validation_plugin=raw["validation_plugin"].decode(),
        validation_parameter=raw["validation_parameter"], init_required=raw["init_required"] == b"true",
        collections=collection_pb2.CollectionConfigPackage.FromString(raw["collections"]),
    )
    source = own(source_key(name, sequence))
    if source is None:
        record.source.unavailable.SetInParent()
    else:
        record.source.CopyFrom(lifecycle_pb2.ChaincodeSource.FromString(source))
    return record


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


def approvals(hashes: HashGetter, proposed: Definition, orgs: Iterable[str]) -> Approvals:
    """Compare each org's approval with `proposed` by the hashes every peer holds."""
    wanted = {field: value_hash(value) for field, value in _field_values(proposed).items()}
    approved: dict[str, bool] = {}
    mismatches: dict[str, list[str]] = {}
    for org in orgs:
        found = {field: hashes(org, field_key(proposed.name, proposed.sequence, field)) for field in FIELDS}
        if all(h is None for h in found.values()):
            approved[org] = False
            continue
        diff = [field for field in FIELDS if found[field] != wanted[field]]
        approved[org] = not diff
        if diff:
            mismatches[org] = diff
    return Approvals(approved, mismatches)


def legacy_package_of(get: Getter, definition: Definition, msp_id: str) -> str | None:
    """The package of a committed definition as a ledger written before approvals became
    private data recorded it (the public record `approvals/<name>/<sequence>/<MSP>`), so
    that a peer upgraded over such a ledger goes on running its chaincodes."""
    raw = get(f"{APPROVALS}{definition.name}/{definition.sequence}/{msp_id}")
    if raw is None:
        return None
    record = lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs.FromString(raw)
    if differences(normalized(definition.name, record), definition):
        return None
    return _package_id(record.source)


def package_of(own: Getter, definition: Definition) -> str | None:
    """The package this org runs for a committed definition (None: it chose none, or
    approved other parameters)."""
    source = own(source_key(definition.name, definition.sequence))
    if source is None or _stored(own, definition.name, definition.sequence) != _field_values(definition):
        return None
    return _package_id(lifecycle_pb2.ChaincodeSource.FromString(source))


def _package_id(source: lifecycle_pb2.ChaincodeSource) -> str | None:
    """The installed package a source names (None: the org runs none)."""
    if source.WhichOneof("Type") != "local_package":
        return None
    return str(source.local_package.package_id) or None
