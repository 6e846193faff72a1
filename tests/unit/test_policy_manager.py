"""Channel policies by path: `/Channel/Application/Endorsement` and friends.

A `PolicyManager` resolves a path in a tree of `PolicyGroup`s. A signature policy is
evaluated over the identities; an implicit meta policy (`MAJORITY Endorsement`) counts
the subgroups whose own sub-policy of that name holds, each evaluated independently
over the same identities. A subgroup without that sub-policy counts as unsatisfied; a
group without subgroups needs none of them (Fabric's threshold 0).
"""

from __future__ import annotations

import sys

import pytest

from consortia.errors import PolicyError
from consortia.msp.identity import Identity, Role
from consortia.msp.manager import MSPManager
from consortia.policy import (
    CompiledPolicy,
    ImplicitMeta,
    MetaRule,
    PolicyGroup,
    PolicyManager,
    Verdict,
    parse_policy,
    parse_signature_policy,
)
from consortia.policy.model import Policy
from tests.support.identities import SampleOrg, make_org, manager

pytestmark = pytest.mark.unit


def _org_group(msp_id: str, name: str, *, endorsement: bool = True) -> PolicyGroup:
    policies: dict[str, Policy] = {
        "Readers": parse_policy(f"OR('{msp_id}.member')"),
        "Writers": parse_policy(f"OR('{msp_id}.client', '{msp_id}.admin')"),
        "Admins": parse_policy(f"'{msp_id}.admin'"),
    }
    if endorsement:
        policies["Endorsement"] = parse_policy(f"'{msp_id}.peer'")
    return PolicyGroup(name=name, policies=policies)


def _channel(*orgs: PolicyGroup) -> PolicyGroup:
    application = PolicyGroup(
        name="Application",
        policies={
            "Readers": parse_policy("ANY Readers"),
            "Writers": parse_policy("ANY Writers"),
            "Endorsement": parse_policy("MAJORITY Endorsement"),
            "AnyEndorsement": parse_policy("ANY Endorsement"),
            "AllEndorsement": parse_policy("ALL Endorsement"),
            "Admins": parse_policy("MAJORITY Admins"),
            "Org1AndOrg2": parse_policy("AND('Org1MSP.peer', 'Org2MSP.peer')"),
        },
        groups={g.name: g for g in orgs},
    )
    return PolicyGroup(
        name="Channel",
        policies={"Readers": parse_policy("ANY Readers"), "Writers": parse_policy("ANY Writers")},
        groups={"Application": application},
    )


@pytest.fixture(scope="module")
def msps(org1: SampleOrg, org2: SampleOrg, org3: SampleOrg) -> MSPManager:
    return manager(org1, org2, org3)


@pytest.fixture(scope="module")
def policies(msps: MSPManager) -> PolicyManager:
    tree = _channel(_org_group("Org1MSP", "Org1"), _org_group("Org2MSP", "Org2"), _org_group("Org3MSP", "Org3"))
    return PolicyManager(tree, msps)


@pytest.fixture(scope="module")
def peers(org1: SampleOrg, org2: SampleOrg, org3: SampleOrg) -> list[Identity]:
    return [org.identity("peer").identity for org in (org1, org2, org3)]


# (which orgs' peers sign) -> (ANY, MAJORITY, ALL) of Endorsement across 3 orgs
ENDORSEMENT_CASES = [
    ((), (False, False, False)),
    ((0,), (True, False, False)),
    ((2,), (True, False, False)),
    ((0, 1), (True, True, False)),
    ((1, 2), (True, True, False)),
    ((0, 2), (True, True, False)),
    ((0, 1, 2), (True, True, True)),
]


@pytest.mark.parametrize(("signing", "expected"), ENDORSEMENT_CASES)
def test_meta_policies_count_orgs(
    policies: PolicyManager, peers: list[Identity], signing: tuple[int, ...], expected: tuple[bool, bool, bool]
) -> None:
    signers = [peers[i] for i in signing]
    any_, majority, all_ = expected
    assert bool(policies.evaluate("/Channel/Application/AnyEndorsement", signers)) is any_
    assert bool(policies.evaluate("/Channel/Application/Endorsement", signers)) is majority
    assert bool(policies.evaluate("/Channel/Application/AllEndorsement", signers)) is all_
    assert bool(policies.evaluate("/Channel/Application/Readers", signers)) is any_


def test_any_writers_needs_a_client_or_admin(
    policies: PolicyManager, org2: SampleOrg, peers: list[Identity]
) -> None:
    assert not policies.evaluate("/Channel/Application/Writers", peers)
    assert policies.evaluate("/Channel/Application/Writers", [org2.identity("client").identity])
    assert policies.evaluate("/Channel/Application/Writers", [org2.identity("admin").identity])
    assert policies.evaluate("/Channel/Writers", [org2.identity("admin").identity])
    assert not policies.evaluate("/Channel/Writers", peers)


