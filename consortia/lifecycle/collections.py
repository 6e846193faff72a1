"""Private data collection configurations, as a chaincode definition carries them.

A definition's collections are Fabric's `CollectionConfigPackage` of static
collection configs. They are checked by the rules Fabric's `_lifecycle` applies when
an org approves and when a channel commits: names of letters, digits, '_' and '-'
(not starting with '_', which implicit per-org collections use), no name twice, a
maximum peer count at least the required one, and a member policy that is an OR of
channel members. An upgrade keeps every committed collection, with its blockToLive.

People write collections as Fabric's peer CLI reads them (`--collections-config`): a
JSON list of objects with `name`, `policy`, `requiredPeerCount`, `maxPeerCount`,
`blockToLive`, `memberOnlyRead`, `memberOnlyWrite` and an optional
`endorsementPolicy` (`signaturePolicy` or `channelConfigPolicy`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from fabric_protos.peer import collection_pb2, policy_pb2

from consortia.errors import PolicyError, PolicySyntaxError
from consortia.lifecycle.definition import LIFECYCLE, DefinitionError
from consortia.msp.identity import Role
from consortia.policy import OutOf, Principal, SignatureRule, from_envelope, parse_signature_policy, principals_of, to_envelope

IMPLICIT_PREFIX = "_implicit_org_"
_NAME = re.compile(r"^[A-Za-z0-9-]+[A-Za-z0-9_-]*$")
_INT32_MAX = 2**31 - 1
_UINT64_MAX = 2**64 - 1

_FIELDS = ("name", "policy", "requiredPeerCount", "maxPeerCount", "blockToLive", "memberOnlyRead",
           "memberOnlyWrite", "endorsementPolicy")


class CollectionError(DefinitionError):
    """A collection configuration that cannot be part of a chaincode definition."""


def implicit_collection(msp_id: str) -> str:
    """The name of the org's implicit collection, which exists without configuration."""
    return IMPLICIT_PREFIX + msp_id


def static_configs(package: collection_pb2.CollectionConfigPackage) -> list[collection_pb2.StaticCollectionConfig]:
    configs = []
    for index, config in enumerate(package.config):
        if not config.HasField("static_collection_config"):
            raise CollectionError(f"collection config {index} is not a static collection config")
        configs.append(config.static_collection_config)
    return configs


def check_collections(package: collection_pb2.CollectionConfigPackage, channel_members: Collection[str],
                      committed: collection_pb2.CollectionConfigPackage | None = None) -> None:
    """CollectionError unless `package` may be defined on a channel of `channel_members`
    (MSP ids), after the `committed` collections of the definition's previous sequence."""
    seen: set[str] = set()
    configs = static_configs(package)
    for config in configs:
        name = config.name
        if not _NAME.match(name):
            raise CollectionError(f"invalid collection name {name!r}: names consist of letters, digits, '_' and '-', "
                                  f"and do not begin with '_'")
        if name in seen:
            raise CollectionError(f"collection {name}: defined twice")
        seen.add(name)
        if config.required_peer_count < 0:
            raise CollectionError(f"collection {name}: requiredPeerCount ({config.required_peer_count}) "
                                  f"cannot be less than zero")
        if config.maximum_peer_count < config.required_peer_count:
            raise CollectionError(f"collection {name}: maxPeerCount ({config.maximum_peer_count}) cannot be less "
                                  f"than requiredPeerCount ({config.required_peer_count})")
        _check_members(config, channel_members)
        if config.HasField("endorsement_policy"):
            _check_endorsement(config)
    if committed is None:
        return
    proposed = {c.name: c for c in configs}
    for old in static_configs(committed):
        new = proposed.get(old.name)
        if new is None:
            raise CollectionError(f"collection {old.name} is defined in the committed definition and missing from "
                                  f"the new one: a collection cannot be removed")
        if new.block_to_live != old.block_to_live:
            raise CollectionError(f"collection {old.name}: blockToLive cannot change (committed: {old.block_to_live}, "
                                  f"proposed: {new.block_to_live})")


def member_msp_ids(config: collection_pb2.StaticCollectionConfig) -> set[str]:
    """The organizations whose peers keep the collection's private data."""
    return {p.msp_id for p in principals_of(_member_rule(config))}


