"""Policies as Fabric's protobufs: `SignaturePolicyEnvelope` and `common.Policy`.

The envelope lists principals once each in `identities` and refers to them by index
(`signed_by`) from a tree of `NOutOf` gates. `to_envelope` must number principals the
way Fabric's `policydsl.FromString` does (so the `peer` CLI and Consortia produce the
same bytes), and `from_envelope` must refuse anything malformed with a `PolicyError`
that says what is wrong.
"""

from __future__ import annotations

import pytest
from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2

from consortia.errors import PolicyError
from consortia.msp.identity import Role
from consortia.policy import (
    ImplicitMeta,
    MetaRule,
    OutOf,
    Principal,
    from_envelope,
    from_policy_proto,
    parse_policy,
    parse_signature_policy,
    signature_policy_bytes,
    signature_policy_from_bytes,
    to_envelope,
    to_policy_proto,
)
from consortia.policy.model import SignatureRule

pytestmark = pytest.mark.unit

SignaturePolicy = policies_pb2.SignaturePolicy
NOutOf = policies_pb2.SignaturePolicy.NOutOf


def _signed_by(index: int) -> policies_pb2.SignaturePolicy:
    return SignaturePolicy(signed_by=index)


def _n_out_of(n: int, *rules: policies_pb2.SignaturePolicy) -> policies_pb2.SignaturePolicy:
    return SignaturePolicy(n_out_of=NOutOf(n=n, rules=list(rules)))


def _role_principal(msp_id: str, role: int) -> msp_principal_pb2.MSPPrincipal:
    body = msp_principal_pb2.MSPRole(msp_identifier=msp_id, role=role).SerializeToString()
    return msp_principal_pb2.MSPPrincipal(
        principal_classification=msp_principal_pb2.MSPPrincipal.ROLE, principal=body
    )


def _decoded_identities(envelope: policies_pb2.SignaturePolicyEnvelope) -> list[tuple[str, int]]:
    found = []
    for principal in envelope.identities:
        assert principal.principal_classification == msp_principal_pb2.MSPPrincipal.ROLE
        role = msp_principal_pb2.MSPRole.FromString(principal.principal)
        found.append((role.msp_identifier, role.role))
    return found


def _envelope(
    rule: policies_pb2.SignaturePolicy | None, *identities: msp_principal_pb2.MSPPrincipal, version: int = 0
) -> policies_pb2.SignaturePolicyEnvelope:
    envelope = policies_pb2.SignaturePolicyEnvelope(version=version, identities=list(identities))
    if rule is not None:
        envelope.rule.CopyFrom(rule)
    return envelope


PEER = int(msp_principal_pb2.MSPRole.PEER)


# --- to_envelope: Fabric's numbering ---------------------------------------------


def test_nested_gates_number_their_principals_before_the_gate_own() -> None:
    envelope = to_envelope(parse_signature_policy("OR('A.peer', AND('B.peer','C.peer'), 'D.peer')"))
    assert envelope.version == 0
    assert _decoded_identities(envelope) == [("B", PEER), ("C", PEER), ("A", PEER), ("D", PEER)]
    expected = _n_out_of(1, _signed_by(2), _n_out_of(2, _signed_by(0), _signed_by(1)), _signed_by(3))
    assert envelope.rule == expected


def test_numbering_of_deeper_trees_follows_evaluation_order() -> None:
    # Each gate numbers everything inside its nested gates, left to right, then its own principals.
    text = "AND(OR('A.peer', AND('B.peer', 'C.peer')), 'D.peer', OR('E.peer'))"
    envelope = to_envelope(parse_signature_policy(text))
    assert [msp for msp, _ in _decoded_identities(envelope)] == ["B", "C", "A", "E", "D"]
    expected = _n_out_of(
        3,
        _n_out_of(1, _signed_by(2), _n_out_of(2, _signed_by(0), _signed_by(1))),
        _signed_by(4),
        _n_out_of(1, _signed_by(3)),
    )
    assert envelope.rule == expected


