"""Chaincode definitions: what organizations approve and a channel commits.

A definition is Fabric's set of parameters (name, version, sequence, endorsement and
validation plugins, validation parameter, collections, init-required). Two
definitions agree when these are equal once defaults are filled in, as Fabric fills
them: plugins "escc"/"vscc", and a validation parameter that refers to the channel's
/Channel/Application/Endorsement policy when none is given. The package an org runs
is not part of the agreement: each org chooses its own.
"""

from __future__ import annotations

from fabric_protos.peer import collection_pb2, policy_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2
from fabric_protos.peer.lifecycle.lifecycle_pb2 import CommitChaincodeDefinitionArgs as Definition

__all__ = ["Definition"]  # the agreed parameters: Fabric's CommitChaincodeDefinitionArgs

from consortia.errors import ConsortiaError, PolicyError, PolicySyntaxError
from consortia.policy import SignatureRule, parse_signature_policy, signature_policy_from_bytes, to_envelope
from consortia.policy.paths import APPLICATION_ENDORSEMENT

LIFECYCLE = "_lifecycle"

INSTALL = "InstallChaincode"
QUERY_INSTALLED = "QueryInstalledChaincode"
QUERY_INSTALLED_ALL = "QueryInstalledChaincodes"
GET_INSTALLED_PACKAGE = "GetInstalledChaincodePackage"
APPROVE = "ApproveChaincodeDefinitionForMyOrg"
QUERY_APPROVED = "QueryApprovedChaincodeDefinition"
CHECK_COMMIT_READINESS = "CheckCommitReadiness"
COMMIT = "CommitChaincodeDefinition"
QUERY_DEFINITION = "QueryChaincodeDefinition"
QUERY_DEFINITIONS = "QueryChaincodeDefinitions"

# Functions of the peer itself (no channel), and those of a channel.
LOCAL_FUNCTIONS = (INSTALL, QUERY_INSTALLED, QUERY_INSTALLED_ALL, GET_INSTALLED_PACKAGE)
DEFAULT_ENDORSEMENT_PLUGIN = "escc"
DEFAULT_VALIDATION_PLUGIN = "vscc"


class DefinitionError(ConsortiaError):
    """A definition that is not acceptable (bad policy, wrong sequence, ...)."""


def application_policy(policy: str | None) -> bytes:
    """The validation parameter for an endorsement policy given as text (None: the
    channel's Endorsement policy; a text starting with '/' names a channel policy)."""
    if policy is None or not policy.strip():
        message = policy_pb2.ApplicationPolicy(channel_config_policy_reference=APPLICATION_ENDORSEMENT)
    elif policy.strip().startswith("/"):
        message = policy_pb2.ApplicationPolicy(channel_config_policy_reference=policy.strip())
    else:
        try:
            rule = parse_signature_policy(policy)
        except PolicySyntaxError as exc:
            raise DefinitionError(f"endorsement policy {policy!r}: {exc.message} at column {exc.position + 1}") from exc
        message = policy_pb2.ApplicationPolicy(signature_policy=to_envelope(rule))
    return bytes(message.SerializeToString(deterministic=True))


def endorsement_rule(validation_parameter: bytes) -> SignatureRule | str:
    """What a validation parameter requires: a signature rule, or a channel policy path."""
    try:
        policy = policy_pb2.ApplicationPolicy.FromString(validation_parameter)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several kinds
        raise DefinitionError(f"validation parameter is not an ApplicationPolicy: {exc}") from exc
    kind = policy.WhichOneof("Type")
    if kind == "channel_config_policy_reference":
        return str(policy.channel_config_policy_reference)
    if kind == "signature_policy":
        try:
            return signature_policy_from_bytes(policy.signature_policy.SerializeToString())
        except PolicyError as exc:
            raise DefinitionError(f"unreadable endorsement policy: {exc}") from exc
    raise DefinitionError("the validation parameter names no policy")


def describe_policy(validation_parameter: bytes) -> str:
    try:
        return str(endorsement_rule(validation_parameter))
    except DefinitionError as exc:
        return f"<{exc}>"


def normalized(name: str, message: lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs
               | lifecycle_pb2.CommitChaincodeDefinitionArgs | lifecycle_pb2.CheckCommitReadinessArgs
               | lifecycle_pb2.QueryChaincodeDefinitionResult) -> Definition:
    """The agreed parameters of `message`, defaults filled in; DefinitionError if unusable."""
    if message.sequence < 1:
        raise DefinitionError(f"sequence must be at least 1, found {message.sequence}")
    if not message.version:
        raise DefinitionError("a chaincode definition needs a version")
    definition = Definition(
        name=name,
        sequence=message.sequence,
        version=message.version,
        endorsement_plugin=message.endorsement_plugin or DEFAULT_ENDORSEMENT_PLUGIN,
        validation_plugin=message.validation_plugin or DEFAULT_VALIDATION_PLUGIN,
        validation_parameter=message.validation_parameter or application_policy(None),
        init_required=message.init_required,
    )
    endorsement_rule(definition.validation_parameter)
    definition.collections.CopyFrom(message.collections if message.HasField("collections")
                                    else collection_pb2.CollectionConfigPackage())
    return definition


def encode(definition: Definition) -> bytes:
    return bytes(definition.SerializeToString(deterministic=True))


def differences(approved: Definition, proposed: Definition) -> list[str]:
    """The fields in which an approval differs from a proposed definition."""
    fields = ("sequence", "version", "endorsement_plugin", "validation_plugin", "validation_parameter",
              "init_required", "collections")
    return [f for f in fields if getattr(approved, f) != getattr(proposed, f)]
