"""Endorsement layouts (peer.gateway.plan): which organizations must endorse, and how many
of each, for a policy to hold.

Hand-worked cases first; then property tests that check the layouts against the real
policy evaluator (`consortia.policy.evaluate` and `PolicyManager`), with fake peer
identities: every layout is sufficient, none asks for a peer too many, and every set of
peers that satisfies the policy includes one of the layouts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortia.msp.identity import Identity, Role
from consortia.policy import (
    ImplicitMeta,
    MetaRule,
    OutOf,
    Policy,
    PolicyGroup,
    PolicyManager,
    Principal,
    SignatureRule,
    evaluate,
    parse_signature_policy,
    principals_of,
)
from peer.gateway.plan import (
    MAX_LAYOUTS,
    Layout,
    policy_layouts,
    preferred,
    rule_layouts,
)

pytestmark = pytest.mark.unit


def L(**counts: int) -> Layout:
    return Layout.of(counts)


def layouts_of(text: str) -> list[Layout]:
    return rule_layouts(parse_signature_policy(text))


# --- Layout ----------------------------------------------------------------------------


def test_layout_drops_zero_counts_and_sorts() -> None:
    layout = Layout.of({"B": 1, "A": 2, "C": 0})
    assert layout.needs == (("A", 2), ("B", 1))
    assert layout.size == 3
    assert layout.count("A") == 2 and layout.count("C") == 0
    assert layout.orgs() == ["A", "B"]
    assert str(layout) == "2 of A + B"
    assert str(Layout(())) == "nobody"


def test_covers_means_at_least_as_much_of_every_org() -> None:
    assert L(A=2, B=1).covers(L(A=1, B=1))
    assert L(A=1, B=1).covers(L(A=1))
    assert L(A=1).covers(Layout(()))
    assert not L(A=1).covers(L(A=2))
    assert not L(A=3).covers(L(A=1, B=1))


# --- signature rules -------------------------------------------------------------------


def test_single_principal() -> None:
    assert layouts_of("'A.peer'") == [L(A=1)]
    assert layouts_of("'A.member'") == [L(A=1)]


def test_and_needs_every_org() -> None:
    assert layouts_of("AND('A.peer', 'B.peer')") == [L(A=1, B=1)]
    assert layouts_of("AND('A.peer', 'B.peer', 'C.member')") == [L(A=1, B=1, C=1)]


def test_or_gives_one_layout_per_org() -> None:
    assert layouts_of("OR('A.peer', 'B.peer')") == [L(A=1), L(B=1)]


def test_out_of_gives_each_combination() -> None:
    assert layouts_of("OutOf(2, 'A.peer', 'B.peer', 'C.peer')") == [L(A=1, B=1), L(A=1, C=1), L(B=1, C=1)]


def test_nested_gates() -> None:
    assert layouts_of("AND('A.peer', OR('B.peer', 'C.peer'))") == [L(A=1, B=1), L(A=1, C=1)]
    assert layouts_of("OR(AND('A.peer', 'B.peer'), 'C.peer')") == [L(C=1), L(A=1, B=1)]
    found = layouts_of("OutOf(2, AND('A.peer', 'B.peer'), 'B.peer', 'C.peer')")
    # {B, C}, {A, 2 of B} and {A, B, C}; the last asks more than {B, C} and is dropped.
    assert found == [L(B=1, C=1), L(A=1, B=2)]


def test_duplicate_principals_need_distinct_peers() -> None:
    # One identity counts once in a signature rule: a peer of A can't be both.
    assert layouts_of("AND('A.peer', 'A.member')") == [L(A=2)]
    assert layouts_of("AND('A.peer', 'A.peer', 'B.peer')") == [L(A=2, B=1)]
    assert layouts_of("OutOf(2, 'A.peer', 'A.peer', 'A.peer')") == [L(A=2)]


def test_only_minimal_layouts_are_kept() -> None:
    assert layouts_of("OR('A.peer', AND('A.peer', 'A.member'))") == [L(A=1)]
    assert layouts_of("OR(AND('A.peer', 'B.peer'), 'A.peer')") == [L(A=1)]


@pytest.mark.parametrize("role", ["admin", "client", "orderer"])
def test_roles_a_peer_does_not_have_give_no_layout(role: str) -> None:
    assert layouts_of(f"'A.{role}'") == []
    assert layouts_of(f"AND('A.peer', 'B.{role}')") == []
    assert layouts_of(f"OR('A.{role}', 'B.peer')") == [L(B=1)]
    assert layouts_of(f"OutOf(2, 'A.{role}', 'B.peer', 'C.peer')") == [L(B=1, C=1)]


def test_out_of_zero_needs_nobody_and_too_many_is_impossible() -> None:
    # The parser refuses these; a policy envelope can carry them.
    a_peer = Principal("A", Role.PEER)
    assert rule_layouts(OutOf(0, (a_peer,))) == [Layout(())]
    assert rule_layouts(OutOf(2, (a_peer,))) == []
    assert rule_layouts(OutOf(2, (OutOf(0, (a_peer,)), Principal("B", Role.PEER)))) == [L(B=1)]


def test_many_alternatives_are_trimmed_to_the_smallest() -> None:
    names = [f"O{i}" for i in range(13)]
    rule = OutOf(7, tuple(Principal(n, Role.PEER) for n in names))  # C(13, 7) = 1716 layouts
    found = rule_layouts(rule)
    assert len(found) == MAX_LAYOUTS
    assert all(layout.size == 7 for layout in found)
    assert len(set(found)) == len(found)


def test_majority_of_eleven_orgs_is_not_trimmed() -> None:
    names = [f"O{i:02}" for i in range(11)]
    found = rule_layouts(OutOf(6, tuple(Principal(n, Role.PEER) for n in names)))
    assert len(found) == 462


# --- implicit meta policies ------------------------------------------------------------


def org_group(name: str, msp_id: str, endorsement: Policy | None) -> PolicyGroup:
    policies: dict[str, Policy] = {"Readers": Principal(msp_id, Role.MEMBER)}
    if endorsement is not None:
        policies["Endorsement"] = endorsement
    return PolicyGroup(name, policies)


def application(rule: MetaRule, orgs: Mapping[str, Policy | None]) -> tuple[ImplicitMeta, PolicyGroup]:
    meta = ImplicitMeta(rule, "Endorsement")
    groups = {name: org_group(name, f"{name}MSP", endorsement) for name, endorsement in orgs.items()}
    return meta, PolicyGroup("Application", {"Endorsement": meta}, groups)


def peers_of(*names: str) -> dict[str, Policy | None]:
    return {name: Principal(f"{name}MSP", Role.PEER) for name in names}


def test_majority_of_three_orgs() -> None:
    meta, group = application(MetaRule.MAJORITY, peers_of("Org1", "Org2", "Org3"))
    assert policy_layouts(meta, group) == [
        Layout.of({"Org1MSP": 1, "Org2MSP": 1}),
        Layout.of({"Org1MSP": 1, "Org3MSP": 1}),
        Layout.of({"Org2MSP": 1, "Org3MSP": 1}),
    ]


def test_any_and_all() -> None:
    meta, group = application(MetaRule.ANY, peers_of("Org1", "Org2"))
    assert policy_layouts(meta, group) == [Layout.of({"Org1MSP": 1}), Layout.of({"Org2MSP": 1})]
    meta, group = application(MetaRule.ALL, peers_of("Org1", "Org2", "Org3"))
    assert policy_layouts(meta, group) == [Layout.of({"Org1MSP": 1, "Org2MSP": 1, "Org3MSP": 1})]


def test_majority_of_two_orgs_needs_both() -> None:
    meta, group = application(MetaRule.MAJORITY, peers_of("Org1", "Org2"))
    assert policy_layouts(meta, group) == [Layout.of({"Org1MSP": 1, "Org2MSP": 1})]


def test_org_lacking_the_sub_policy_cannot_count() -> None:
    orgs = {**peers_of("Org1", "Org2"), "Org3": None}
    meta, group = application(MetaRule.MAJORITY, orgs)
    assert policy_layouts(meta, group) == [Layout.of({"Org1MSP": 1, "Org2MSP": 1})]
    meta, group = application(MetaRule.ALL, orgs)
    assert policy_layouts(meta, group) == []


def test_org_whose_sub_policy_needs_an_admin_cannot_count() -> None:
    orgs = {**peers_of("Org1", "Org2"), "Org3": Principal("Org3MSP", Role.ADMIN)}
    meta, group = application(MetaRule.ANY, orgs)
    assert policy_layouts(meta, group) == [Layout.of({"Org1MSP": 1}), Layout.of({"Org2MSP": 1})]


def test_sub_policies_share_signers_so_counts_merge_by_maximum() -> None:
    # Each sub-policy is evaluated over the same signers: one peer of A serves both.
    orgs: dict[str, Policy | None] = {
        "Org1": parse_signature_policy("'A.peer'"),
        "Org2": parse_signature_policy("AND('A.peer', 'B.peer')"),
    }
    meta, group = application(MetaRule.ALL, orgs)
    assert policy_layouts(meta, group) == [L(A=1, B=1)]
    orgs["Org1"] = parse_signature_policy("AND('A.peer', 'A.member')")
    meta, group = application(MetaRule.ALL, orgs)
    assert policy_layouts(meta, group) == [L(A=2, B=1)]


def test_no_org_groups_needs_nobody() -> None:
    meta = ImplicitMeta(MetaRule.MAJORITY, "Endorsement")
    assert policy_layouts(meta, PolicyGroup("Application", {"Endorsement": meta})) == [Layout(())]


def test_nested_implicit_meta() -> None:
    _, app = application(MetaRule.MAJORITY, peers_of("Org1", "Org2", "Org3"))
    _, other = application(MetaRule.ALL, peers_of("Org4"))
    root_meta = ImplicitMeta(MetaRule.ALL, "Endorsement")
    root = PolicyGroup("Channel", {"Endorsement": root_meta},
                       {"Application": app, "Other": PolicyGroup("Other", other.policies, other.groups)})
    # ALL over Application (a MAJORITY of three) and Other (ALL of Org4).
    found = policy_layouts(root_meta, root)
    assert found == [
        Layout.of({"Org1MSP": 1, "Org2MSP": 1, "Org4MSP": 1}),
        Layout.of({"Org1MSP": 1, "Org3MSP": 1, "Org4MSP": 1}),
        Layout.of({"Org2MSP": 1, "Org3MSP": 1, "Org4MSP": 1}),
    ]


def test_signature_policy_in_a_group_is_a_rule() -> None:
    rule = parse_signature_policy("AND('A.peer', 'B.peer')")
    assert policy_layouts(rule, PolicyGroup("Application")) == [L(A=1, B=1)]


# --- preference ------------------------------------------------------------------------


def test_layouts_with_the_local_org_come_first_then_the_smallest() -> None:
    layouts = [L(A=1), L(B=1), L(B=1, C=1), L(A=1, C=1), L(C=2)]
    assert preferred(layouts, {"A": 3, "B": 3, "C": 3}, "C") == [L(A=1, C=1), L(B=1, C=1), L(C=2), L(A=1), L(B=1)]
    assert preferred(layouts, {"A": 3, "B": 3, "C": 3}, "B") == [L(B=1), L(B=1, C=1), L(A=1), L(A=1, C=1), L(C=2)]
    # An org outside every layout: plain size order.
    assert preferred(layouts, {"A": 3, "B": 3, "C": 3}, "Z") == [L(A=1), L(B=1), L(A=1, C=1), L(B=1, C=1), L(C=2)]


def test_layouts_needing_more_peers_than_known_are_dropped() -> None:
    layouts = [L(A=2), L(A=1, B=1), L(C=1)]
    assert preferred(layouts, {"A": 1, "B": 1}, "A") == [L(A=1, B=1)]
    assert preferred(layouts, {"A": 2, "B": 0}, "A") == [L(A=2)]
    assert preferred(layouts, {}, "A") == []


def test_nobody_layout_is_always_possible() -> None:
    assert preferred([Layout(())], {}, "A") == [Layout(())]


# --- properties against the real evaluator ---------------------------------------------

ORGS = ("A", "B", "C")
MAX_PER_ORG = 3


@dataclass(frozen=True)
class FakePeer:
    """A peer's identity as the evaluator needs it: unique bytes and an MSP id."""

    msp_id: str
    serialized: bytes

    @property
    def common_name(self) -> str:  # for the policy manager's refusal messages
        return self.serialized.decode()


