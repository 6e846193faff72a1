"""A channel's policies by path, as Fabric names them.

    /Channel/Readers                      /Channel/Application/Endorsement
    /Channel/Application/Writers          /Channel/Application/Org1/Endorsement
    /Channel/Orderer/BlockValidation     /Channel/Orderer/OrdererOrg/Writers

Policies live in a tree of groups. A signature policy is evaluated over identities; an
implicit meta policy in a group (`MAJORITY Endorsement`) is evaluated by evaluating the
named sub-policy in each of the group's subgroups, each independently over the same
identities. A subgroup that lacks the sub-policy counts as not satisfied (Fabric's rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from consortia.errors import PolicyError
from consortia.msp.identity import Identity
from consortia.policy.evaluation import CompiledPolicy, PrincipalChecker
from consortia.policy.model import ImplicitMeta, Policy, SignatureRule

ROOT = "Channel"
_COMPILED_CACHE_SIZE = 1024
_VERDICT_CACHE_SIZE = 8192


@dataclass(frozen=True)
class PolicyGroup:
    """One node of the policy tree: its own policies and its subgroups, by name."""

    name: str
    policies: Mapping[str, Policy] = field(default_factory=dict)
    groups: Mapping[str, PolicyGroup] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The outcome of an evaluation, with a reason a person can read when it failed."""

    satisfied: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.satisfied


class PolicyManager:
    """Resolves and evaluates policies by path over a `PolicyGroup` tree."""

    def __init__(self, root: PolicyGroup, checker: PrincipalChecker) -> None:
        self._root = root
        self._checker = checker
        self._compiled: dict[SignatureRule, CompiledPolicy] = {}
        self._verdicts: dict[tuple[str, frozenset[bytes]], Verdict] = {}

    def with_checker(self, checker: PrincipalChecker) -> PolicyManager:
        """The same policy tree, deciding principals another way (e.g. by organization
        only, to ask whether a set of organizations could satisfy a policy)."""
        return PolicyManager(self._root, checker)

    def get(self, path: str) -> tuple[PolicyGroup, Policy]:
        """The group holding the policy at `path`, and the policy. PolicyError if none."""
        parts = [p for p in path.split("/") if p]
        if len(parts) < 2 or parts[0] != self._root.name:
            raise PolicyError(f"policy path {path!r} must look like /{self._root.name}/[Group/...]Name")
        group = self._root
        for name in parts[1:-1]:
            sub = group.groups.get(name)
            if sub is None:
                raise PolicyError(f"policy path {path!r}: no group {name!r} under {group.name!r}")
            group = sub
        policy = group.policies.get(parts[-1])
        if policy is None:
            raise PolicyError(f"policy {path!r} does not exist")
        return group, policy

    def evaluate(self, path: str, identities: Sequence[Identity]) -> Verdict:
        """Evaluate the policy at `path` over already verified identities.

        Verdicts are cached by path and signer set: the tree never changes (a new
        channel config makes a new manager) and neither does what a set of identities
        satisfies, so the many envelopes of the same few creators cost one evaluation.
        """
        key = (path, frozenset(i.serialized for i in identities))
        verdict = self._verdicts.get(key)
        if verdict is None:
            group, policy = self.get(path)
            verdict = self._evaluate(group, policy, path, identities)
            if len(self._verdicts) >= _VERDICT_CACHE_SIZE:
                self._verdicts.pop(next(iter(self._verdicts)))
            self._verdicts[key] = verdict
        return verdict

    def check(self, path: str, identities: Sequence[Identity]) -> None:
        """Like `evaluate`, but raise PolicyError naming the policy when it is not satisfied."""
        verdict = self.evaluate(path, identities)
        if not verdict:
            raise PolicyError(verdict.reason)

    def evaluate_rule(self, rule: SignatureRule, identities: Iterable[Identity]) -> bool:
        """Evaluate a signature rule that lives outside the tree (e.g. a chaincode's)."""
        return self._compile(rule).evaluate(identities, self._checker)

    def _compile(self, rule: SignatureRule) -> CompiledPolicy:
        compiled = self._compiled.get(rule)
        if compiled is None:
            if len(self._compiled) >= _COMPILED_CACHE_SIZE:
                self._compiled.pop(next(iter(self._compiled)))
            compiled = self._compiled[rule] = CompiledPolicy(rule)
        return compiled

    def _evaluate(self, group: PolicyGroup, policy: Policy, path: str, identities: Sequence[Identity]) -> Verdict:
        if not isinstance(policy, ImplicitMeta):
            if self.evaluate_rule(policy, identities):
                return Verdict(True)
            return Verdict(False, f"policy {path} ({policy}) is not satisfied by {_describe(identities)}")
        names = sorted(group.groups)
        satisfied = []
        for name in names:
            sub_group = group.groups[name]
            sub_policy = sub_group.policies.get(policy.sub_policy)
            sub_path = f"{path.rsplit('/', 1)[0]}/{name}/{policy.sub_policy}"
            if sub_policy is not None and self._evaluate(sub_group, sub_policy, sub_path, identities):
                satisfied.append(name)
        needed = policy.rule.threshold(len(names))
        if len(satisfied) >= needed:
            return Verdict(True)
        return Verdict(
            False,
            f"policy {path} ({policy}) is not satisfied: {needed} of the {len(names)} "
            f"{policy.sub_policy} sub-policies of {group.name} are needed, "
            f"{len(satisfied)} satisfied ({', '.join(satisfied) or 'none'}) by {_describe(identities)}",
        )


def _describe(identities: Sequence[Identity]) -> str:
    if not identities:
        return "no signer"
    names = sorted({f"{i.msp_id}:{i.common_name}" for i in identities})
    return "signers " + ", ".join(names)