def _member_rule(config: collection_pb2.StaticCollectionConfig) -> SignatureRule:
    if not config.HasField("member_orgs_policy") or not config.member_orgs_policy.HasField("signature_policy"):
        raise CollectionError(f"collection {config.name}: no member policy (a signature policy naming its members)")
    try:
        return from_envelope(config.member_orgs_policy.signature_policy)
    except PolicyError as exc:
        raise CollectionError(f"collection {config.name}: invalid member policy: {exc}") from exc


def _check_members(config: collection_pb2.StaticCollectionConfig, channel_members: Collection[str]) -> None:
    rule = _member_rule(config)
    if not _only_or(rule):
        raise CollectionError(f"collection {config.name}: the member policy {rule} must be an OR of members "
                              f"(every member keeps the data on its own)")
    for msp_id in sorted({p.msp_id for p in principals_of(rule)}):
        if msp_id not in channel_members:
            raise CollectionError(f"collection {config.name}: member {msp_id} is not an organization of the channel")


def _only_or(rule: SignatureRule) -> bool:
    return not isinstance(rule, OutOf) or (rule.n == 1 and all(_only_or(r) for r in rule.rules))


def _check_endorsement(config: collection_pb2.StaticCollectionConfig) -> None:
    policy = config.endorsement_policy
    kind = policy.WhichOneof("Type")
    if kind == "signature_policy":
        try:
            from_envelope(policy.signature_policy)
        except PolicyError as exc:
            raise CollectionError(f"collection {config.name}: invalid endorsement policy: {exc}") from exc
    elif kind == "channel_config_policy_reference":
        if not policy.channel_config_policy_reference.startswith("/"):
            raise CollectionError(f"collection {config.name}: the endorsement policy reference "
                                  f"{policy.channel_config_policy_reference!r} is not a channel policy path")
    else:
        raise CollectionError(f"collection {config.name}: the endorsement policy names no policy")


# --- Fabric's collections-config JSON ------------------------------------------------------