class PeerChecker:
    """A peer of X satisfies X.peer and X.member, nothing else."""

    def satisfies(self, identity: Identity, msp_id: str, role: Role) -> bool:
        return identity.msp_id == msp_id and role in (Role.PEER, Role.MEMBER)


CHECKER = PeerChecker()


def peers(counts: Mapping[str, int]) -> list[Identity]:
    return [cast(Identity, FakePeer(org, f"{org}/peer{i}".encode())) for org, n in counts.items() for i in range(n)]


def holds(rule: SignatureRule, counts: Mapping[str, int]) -> bool:
    return evaluate(rule, peers(counts), CHECKER)


principals = st.builds(
    Principal,
    st.sampled_from(ORGS),
    st.sampled_from([Role.PEER, Role.PEER, Role.MEMBER, Role.MEMBER, Role.ADMIN, Role.CLIENT, Role.ORDERER]),
)


def gates(children: st.SearchStrategy[SignatureRule]) -> st.SearchStrategy[SignatureRule]:
    def gate(rules: list[SignatureRule]) -> st.SearchStrategy[SignatureRule]:
        n = st.one_of(st.integers(1, len(rules)), st.sampled_from([0, len(rules) + 1]))
        return st.builds(OutOf, n, st.just(tuple(rules)))

    return st.lists(children, min_size=1, max_size=4).flatmap(gate)