def test_and_needs_every_item_and_or_needs_one() -> None:
    and_rule = to_envelope(parse_signature_policy("AND('A.peer', 'B.peer', 'C.peer')")).rule
    or_rule = to_envelope(parse_signature_policy("OR('A.peer', 'B.peer', 'C.peer')")).rule
    outof_rule = to_envelope(parse_signature_policy("OutOf(2, 'A.peer', 'B.peer', 'C.peer')")).rule
    assert (and_rule.n_out_of.n, len(and_rule.n_out_of.rules)) == (3, 3)
    assert (or_rule.n_out_of.n, len(or_rule.n_out_of.rules)) == (1, 3)
    assert (outof_rule.n_out_of.n, len(outof_rule.n_out_of.rules)) == (2, 3)


def test_principals_are_not_deduplicated() -> None:
    envelope = to_envelope(parse_signature_policy("AND('A.peer','A.peer')"))
    assert _decoded_identities(envelope) == [("A", PEER), ("A", PEER)]
    assert envelope.rule == _n_out_of(2, _signed_by(0), _signed_by(1))


def test_bare_principal_is_signed_by_zero() -> None:
    envelope = to_envelope(parse_signature_policy("'Org1MSP.admin'"))
    assert envelope.rule == _signed_by(0)
    assert envelope.rule.WhichOneof("Type") == "signed_by"
    assert _decoded_identities(envelope) == [("Org1MSP", int(msp_principal_pb2.MSPRole.ADMIN))]


@pytest.mark.parametrize("role", list(Role))
def test_role_numbers_match_fabric(role: Role) -> None:
    assert int(role) == msp_principal_pb2.MSPRole.MSPRoleType.Value(role.name)
    envelope = to_envelope(Principal("Org1MSP", role))
    assert _decoded_identities(envelope) == [("Org1MSP", int(role))]
    assert from_envelope(envelope) == Principal("Org1MSP", role)


def test_meta_rule_numbers_match_fabric() -> None:
    for rule in MetaRule:
        assert int(rule) == policies_pb2.ImplicitMetaPolicy.Rule.Value(rule.name)


def test_bytes_are_the_serialized_envelope() -> None:
    rule = parse_signature_policy("AND('Org1MSP.peer', 'Org2MSP.peer')")
    data = signature_policy_bytes(rule)
    assert isinstance(data, bytes)
    assert policies_pb2.SignaturePolicyEnvelope.FromString(data) == to_envelope(rule)
    assert signature_policy_from_bytes(data) == rule


# --- round trips -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "'A.peer'",
        "AND('Org1MSP.peer', 'Org2MSP.peer')",
        "OR('A.peer', AND('B.peer','C.peer'), 'D.peer')",
        "OutOf(2, 'A.admin', OR('B.client', 'C.orderer'), AND('A.member', 'A.member'), 'org1.example-MSP.peer')",
        "AND('A.peer','A.peer')",
        "OR(OR(OR('A.peer')))",
    ],
)
def test_envelope_round_trip(text: str) -> None:
    rule = parse_signature_policy(text)
    assert from_envelope(to_envelope(rule)) == rule
    assert signature_policy_from_bytes(signature_policy_bytes(rule)) == rule


def test_from_envelope_shares_a_principal_referred_to_twice() -> None:
    envelope = _envelope(_n_out_of(2, _signed_by(0), _signed_by(0)), _role_principal("A", PEER))
    assert from_envelope(envelope) == OutOf(2, (Principal("A", Role.PEER), Principal("A", Role.PEER)))


def test_from_envelope_accepts_thresholds_the_parser_refuses() -> None:
    # Fabric's evaluator accepts these; they are data, not text a person typed.
    never = _envelope(_n_out_of(3, _signed_by(0)), _role_principal("A", PEER))
    always = _envelope(_n_out_of(0, _signed_by(0)), _role_principal("A", PEER))
    assert from_envelope(never) == OutOf(3, (Principal("A", Role.PEER),))
    assert from_envelope(always) == OutOf(0, (Principal("A", Role.PEER),))


@pytest.mark.parametrize(
    "text", ["'A.peer'", "OutOf(2, 'A.peer', OR('B.client', 'C.admin'), 'D.member')"]
)
def test_signature_policy_proto_round_trip(text: str) -> None:
    rule = parse_signature_policy(text)
    proto = to_policy_proto(rule)
    assert proto.type == policies_pb2.Policy.SIGNATURE == 1
    assert proto.value == signature_policy_bytes(rule)
    assert from_policy_proto(proto) == rule


