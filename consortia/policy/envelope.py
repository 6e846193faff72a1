"""Convert policies to and from Fabric's protobuf forms.

Chaincode definitions and collection configs carry endorsement policies as
`common.SignaturePolicyEnvelope`; channel configs carry `common.Policy{type, value}`
whose value is a signature envelope or an `ImplicitMetaPolicy`.

`to_envelope` numbers principals the way Fabric's `policydsl.FromString` does, so the
same text gives the same bytes as the `peer` CLI: a gate first numbers the principals
of the gates nested in it (in order), then its own direct principals (in order);
principals are not deduplicated.
"""

from __future__ import annotations

from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2
from google.protobuf.message import DecodeError

from consortia.errors import PolicyError
from consortia.msp.identity import Role
from consortia.policy.model import ImplicitMeta, MetaRule, OutOf, Policy, Principal, SignatureRule

_MAX_DEPTH = 64


def _principal_proto(principal: Principal) -> msp_principal_pb2.MSPPrincipal:
    role = msp_principal_pb2.MSPRole(msp_identifier=principal.msp_id, role=int(principal.role))
    return msp_principal_pb2.MSPPrincipal(
        principal_classification=msp_principal_pb2.MSPPrincipal.ROLE, principal=role.SerializeToString()
    )


def to_envelope(rule: SignatureRule) -> policies_pb2.SignaturePolicyEnvelope:
    identities: list[msp_principal_pb2.MSPPrincipal] = []

    def signed_by(principal: Principal) -> policies_pb2.SignaturePolicy:
        identities.append(_principal_proto(principal))
        return policies_pb2.SignaturePolicy(signed_by=len(identities) - 1)

    def gate(node: OutOf) -> policies_pb2.SignaturePolicy:
        built: list[policies_pb2.SignaturePolicy | None] = [
            gate(sub) if isinstance(sub, OutOf) else None for sub in node.rules
        ]
        for index, sub in enumerate(node.rules):
            if isinstance(sub, Principal):
                built[index] = signed_by(sub)
        rules = [b for b in built if b is not None]
        return policies_pb2.SignaturePolicy(
            n_out_of=policies_pb2.SignaturePolicy.NOutOf(n=node.n, rules=rules)
        )

    root = signed_by(rule) if isinstance(rule, Principal) else gate(rule)
    return policies_pb2.SignaturePolicyEnvelope(version=0, rule=root, identities=identities)


def signature_policy_bytes(rule: SignatureRule) -> bytes:
    return bytes(to_envelope(rule).SerializeToString())


def _principal_from_proto(index: int, proto: msp_principal_pb2.MSPPrincipal) -> Principal:
    if proto.principal_classification != msp_principal_pb2.MSPPrincipal.ROLE:
        kind = msp_principal_pb2.MSPPrincipal.Classification.Name(proto.principal_classification)
        raise PolicyError(f"principal {index} has classification {kind}; only ROLE principals are supported")
    try:
        role = msp_principal_pb2.MSPRole.FromString(proto.principal)
    except DecodeError as exc:
        raise PolicyError(f"principal {index} is not a valid MSPRole: {exc}") from exc
    if role.role not in Role._value2member_map_:
        raise PolicyError(f"principal {index} has unknown role number {role.role}")
    if not role.msp_identifier:
        raise PolicyError(f"principal {index} has an empty MSP id")
    return Principal(msp_id=role.msp_identifier, role=Role(role.role))


def from_envelope(envelope: policies_pb2.SignaturePolicyEnvelope) -> SignatureRule:
    """Decode a SignaturePolicyEnvelope, refusing anything Fabric's evaluator would refuse."""
    if envelope.version != 0:
        raise PolicyError(f"signature policy envelope has version {envelope.version}; only version 0 is understood")
    principals = [_principal_from_proto(i, p) for i, p in enumerate(envelope.identities)]

    def convert(rule: policies_pb2.SignaturePolicy, depth: int) -> SignatureRule:
        if depth > _MAX_DEPTH:
            raise PolicyError(f"signature policy is nested deeper than {_MAX_DEPTH} levels")
        kind = rule.WhichOneof("Type")
        if kind == "signed_by":
            if not 0 <= rule.signed_by < len(principals):
                raise PolicyError(
                    f"signature policy refers to identity {rule.signed_by} but has only {len(principals)}"
                )
            return principals[int(rule.signed_by)]
        if kind == "n_out_of":
            subs = tuple(convert(r, depth + 1) for r in rule.n_out_of.rules)
            if rule.n_out_of.n < 0:
                raise PolicyError(f"NOutOf threshold {rule.n_out_of.n} is negative")
            return OutOf(n=rule.n_out_of.n, rules=subs)
        raise PolicyError("signature policy rule is empty: expected signed_by or n_out_of")

    if not envelope.HasField("rule"):
        raise PolicyError("signature policy envelope has no rule")
    return convert(envelope.rule, 0)


def signature_policy_from_bytes(data: bytes) -> SignatureRule:
    try:
        envelope = policies_pb2.SignaturePolicyEnvelope.FromString(data)
    except DecodeError as exc:
        raise PolicyError(f"not a SignaturePolicyEnvelope: {exc}") from exc
    return from_envelope(envelope)


def to_policy_proto(policy: Policy) -> policies_pb2.Policy:
    """Wrap a policy as Fabric's `common.Policy` (as channel configs hold them)."""
    if isinstance(policy, ImplicitMeta):
        meta = policies_pb2.ImplicitMetaPolicy(sub_policy=policy.sub_policy, rule=int(policy.rule))
        return policies_pb2.Policy(type=policies_pb2.Policy.IMPLICIT_META, value=meta.SerializeToString())
    return policies_pb2.Policy(type=policies_pb2.Policy.SIGNATURE, value=signature_policy_bytes(policy))


def from_policy_proto(proto: policies_pb2.Policy) -> Policy:
    if proto.type == policies_pb2.Policy.SIGNATURE:
        return signature_policy_from_bytes(proto.value)
    if proto.type == policies_pb2.Policy.IMPLICIT_META:
        try:
            meta = policies_pb2.ImplicitMetaPolicy.FromString(proto.value)
        except DecodeError as exc:
            raise PolicyError(f"not an ImplicitMetaPolicy: {exc}") from exc
        if meta.rule not in MetaRule._value2member_map_:
            raise PolicyError(f"implicit meta policy has unknown rule number {meta.rule}")
        if not meta.sub_policy:
            raise PolicyError("implicit meta policy names no sub-policy")
        return ImplicitMeta(rule=MetaRule(meta.rule), sub_policy=meta.sub_policy)
    raise PolicyError(f"policy type {proto.type} is not supported: expected SIGNATURE (1) or IMPLICIT_META (3)")