rules = st.recursive(principals, gates, max_leaves=7)


def all_counts(orgs: tuple[str, ...]) -> list[dict[str, int]]:
    return [dict(zip(orgs, combo)) for combo in itertools.product(range(MAX_PER_ORG + 1), repeat=len(orgs))]


def check_layouts(layouts: list[Layout], test: Callable[[Mapping[str, int]], bool], orgs: tuple[str, ...]) -> None:
    assert len(set(layouts)) == len(layouts)
    for layout in layouts:
        counts = dict(layout.needs)
        assert test(counts), f"{layout} does not satisfy the policy"  # sound
        for org in layout.orgs():
            fewer = {**counts, org: counts[org] - 1}
            assert not test(fewer), f"{layout} is not minimal: one peer of {org} fewer still satisfies"
    for counts in all_counts(orgs):
        offered = Layout.of(counts)
        assert test(counts) == any(offered.covers(layout) for layout in layouts), (
            f"{offered}: satisfied={test(counts)} but layouts are {[str(x) for x in layouts]}"
        )  # complete (and, with soundness, exact)


@settings(max_examples=300, deadline=None)
@given(rules)
def test_rule_layouts_are_sound_minimal_and_complete(rule: SignatureRule) -> None:
    orgs = tuple(sorted({p.msp_id for p in principals_of(rule)}))
    check_layouts(rule_layouts(rule), lambda counts: holds(rule, counts), orgs)


org_rules = st.one_of(st.none(), rules)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(list(MetaRule)), st.lists(org_rules, min_size=0, max_size=3))
def test_implicit_meta_layouts_match_the_policy_manager(rule: MetaRule, subs: list[SignatureRule | None]) -> None:
    meta = ImplicitMeta(rule, "Endorsement")
    groups = {
        f"Org{i}": PolicyGroup(f"Org{i}", {"Endorsement": sub} if sub is not None else {})
        for i, sub in enumerate(subs)
    }
    app = PolicyGroup("Application", {"Endorsement": meta}, groups)
    manager = PolicyManager(PolicyGroup("Channel", {}, {"Application": app}), CHECKER)

    def satisfied(counts: Mapping[str, int]) -> bool:
        return bool(manager.evaluate("/Channel/Application/Endorsement", peers(counts)))

    check_layouts(policy_layouts(meta, app), satisfied, ORGS)