@pytest.mark.parametrize("text", ["ANY Readers", "ALL Admins", "MAJORITY Endorsement"])
def test_implicit_meta_proto_round_trip(text: str) -> None:
    policy = parse_policy(text)
    assert isinstance(policy, ImplicitMeta)
    proto = to_policy_proto(policy)
    assert proto.type == policies_pb2.Policy.IMPLICIT_META == 3
    meta = policies_pb2.ImplicitMetaPolicy.FromString(proto.value)
    assert (meta.rule, meta.sub_policy) == (int(policy.rule), policy.sub_policy)
    assert from_policy_proto(proto) == policy


def test_policy_proto_survives_serialization() -> None:
    policy = ImplicitMeta(MetaRule.MAJORITY, "Endorsement")
    wire = to_policy_proto(policy).SerializeToString()
    assert from_policy_proto(policies_pb2.Policy.FromString(wire)) == policy


# --- bad envelopes -----------------------------------------------------------------


def test_version_other_than_zero_is_refused() -> None:
    envelope = _envelope(_signed_by(0), _role_principal("A", PEER), version=1)
    with pytest.raises(PolicyError, match="envelope has version 1; only version 0 is understood"):
        from_envelope(envelope)


@pytest.mark.parametrize("index", [1, 5, -1])
def test_signed_by_out_of_range_is_refused(index: int) -> None:
    envelope = _envelope(_n_out_of(1, _signed_by(0), _signed_by(index)), _role_principal("A", PEER))
    with pytest.raises(PolicyError, match=f"refers to identity {index} but has only 1"):
        from_envelope(envelope)


def test_signed_by_with_no_identities_is_refused() -> None:
    with pytest.raises(PolicyError, match="refers to identity 0 but has only 0"):
        from_envelope(_envelope(_signed_by(0)))


def test_negative_threshold_is_refused() -> None:
    envelope = _envelope(_n_out_of(-1, _signed_by(0)), _role_principal("A", PEER))
    with pytest.raises(PolicyError, match="NOutOf threshold -1 is negative"):
        from_envelope(envelope)


def test_negative_threshold_deep_inside_is_refused() -> None:
    envelope = _envelope(_n_out_of(1, _signed_by(0), _n_out_of(-2, _signed_by(0))), _role_principal("A", PEER))
    with pytest.raises(PolicyError, match="NOutOf threshold -2 is negative"):
        from_envelope(envelope)


def test_empty_rule_is_refused() -> None:
    envelope = _envelope(SignaturePolicy(), _role_principal("A", PEER))
    assert envelope.HasField("rule")
    with pytest.raises(PolicyError, match="signature policy rule is empty: expected signed_by or n_out_of"):
        from_envelope(envelope)


def test_empty_rule_inside_a_gate_is_refused() -> None:
    envelope = _envelope(_n_out_of(1, _signed_by(0), SignaturePolicy()), _role_principal("A", PEER))
    with pytest.raises(PolicyError, match="signature policy rule is empty"):
        from_envelope(envelope)


def test_missing_rule_is_refused() -> None:
    with pytest.raises(PolicyError, match="envelope has no rule"):
        from_envelope(_envelope(None, _role_principal("A", PEER)))


def test_organization_unit_principal_is_refused() -> None:
    ou = msp_principal_pb2.MSPPrincipal(
        principal_classification=msp_principal_pb2.MSPPrincipal.ORGANIZATION_UNIT,
        principal=msp_principal_pb2.OrganizationUnit(msp_identifier="A").SerializeToString(),
    )
    envelope = _envelope(_n_out_of(1, _signed_by(0), _signed_by(1)), _role_principal("A", PEER), ou)
    with pytest.raises(PolicyError, match="principal 1 has classification ORGANIZATION_UNIT; only ROLE"):
        from_envelope(envelope)


def test_garbage_principal_bytes_are_refused() -> None:
    garbage = msp_principal_pb2.MSPPrincipal(
        principal_classification=msp_principal_pb2.MSPPrincipal.ROLE, principal=b"\xff\xff\xff"
    )
    with pytest.raises(PolicyError, match="principal 0 is not a valid MSPRole"):
        from_envelope(_envelope(_signed_by(0), garbage))


@pytest.mark.parametrize("number", [5, 9, 1000])
def test_unknown_role_number_is_refused(number: int) -> None:
    envelope = _envelope(_signed_by(0), _role_principal("A", number))
    with pytest.raises(PolicyError, match=f"principal 0 has unknown role number {number}"):
        from_envelope(envelope)


