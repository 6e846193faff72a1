"""Evaluating signature policies over the identities that signed.

Fabric's semantics: a principal `'MSP.role'` is satisfied by one valid identity of that
MSP with that role (`member`: any valid identity of the MSP); `OutOf(n, ...)` needs n of
its items; one identity counts at most once in the whole policy; duplicate identities
count once. Consortia answers exactly whether *some* assignment of distinct identities
satisfies the policy, where Fabric hands identities out greedily, left to right.

The first half uses real certificates and a real `MSPManager`; the second half checks
the evaluator against a brute-force model on random policies with cheap fake identities.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import pytest
from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from consortia.msp.identity import Identity, Role
from consortia.msp.manager import MSPManager
from consortia.msp.signing import SigningIdentity
from consortia.policy import (
    CompiledPolicy,
    OutOf,
    Principal,
    PrincipalChecker,
    evaluate,
    from_envelope,
    parse_signature_policy,
)
from consortia.policy.model import SignatureRule
from tests.support.identities import SampleOrg, make_org, manager

pytestmark = pytest.mark.unit


def _ids(*signers: SigningIdentity) -> list[Identity]:
    return [s.identity for s in signers]


def _holds(text: str, signers: Sequence[Identity], checker: PrincipalChecker) -> bool:
    return evaluate(parse_signature_policy(text), signers, checker)


@pytest.fixture(scope="module")
def msps(org1: SampleOrg, org2: SampleOrg, org3: SampleOrg) -> MSPManager:
    return manager(org1, org2, org3)


# --- distinct identities -----------------------------------------------------------


def test_one_peer_cannot_satisfy_two_principals(org1: SampleOrg, msps: MSPManager) -> None:
    peer = _ids(org1.identity("peer"))
    assert _holds("'Org1MSP.peer'", peer, msps)
    assert _holds("'Org1MSP.member'", peer, msps)
    assert not _holds("AND('Org1MSP.peer', 'Org1MSP.member')", peer, msps)
    assert not _holds("AND('Org1MSP.peer', 'Org1MSP.peer')", peer, msps)


def test_two_peers_of_one_org_can(org1: SampleOrg, msps: MSPManager) -> None:
    peers = _ids(org1.identity("peer", "peer0"), org1.identity("peer", "peer1"))
    assert _holds("AND('Org1MSP.peer', 'Org1MSP.member')", peers, msps)
    assert _holds("AND('Org1MSP.peer', 'Org1MSP.peer')", peers, msps)
    assert not _holds("AND('Org1MSP.peer', 'Org1MSP.peer', 'Org1MSP.member')", peers, msps)


def test_duplicates_of_one_identity_count_once(org1: SampleOrg, msps: MSPManager) -> None:
    peer = org1.identity("peer").identity
    assert not _holds("AND('Org1MSP.peer', 'Org1MSP.member')", [peer, peer, peer], msps)
    assert not _holds("OutOf(2, 'Org1MSP.peer', 'Org1MSP.peer', 'Org1MSP.peer')", [peer] * 5, msps)
    other = org1.identity("peer", "peer1").identity
    assert _holds("AND('Org1MSP.peer', 'Org1MSP.member')", [peer, peer, other, other], msps)


def test_equal_bytes_are_one_identity_even_as_different_objects(org1: SampleOrg, msps: MSPManager) -> None:
    peer = org1.identity("peer").identity
    copy = Identity(msp_id=peer.msp_id, certificate=peer.certificate, serialized=bytes(peer.serialized))
    assert copy is not peer
    assert not _holds("AND('Org1MSP.peer', 'Org1MSP.peer')", [peer, copy], msps)


def test_or(org1: SampleOrg, org2: SampleOrg, org3: SampleOrg, msps: MSPManager) -> None:
    policy = "OR('Org1MSP.peer', 'Org2MSP.peer')"
    assert _holds(policy, _ids(org1.identity("peer")), msps)
    assert _holds(policy, _ids(org2.identity("peer")), msps)
    assert _holds(policy, _ids(org3.identity("peer"), org2.identity("peer")), msps)
    assert not _holds(policy, _ids(org3.identity("peer")), msps)
    assert not _holds(policy, _ids(org1.identity("client"), org2.identity("admin")), msps)
    assert not _holds(policy, [], msps)


@pytest.mark.parametrize(
    ("signing_orgs", "expected"),
    [((), False), ((1,), False), ((2,), False), ((1, 2), True), ((1, 3), True), ((2, 3), True), ((1, 2, 3), True)],
)
def test_two_out_of_three_orgs(
    org1: SampleOrg, org2: SampleOrg, org3: SampleOrg, msps: MSPManager, signing_orgs: tuple[int, ...], expected: bool
) -> None:
    orgs = {1: org1, 2: org2, 3: org3}
    signers = _ids(*(orgs[i].identity("peer") for i in signing_orgs))
    assert _holds("OutOf(2, 'Org1MSP.peer', 'Org2MSP.peer', 'Org3MSP.peer')", signers, msps) is expected


def test_and_of_two_orgs(org1: SampleOrg, org2: SampleOrg, msps: MSPManager) -> None:
    policy = "AND('Org1MSP.peer', 'Org2MSP.peer')"
    assert _holds(policy, _ids(org1.identity("peer"), org2.identity("peer")), msps)
    assert not _holds(policy, _ids(org1.identity("peer"), org1.identity("peer", "peer1")), msps)
    assert not _holds(policy, _ids(org1.identity("peer"), org2.identity("client")), msps)


ROLES = ["admin", "client", "peer", "orderer"]


@pytest.mark.parametrize("signer_role", ROLES)
@pytest.mark.parametrize("principal_role", ["member", *ROLES])
def test_member_is_any_role_other_roles_need_their_node_ou(
    org1: SampleOrg, msps: MSPManager, signer_role: str, principal_role: str
) -> None:
    signer = _ids(org1.identity(signer_role))
    expected = principal_role in ("member", signer_role)
    assert _holds(f"'Org1MSP.{principal_role}'", signer, msps) is expected


def test_role_of_another_org_does_not_count(org1: SampleOrg, org2: SampleOrg, msps: MSPManager) -> None:
    assert not _holds("'Org1MSP.admin'", _ids(org2.identity("admin")), msps)
    assert not _holds("'Org2MSP.member'", _ids(org1.identity("peer")), msps)


def test_identity_of_an_unknown_msp_is_ignored(org1: SampleOrg, org2: SampleOrg, org3: SampleOrg) -> None:
    checker = manager(org1, org2)
    stranger = org3.identity("peer").identity
    assert not _holds("'Org3MSP.peer'", [stranger], checker)
    assert not _holds("OR('Org1MSP.member', 'Org3MSP.member')", [stranger], checker)
    assert _holds("OR('Org1MSP.member', 'Org3MSP.member')", [stranger, *_ids(org1.identity("peer"))], checker)
    assert not _holds(
        "OutOf(2, 'Org1MSP.member', 'Org3MSP.member')", [stranger, *_ids(org1.identity("peer"))], checker
    )


def test_exact_assignment_where_fabric_greedy_fails(org1: SampleOrg, msps: MSPManager) -> None:
    # The peer is handed to 'member' first by a greedy evaluator, leaving nobody for 'peer'.
    signers = _ids(org1.identity("peer"), org1.identity("client"))
    rule = parse_signature_policy("AND('Org1MSP.member', 'Org1MSP.peer')")
    checker = msps
    assert not _fabric_greedy(rule, signers, checker)
    assert evaluate(rule, signers, checker)
    assert evaluate(rule, list(reversed(signers)), checker)


def test_invalid_identity_never_satisfies(org1: SampleOrg, msps: MSPManager) -> None:
    impostor_org = make_org("Org1MSP")  # a foreign CA claiming to be Org1MSP
    impostor = impostor_org.identity("peer").identity
    assert impostor.msp_id == "Org1MSP"
    assert not _holds("'Org1MSP.member'", [impostor], msps)
    assert not _holds("'Org1MSP.peer'", [impostor], msps)
    genuine = org1.identity("peer").identity
    assert _holds("'Org1MSP.peer'", [impostor, genuine], msps)
    assert not _holds("AND('Org1MSP.peer', 'Org1MSP.member')", [impostor, genuine], msps)


def test_outof_zero_from_an_envelope_needs_no_signer(org1: SampleOrg, msps: MSPManager) -> None:
    # The parser refuses OutOf(0, ...), but an envelope can carry it; Fabric's evaluator
    # counts 0 >= 0, so it holds with no signer at all.
    envelope = policies_pb2.SignaturePolicyEnvelope(
        version=0,
        rule=policies_pb2.SignaturePolicy(
            n_out_of=policies_pb2.SignaturePolicy.NOutOf(n=0, rules=[policies_pb2.SignaturePolicy(signed_by=0)])
        ),
        identities=[
            msp_principal_pb2.MSPPrincipal(
                principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
                principal=msp_principal_pb2.MSPRole(
                    msp_identifier="Org1MSP", role=msp_principal_pb2.MSPRole.ADMIN
                ).SerializeToString(),
            )
        ],
    )
    rule = from_envelope(envelope)
    assert rule == OutOf(0, (Principal("Org1MSP", Role.ADMIN),))
    assert evaluate(rule, [], msps)
    assert evaluate(rule, _ids(org1.identity("client")), msps)
    # Nested, it satisfies its parent's count without using anybody.
    parent = OutOf(2, (rule, Principal("Org1MSP", Role.PEER)))
    assert evaluate(parent, _ids(org1.identity("peer")), msps)
    assert not evaluate(parent, [], msps)


def test_count_above_the_items_from_an_envelope_never_holds(org1: SampleOrg, msps: MSPManager) -> None:
    rule = OutOf(3, (Principal("Org1MSP", Role.MEMBER), Principal("Org1MSP", Role.MEMBER)))
    signers = _ids(*(org1.identity("peer", f"peer{i}") for i in range(4)))
    assert not evaluate(rule, signers, msps)


def test_hostile_many_signers_stays_fast(org1: SampleOrg, msps: MSPManager) -> None:
    clients = _ids(*(org1.identity("client", f"client{i}") for i in range(300)))
    assert len({c.serialized for c in clients}) == 300
    rule = parse_signature_policy("OutOf(5, " + ", ".join(["'Org1MSP.member'"] * 8) + ")")
    compiled = CompiledPolicy(rule)
    # 300 interchangeable identities are one class with a count: milliseconds, not C(300, 5).
    assert compiled.evaluate(clients, msps)
    assert not compiled.evaluate(clients[:4], msps)
    assert compiled.evaluate(clients[:5], msps)
    assert not evaluate(parse_signature_policy("AND('Org1MSP.member', 'Org1MSP.peer')"), clients, msps)


def test_compiled_policy_lists_distinct_principals() -> None:
    compiled = CompiledPolicy(parse_signature_policy("AND('A.peer', OR('B.peer', 'A.peer'), 'A.member')"))
    assert compiled.principals == (Principal("A", Role.PEER), Principal("B", Role.PEER), Principal("A", Role.MEMBER))


# --- fakes for the property tests ----------------------------------------------------


@dataclass(frozen=True)
class FakeIdentity:
    """Enough of an Identity for the evaluator: wire bytes plus what the fake checker reads."""

    msp_id: str
    role: Role
    serialized: bytes


class FakeChecker:
    """`member` is any role of the MSP; other roles must match."""

    def __init__(self) -> None:
        self.calls = 0

    def satisfies(self, identity: Identity, msp_id: str, role: Role) -> bool:
        self.calls += 1
        fake = cast(FakeIdentity, identity)
        return fake.msp_id == msp_id and (role is Role.MEMBER or fake.role is role)


def _fake(msp_id: str, role: Role, tag: int = 0) -> Identity:
    return cast(Identity, FakeIdentity(msp_id, role, f"{msp_id}/{role.label}/{tag}".encode()))


def _satisfied_by(signer: Identity, principal: Principal, checker: PrincipalChecker) -> bool:
    return checker.satisfies(signer, principal.msp_id, principal.role)


def _distinct(signers: Iterable[Identity]) -> list[Identity]:
    seen: dict[bytes, Identity] = {}
    for s in signers:
        seen.setdefault(s.serialized, s)
    return list(seen.values())


def _fabric_greedy(rule: SignatureRule, signers: Iterable[Identity], checker: PrincipalChecker) -> bool:
    """Fabric's cauthdsl: every gate tries every child in order, each child on a copy of
    the used flags, keeping the copy when the child holds; a principal takes the first
    unused identity that satisfies it."""
    identities = _distinct(signers)

    def holds(node: SignatureRule, used: list[bool]) -> bool:
        if isinstance(node, Principal):
            for i, identity in enumerate(identities):
                if not used[i] and _satisfied_by(identity, node, checker):
                    used[i] = True
                    return True
            return False
        verified = 0
        for child in node.rules:
            trial = list(used)
            if holds(child, trial):
                verified += 1
                used[:] = trial
        return verified >= node.n

    return holds(rule, [False] * len(identities))


def _usable_sets(node: SignatureRule, signers: frozenset[int], table: Sequence[Identity], checker: PrincipalChecker) -> set[frozenset[int]]:
    """Every set of signers (indices into `table`) that can satisfy `node` with each
    signer standing for at most one principal occurrence."""
    if isinstance(node, Principal):
        return {frozenset({s}) for s in signers if _satisfied_by(table[s], node, checker)}
    options = [_usable_sets(child, signers, table, checker) for child in node.rules]
    found: set[frozenset[int]] = set()
    for chosen in itertools.combinations(range(len(node.rules)), node.n):
        partial: set[frozenset[int]] = {frozenset()}
        for index in chosen:
            partial = {p | u for p in partial for u in options[index] if not p & u}
        found |= partial
    return found


def _brute_force(rule: SignatureRule, signers: Iterable[Identity], checker: PrincipalChecker) -> bool:
    table = _distinct(signers)
    return bool(_usable_sets(rule, frozenset(range(len(table))), table, checker))


def test_brute_force_model_agrees_with_hand_worked_cases() -> None:
    checker = FakeChecker()
    peer, client, peer2 = _fake("A", Role.PEER), _fake("A", Role.CLIENT), _fake("A", Role.PEER, 2)
    rule = parse_signature_policy("AND('A.member', 'A.peer')")
    assert _brute_force(rule, [peer, client], checker)
    assert not _fabric_greedy(rule, [peer, client], checker)
    assert _fabric_greedy(rule, [client, peer], checker)
    assert not _brute_force(rule, [peer, peer], checker)
    assert _brute_force(rule, [peer, peer2], checker)
    assert _brute_force(OutOf(0, (Principal("B", Role.ADMIN),)), [], checker)
    assert not _brute_force(OutOf(2, (Principal("A", Role.PEER),)), [peer, peer2], checker)


# --- the cases a greedy evaluator gets wrong, and larger inputs ----------------------


def test_greedy_over_consumption_inside_a_satisfied_gate() -> None:
    # Fabric's gates keep trying children after reaching n, so the OR takes both A
    # identities and the second item of the AND finds none left.
    checker = FakeChecker()
    signers = [_fake("A", Role.PEER, 1), _fake("A", Role.PEER, 2)]
    rule = parse_signature_policy("AND(OR('A.member', 'A.member'), 'A.peer')")
    assert not _fabric_greedy(rule, signers, checker)
    assert evaluate(rule, signers, checker)


def test_signer_order_does_not_matter() -> None:
    checker = FakeChecker()
    signers = [_fake("A", Role.PEER), _fake("A", Role.CLIENT), _fake("B", Role.ADMIN), _fake("B", Role.PEER)]
    rule = parse_signature_policy("AND('A.member', 'A.peer', OR('B.admin', 'A.client'), 'B.member')")
    results = {evaluate(rule, list(order), checker) for order in itertools.permutations(signers)}
    assert results == {True}


def test_many_signers_of_many_classes_fake_checker() -> None:
    checker = FakeChecker()
    signers = [_fake(msp, role, tag) for msp in "ABC" for role in Role for tag in range(200)]
    rule = parse_signature_policy(
        "OutOf(5, " + ", ".join(["'A.member'"] * 4 + ["AND('B.peer', 'B.member', 'C.admin')"] * 4) + ")"
    )
    assert evaluate(rule, signers, checker)
    # Without C the four 'A.member' items are all that can hold.
    lacking = [s for s in signers if cast(FakeIdentity, s).msp_id != "C"]
    assert not evaluate(rule, lacking, checker)
    assert evaluate(rule, [*lacking, _fake("C", Role.ADMIN)], checker)
    # One B peer cannot be both 'B.peer' and 'B.member'.
    only_a = [s for s in signers if cast(FakeIdentity, s).msp_id == "A"]
    assert not evaluate(rule, [*only_a, _fake("B", Role.PEER), _fake("C", Role.ADMIN)], checker)
    assert evaluate(rule, [*only_a, _fake("B", Role.PEER), _fake("B", Role.ORDERER), _fake("C", Role.ADMIN)], checker)


@pytest.mark.parametrize("orgs", [14, 20])
def test_majority_of_many_orgs_stays_fast(orgs: int) -> None:
    # The most ordinary endorsement policy: a majority of the orgs' peers, each org's
    # peer (and a client) signing. Interchangeability alone does not keep this small:
    # every subset of orgs leaves a different vector of counts (14 orgs took about a
    # minute, 20 would take hours); forgetting spent classes makes it milliseconds.
    checker = FakeChecker()
    names = [f"Org{i}MSP" for i in range(orgs)]
    signers = [_fake(n, role) for n in names for role in (Role.PEER, Role.CLIENT)]
    majority = orgs // 2 + 1
    flat = parse_signature_policy(f"OutOf({majority}, " + ", ".join(f"'{n}.peer'" for n in names) + ")")
    paired = parse_signature_policy(
        f"OutOf({majority}, " + ", ".join(f"AND('{n}.peer', '{n}.member')" for n in names) + ")"
    )
    # Greedy fails here (Org0's peer goes to the OutOf), so the exact search must run.
    anchored = OutOf(2, (flat, Principal(names[0], Role.PEER)))
    short = signers[: 2 * (majority - 1)]
    assert evaluate(flat, signers, checker)
    assert evaluate(paired, signers, checker)
    assert not _fabric_greedy(anchored, signers, checker)
    assert evaluate(anchored, signers, checker)
    assert not evaluate(flat, short, checker)
    assert not evaluate(paired, short, checker)


def test_tangled_policy_falls_back_to_fabric_within_a_budget() -> None:
    # Two overlapping majorities over 14 orgs: too many states for the exact search,
    # so the evaluator answers as Fabric's own evaluator does, and quickly.
    checker = FakeChecker()
    names = [f"Org{i}MSP" for i in range(14)]
    signers = [_fake(n, role) for n in names for role in (Role.PEER, Role.CLIENT)]
    tangled = parse_signature_policy(
        "AND(OutOf(8, " + ", ".join(f"'{n}.peer'" for n in names) + "), "
        "OutOf(7, " + ", ".join(f"'{n}.member'" for n in names) + "))"
    )
    assert evaluate(tangled, signers, checker) == _fabric_greedy(tangled, signers, checker) is True
    assert evaluate(tangled, signers[:10], checker) == _fabric_greedy(tangled, signers[:10], checker) is False


def test_exhausted_budget_gives_fabric_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    import consortia.policy.evaluation as evaluation

    checker = FakeChecker()
    rule = parse_signature_policy("AND('Org1MSP.member', 'Org1MSP.peer')")
    signers = [_fake("Org1MSP", Role.PEER), _fake("Org1MSP", Role.CLIENT)]
    assert evaluate(rule, signers, checker)  # the exact answer
    monkeypatch.setattr(evaluation, "_STATE_BUDGET", 0)
    assert evaluate(rule, signers, checker) == _fabric_greedy(rule, signers, checker) is False


# --- property tests against the brute-force model ------------------------------------

# Mostly MSP "A", so that principals compete for the same signers.
MSPS = ("A", "A", "B", "C")
principals = st.builds(
    Principal,
    st.sampled_from(MSPS),
    st.sampled_from([Role.MEMBER, Role.MEMBER, Role.PEER, Role.PEER, Role.CLIENT, Role.ADMIN, Role.ORDERER]),
)


def _counts(items: int) -> st.SearchStrategy[int]:
    # Mostly 1..items; now and then 0 (always holds) or items + 1 (never holds), which
    # envelopes can carry though the parser refuses them.
    return st.sampled_from([*range(1, items + 1)] * 3 + [0, items + 1])


def _gates(children: st.SearchStrategy[SignatureRule]) -> st.SearchStrategy[SignatureRule]:
    return st.lists(children, min_size=1, max_size=4).flatmap(
        lambda items: st.builds(OutOf, _counts(len(items)), st.just(tuple(items)))
    )


def _trees(depth: int) -> st.SearchStrategy[SignatureRule]:
    if depth == 0:
        return principals
    return st.one_of(principals, _gates(_trees(depth - 1)))


trees = _gates(_trees(2))  # at most three levels of gates
a_signer = st.builds(_fake, st.sampled_from(MSPS), st.sampled_from(list(Role)), st.integers(0, 2))
signers = st.lists(a_signer, max_size=7)


@settings(max_examples=300, deadline=None)
@given(rule=trees, signed=signers)
def test_matches_brute_force(rule: SignatureRule, signed: list[Identity]) -> None:
    checker = FakeChecker()
    assert CompiledPolicy(rule).evaluate(signed, checker) is _brute_force(rule, signed, checker)


@settings(max_examples=300, deadline=None)
@given(rule=trees, signed=signers, extra=a_signer)
def test_adding_a_signer_never_hurts(rule: SignatureRule, signed: list[Identity], extra: Identity) -> None:
    checker = FakeChecker()
    compiled = CompiledPolicy(rule)
    if compiled.evaluate(signed, checker):
        assert compiled.evaluate([*signed, extra], checker)
        assert compiled.evaluate([extra, *signed], checker)


@settings(max_examples=300, deadline=None)
@given(rule=trees, signed=signers)
def test_accepts_whatever_fabric_accepts(rule: SignatureRule, signed: list[Identity]) -> None:
    checker = FakeChecker()
    if _fabric_greedy(rule, signed, checker):
        assert CompiledPolicy(rule).evaluate(signed, checker)


@settings(max_examples=300, deadline=None)
@given(rule=trees, signed=signers, data=st.data())
def test_order_and_duplicates_do_not_matter(rule: SignatureRule, signed: list[Identity], data: st.DataObject) -> None:
    checker = FakeChecker()
    compiled = CompiledPolicy(rule)
    expected = compiled.evaluate(signed, checker)
    shuffled = data.draw(st.permutations(signed))
    doubled = [*shuffled, *data.draw(st.lists(st.sampled_from(signed), max_size=4))] if signed else shuffled
    assert compiled.evaluate(shuffled, checker) is expected
    assert compiled.evaluate(doubled, checker) is expected
    assert evaluate(rule, signed, checker) is expected