def parse_collections_json(text: str, source: str = "collections config") -> collection_pb2.CollectionConfigPackage:
    """The package a `--collections-config` JSON file describes; CollectionError saying
    which entry and field is wrong."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CollectionError(f"{source}: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from exc
    if not isinstance(document, list):
        raise CollectionError(f"{source}: expected a JSON list of collections, found {type(document).__name__}")
    package = collection_pb2.CollectionConfigPackage()
    for index, entry in enumerate(document):
        where = f"{source}[{index}]"
        if not isinstance(entry, dict):
            raise CollectionError(f"{where}: expected an object, found {type(entry).__name__}")
        unknown = sorted(set(entry) - set(_FIELDS))
        if unknown:
            raise CollectionError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(_FIELDS)})")
        package.config.add(static_collection_config=_static_config(entry, where))
    return package


def _static_config(entry: dict[str, Any], where: str) -> collection_pb2.StaticCollectionConfig:
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise CollectionError(f"{where}.name: expected the collection's name")
    where = f"{where} ({name})"
    policy = entry.get("policy")
    if not isinstance(policy, str) or not policy.strip():
        raise CollectionError(f"{where}.policy: expected the member policy, e.g. \"OR('Org1MSP.member')\"")
    config = collection_pb2.StaticCollectionConfig(
        name=name,
        member_orgs_policy=collection_pb2.CollectionPolicyConfig(
            signature_policy=to_envelope(_parse_policy(policy, f"{where}.policy"))),
        required_peer_count=_integer(entry, "requiredPeerCount", where, -_INT32_MAX - 1, _INT32_MAX),
        maximum_peer_count=_integer(entry, "maxPeerCount", where, -_INT32_MAX - 1, _INT32_MAX),
        block_to_live=_integer(entry, "blockToLive", where, 0, _UINT64_MAX),
        member_only_read=_boolean(entry, "memberOnlyRead", where),
        member_only_write=_boolean(entry, "memberOnlyWrite", where),
    )
    endorsement = entry.get("endorsementPolicy")
    if endorsement is not None:
        config.endorsement_policy.CopyFrom(_endorsement_policy(endorsement, f"{where}.endorsementPolicy"))
    return config


def _parse_policy(text: str, where: str) -> SignatureRule:
    try:
        return parse_signature_policy(text)
    except PolicySyntaxError as exc:
        raise CollectionError(f"{where}: {exc.message} at column {exc.position + 1}") from exc


def _integer(entry: dict[str, Any], field: str, where: str, low: int, high: int) -> int:
    value = entry.get(field, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CollectionError(f"{where}.{field}: expected a whole number, found {json.dumps(value)}")
    if not low <= value <= high:
        raise CollectionError(f"{where}.{field}: {value} is out of range ({low} to {high})")
    return value


def _boolean(entry: dict[str, Any], field: str, where: str) -> bool:
    value = entry.get(field, False)
    if not isinstance(value, bool):
        raise CollectionError(f"{where}.{field}: expected true or false, found {json.dumps(value)}")
    return value


def _endorsement_policy(value: Any, where: str) -> policy_pb2.ApplicationPolicy:
    if not isinstance(value, dict) or set(value) - {"signaturePolicy", "channelConfigPolicy"} or len(value) != 1:
        raise CollectionError(f"{where}: expected exactly one of signaturePolicy and channelConfigPolicy")
    (kind, text), = value.items()
    if not isinstance(text, str) or not text.strip():
        raise CollectionError(f"{where}.{kind}: expected a policy")
    if kind == "channelConfigPolicy":
        return policy_pb2.ApplicationPolicy(channel_config_policy_reference=text.strip())
    return policy_pb2.ApplicationPolicy(signature_policy=to_envelope(_parse_policy(text, f"{where}.{kind}")))


def describe(package: collection_pb2.CollectionConfigPackage) -> list[dict[str, Any]]:
    """The collections as the JSON a person wrote (for `querycommitted --json`)."""
    described = []
    for config in static_configs(package):
        entry: dict[str, Any] = {
            "name": config.name, "policy": str(_member_rule(config)),
            "requiredPeerCount": config.required_peer_count, "maxPeerCount": config.maximum_peer_count,
            "blockToLive": config.block_to_live, "memberOnlyRead": config.member_only_read,
            "memberOnlyWrite": config.member_only_write,
        }
        if config.HasField("endorsement_policy"):
            policy = config.endorsement_policy
            entry["endorsementPolicy"] = (
                {"channelConfigPolicy": policy.channel_config_policy_reference}
                if policy.WhichOneof("Type") == "channel_config_policy_reference"
                else {"signaturePolicy": str(from_envelope(policy.signature_policy))})
        described.append(entry)
    return described


def implicit_config(msp_id: str) -> collection_pb2.StaticCollectionConfig:
    """An org's implicit collection, as Fabric makes it: the org alone is a member, its data
    is kept for ever, and an endorser needs no other peer to accept it."""
    return collection_pb2.StaticCollectionConfig(
        name=implicit_collection(msp_id),
        member_orgs_policy=collection_pb2.CollectionPolicyConfig(
            signature_policy=to_envelope(OutOf(1, (Principal(msp_id, Role.MEMBER),)))),
        required_peer_count=0, maximum_peer_count=1, block_to_live=0,
    )


def find_config(namespace: str, package: collection_pb2.CollectionConfigPackage | None,
                name: str) -> collection_pb2.StaticCollectionConfig | None:
    """Collection `name` of chaincode `namespace`: one of its definition's `package`, or
    the implicit collection it names.

    `_lifecycle` has only the implicit ones, where each org keeps its approvals: only the
    org's own peers may write it (its endorsement policy), so that no other org approves
    in its name.
    """
    if name.startswith(IMPLICIT_PREFIX):
        msp_id = name[len(IMPLICIT_PREFIX):]
        if not msp_id:
            return None
        config = implicit_config(msp_id)
        if namespace == LIFECYCLE:
            config.endorsement_policy.signature_policy.CopyFrom(to_envelope(Principal(msp_id, Role.PEER)))
        return config
    for config in (package.config if package is not None else ()):
        if config.HasField("static_collection_config") and config.static_collection_config.name == name:
            return config.static_collection_config
    return None