def test_org_policies_by_path(policies: PolicyManager, peers: list[Identity]) -> None:
    assert policies.evaluate("/Channel/Application/Org2/Endorsement", [peers[1]])
    assert not policies.evaluate("/Channel/Application/Org2/Endorsement", [peers[0], peers[2]])
    assert policies.evaluate("/Channel/Application/Org3/Readers", [peers[2]])


def test_signature_policy_in_a_group(policies: PolicyManager, peers: list[Identity]) -> None:
    assert policies.evaluate("/Channel/Application/Org1AndOrg2", peers[:2])
    assert not policies.evaluate("/Channel/Application/Org1AndOrg2", [peers[0], peers[2]])


def test_sub_policies_are_evaluated_independently(
    policies: PolicyManager, org1: SampleOrg, org2: SampleOrg
) -> None:
    # One identity per org; each org's Admins sub-policy sees all identities, and a
    # signer may count in the sub-policy of its own org without being "used up".
    admins = [org1.identity("admin").identity, org2.identity("admin").identity]
    assert policies.evaluate("/Channel/Application/Admins", admins)
    assert not policies.evaluate("/Channel/Application/Admins", admins[:1])


def test_nested_meta_policy(policies: PolicyManager, peers: list[Identity], org3: SampleOrg) -> None:
    # /Channel/Readers = ANY Readers over Channel's groups: Application's Readers,
    # itself ANY Readers over the orgs.
    assert policies.evaluate("/Channel/Readers", [peers[2]])
    assert policies.evaluate("/Channel/Readers", [org3.identity("client").identity])
    assert not policies.evaluate("/Channel/Readers", [])


def test_nested_meta_policy_ignores_unknown_orgs(policies: PolicyManager, org1: SampleOrg) -> None:
    stranger = make_org("Org9MSP").identity("admin").identity
    impostor = make_org("Org1MSP").identity("admin").identity
    verdict = policies.evaluate("/Channel/Readers", [stranger, impostor])
    assert not verdict
    assert "/Channel/Readers" in verdict.reason


def test_missing_sub_policy_counts_as_unsatisfied(msps: MSPManager, peers: list[Identity]) -> None:
    tree = _channel(
        _org_group("Org1MSP", "Org1"), _org_group("Org2MSP", "Org2"), _org_group("Org3MSP", "Org3", endorsement=False)
    )
    policies = PolicyManager(tree, msps)
    # Org3 still counts in the 3 orgs: a majority is 2, all is 3.
    assert policies.evaluate("/Channel/Application/Endorsement", peers[:2])
    assert not policies.evaluate("/Channel/Application/Endorsement", [peers[0], peers[2]])
    assert not policies.evaluate("/Channel/Application/AllEndorsement", peers)
    verdict = policies.evaluate("/Channel/Application/AllEndorsement", peers)
    assert "3 of the 3 Endorsement sub-policies of Application are needed, 2 satisfied (Org1, Org2)" in verdict.reason


@pytest.mark.parametrize("rule", list(MetaRule))
def test_group_without_subgroups_needs_nobody(msps: MSPManager, rule: MetaRule) -> None:
    lonely = PolicyGroup(name="Channel", policies={"Endorsement": ImplicitMeta(rule, "Endorsement")})
    policies = PolicyManager(lonely, msps)
    verdict = policies.evaluate("/Channel/Endorsement", [])
    assert verdict
    assert verdict.satisfied


def test_empty_subgroup_under_a_meta_policy(msps: MSPManager, peers: list[Identity]) -> None:
    # Application has no orgs: its MAJORITY needs none, so ANY at the channel holds too.
    tree = _channel()
    policies = PolicyManager(tree, msps)
    assert policies.evaluate("/Channel/Application/Endorsement", [])
    assert policies.evaluate("/Channel/Readers", [])


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("Readers", r"policy path 'Readers' must look like /Channel/\[Group/\.\.\.\]Name"),
        ("/Channel", r"policy path '/Channel' must look like /Channel/"),
        ("", r"policy path '' must look like /Channel/"),
        ("/Other/Readers", r"policy path '/Other/Readers' must look like /Channel/"),
        ("/Channel/Nope/Readers", r"policy path '/Channel/Nope/Readers': no group 'Nope' under 'Channel'"),
        (
            "/Channel/Application/Org4/Endorsement",
            r"policy path '/Channel/Application/Org4/Endorsement': no group 'Org4' under 'Application'",
        ),
        ("/Channel/Application/Nope", r"policy '/Channel/Application/Nope' does not exist"),
        ("/Channel/Nope", r"policy '/Channel/Nope' does not exist"),
    ],
)
def test_bad_paths(policies: PolicyManager, path: str, fragment: str) -> None:
    with pytest.raises(PolicyError, match=fragment):
        policies.get(path)
    with pytest.raises(PolicyError, match=fragment):
        policies.evaluate(path, [])
    with pytest.raises(PolicyError, match=fragment):
        policies.check(path, [])