def test_empty_msp_id_is_refused() -> None:
    envelope = _envelope(_n_out_of(1, _signed_by(0), _signed_by(1)), _role_principal("A", PEER), _role_principal("", PEER))
    with pytest.raises(PolicyError, match="principal 1 has an empty MSP id"):
        from_envelope(envelope)


def test_unused_bad_principal_is_still_refused() -> None:
    # Every listed identity must be well formed, referred to or not.
    envelope = _envelope(_signed_by(0), _role_principal("A", PEER), _role_principal("B", 77))
    with pytest.raises(PolicyError, match="principal 1 has unknown role number 77"):
        from_envelope(envelope)


@pytest.mark.parametrize("data", [b"\xff\xff\xff", b"garbage", b"\x0a\x05ab"])
def test_garbage_envelope_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(PolicyError, match="not a SignaturePolicyEnvelope"):
        signature_policy_from_bytes(data)


def test_empty_bytes_are_an_envelope_without_rule() -> None:
    with pytest.raises(PolicyError, match="envelope has no rule"):
        signature_policy_from_bytes(b"")


def test_deep_nesting_is_refused() -> None:
    # Built in place: protobuf itself will not parse or copy messages this deep.
    envelope = _envelope(None, _role_principal("A", PEER))
    node = envelope.rule
    for _ in range(70):
        node.n_out_of.n = 1
        node = node.n_out_of.rules.add()
    node.signed_by = 0
    with pytest.raises(PolicyError, match="nested deeper than 64 levels"):
        from_envelope(envelope)


@pytest.mark.parametrize("policy_type", [0, 2, 4, -1])
def test_unknown_policy_type_is_refused(policy_type: int) -> None:
    proto = policies_pb2.Policy(type=policy_type, value=signature_policy_bytes(Principal("A", Role.PEER)))
    with pytest.raises(PolicyError, match=f"policy type {policy_type} is not supported: expected SIGNATURE"):
        from_policy_proto(proto)


def test_signature_policy_proto_with_garbage_value_is_refused() -> None:
    proto = policies_pb2.Policy(type=policies_pb2.Policy.SIGNATURE, value=b"\xff\xff\xff")
    with pytest.raises(PolicyError, match="not a SignaturePolicyEnvelope"):
        from_policy_proto(proto)


@pytest.mark.parametrize("number", [3, 7, -1])
def test_implicit_meta_with_unknown_rule_is_refused(number: int) -> None:
    meta = policies_pb2.ImplicitMetaPolicy(sub_policy="Readers", rule=number)
    proto = policies_pb2.Policy(type=policies_pb2.Policy.IMPLICIT_META, value=meta.SerializeToString())
    with pytest.raises(PolicyError, match=f"implicit meta policy has unknown rule number {number}"):
        from_policy_proto(proto)


def test_implicit_meta_without_sub_policy_is_refused() -> None:
    meta = policies_pb2.ImplicitMetaPolicy(rule=policies_pb2.ImplicitMetaPolicy.ANY)
    proto = policies_pb2.Policy(type=policies_pb2.Policy.IMPLICIT_META, value=meta.SerializeToString())
    with pytest.raises(PolicyError, match="implicit meta policy names no sub-policy"):
        from_policy_proto(proto)


def test_implicit_meta_with_garbage_value_is_refused() -> None:
    proto = policies_pb2.Policy(type=policies_pb2.Policy.IMPLICIT_META, value=b"\xff\xff\xff")
    with pytest.raises(PolicyError, match="not an ImplicitMetaPolicy"):
        from_policy_proto(proto)


def _rules(rule: SignatureRule) -> int:
    return 1 if isinstance(rule, Principal) else 1 + sum(_rules(r) for r in rule.rules)


def test_large_policy_round_trips() -> None:
    orgs = [f"Org{i}MSP" for i in range(20)]
    text = "OutOf(11, " + ", ".join(f"AND('{o}.peer', OR('{o}.admin', '{o}.client'))" for o in orgs) + ")"
    rule = parse_signature_policy(text)
    envelope = to_envelope(rule)
    assert len(envelope.identities) == 60
    assert from_envelope(envelope) == rule
    assert _rules(rule) == 1 + 20 * 4 + 20