def test_get_returns_the_group_and_the_policy(policies: PolicyManager) -> None:
    group, policy = policies.get("/Channel/Application/Org2/Writers")
    assert group.name == "Org2"
    assert policy == parse_signature_policy("OR('Org2MSP.client', 'Org2MSP.admin')")
    group, policy = policies.get("/Channel/Application/Endorsement")
    assert group.name == "Application"
    assert policy == ImplicitMeta(MetaRule.MAJORITY, "Endorsement")


def test_check_names_the_path_and_the_count(policies: PolicyManager, peers: list[Identity]) -> None:
    with pytest.raises(
        PolicyError,
        match=r"policy /Channel/Application/Endorsement \(MAJORITY Endorsement\) is not satisfied: "
        r"2 of the 3 Endorsement sub-policies of Application are needed, 1 satisfied \(Org2\) "
        r"by signers Org2MSP:peer@org2msp",
    ):
        policies.check("/Channel/Application/Endorsement", [peers[1]])


def test_check_with_nobody(policies: PolicyManager) -> None:
    with pytest.raises(PolicyError, match=r"0 satisfied \(none\) by no signer"):
        policies.check("/Channel/Application/AllEndorsement", [])


def test_check_of_a_signature_policy(policies: PolicyManager, peers: list[Identity]) -> None:
    with pytest.raises(
        PolicyError,
        match=r"policy /Channel/Application/Org1AndOrg2 \(AND\('Org1MSP.peer', 'Org2MSP.peer'\)\) "
        r"is not satisfied by signers Org1MSP:peer@org1msp, Org3MSP:peer@org3msp",
    ):
        policies.check("/Channel/Application/Org1AndOrg2", [peers[2], peers[0]])


def test_check_passes_quietly(policies: PolicyManager, peers: list[Identity]) -> None:
    policies.check("/Channel/Application/Endorsement", peers[:2])
    policies.check("/Channel/Application/AllEndorsement", peers)


def test_verdict_is_falsy_on_failure(policies: PolicyManager, peers: list[Identity]) -> None:
    failed = policies.evaluate("/Channel/Application/AllEndorsement", peers[:2])
    assert isinstance(failed, Verdict)
    assert not failed
    assert failed.satisfied is False
    assert "/Channel/Application/AllEndorsement" in failed.reason
    passed = policies.evaluate("/Channel/Application/AllEndorsement", peers)
    assert passed and passed.satisfied is True and passed.reason == ""
    assert not Verdict(False, "why") and Verdict(True)


def test_evaluate_rule_caches_compiled_rules(
    msps: MSPManager, peers: list[Identity], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = sys.modules[PolicyManager.__module__]
    built: list[object] = []

    class CountingCompiledPolicy(CompiledPolicy):
        def __post_init__(self) -> None:
            built.append(self.rule)
            super().__post_init__()

    monkeypatch.setattr(module, "CompiledPolicy", CountingCompiledPolicy)
    fresh = PolicyManager(PolicyGroup(name="Channel"), msps)
    rule = parse_signature_policy("OutOf(2, 'Org1MSP.peer', 'Org2MSP.peer', 'Org3MSP.peer')")
    assert fresh.evaluate_rule(rule, peers[:2]) is True
    assert fresh.evaluate_rule(rule, peers[:2]) is True
    # The cache holds compiled rules, not answers.
    assert fresh.evaluate_rule(rule, peers[:1]) is False
    # An equal rule parsed again is the same key.
    assert fresh.evaluate_rule(parse_signature_policy(str(rule)), peers[1:]) is True
    assert built == [rule]
    other = parse_signature_policy("'Org1MSP.peer'")
    assert fresh.evaluate_rule(other, peers[:1]) is True
    assert built == [rule, other]


def test_evaluate_rule_outside_the_tree(policies: PolicyManager, peers: list[Identity]) -> None:
    rule = parse_signature_policy("AND('Org1MSP.peer', OR('Org2MSP.peer', 'Org3MSP.peer'))")
    assert policies.evaluate_rule(rule, iter([peers[0], peers[2]])) is True
    assert policies.evaluate_rule(rule, (p for p in [peers[1], peers[2]])) is False


def test_verdicts_are_cached_per_path_and_signer_set(msps: MSPManager, peers: list[Identity]) -> None:
    class CountingChecker:
        def __init__(self) -> None:
            self.calls = 0

        def satisfies(self, identity: Identity, msp_id: str, role: Role) -> bool:
            self.calls += 1
            return msps.satisfies(identity, msp_id, role)

    checker = CountingChecker()
    manager = PolicyManager(_channel(_org_group("Org1MSP", "Org1"), _org_group("Org2MSP", "Org2")), checker)
    first = manager.evaluate("/Channel/Application/Endorsement", peers[:2])
    calls = checker.calls
    assert first and calls > 0
    # The same signers in another order and with a duplicate: answered from the cache.
    assert manager.evaluate("/Channel/Application/Endorsement", [peers[1], peers[0], peers[1]]) == first
    assert checker.calls == calls
    # Another signer set is evaluated afresh, and gets its own answer.
    assert not manager.evaluate("/Channel/Application/Endorsement", peers[2:3])
    assert checker.calls > calls
