"""Which organizations must endorse a transaction: endorsement layouts from a policy.

A *layout* says how many distinct peers of each organization must endorse for the
policy to be satisfied, e.g. {Org1MSP: 1, Org2MSP: 1} for
`AND('Org1MSP.peer', 'Org2MSP.peer')`. A policy usually has several (a MAJORITY of
three orgs has three); the gateway tries them in order of preference until one is
fully endorsed. This is what Fabric's discovery service computes for its gateway;
here it comes from the policy itself and the channel's configuration.

A peer's endorsement satisfies a principal of its org with role `peer` or `member`,
never `admin`, `client` or `orderer`, so a policy that needs those yields no layout.
Within a signature rule one identity counts once (Fabric's rule), so the counts of an
AND add up: `AND('A.peer', 'A.member')` needs two peers of A. The sub-policies of an
implicit meta policy are evaluated each over the same signers, so their layouts merge
by taking the larger count per org instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from consortia.msp.identity import Role
from consortia.policy import (
    ImplicitMeta,
    OutOf,
    Policy,
    PolicyGroup,
    Principal,
    SignatureRule,
)

# Beyond this many alternatives a policy's smallest layouts are kept; real endorsement
# policies have a few dozen at most (a MAJORITY of 11 orgs: 462 before trimming).
MAX_LAYOUTS = 512
# Combinations one threshold may try: wide nested policies are enumerated only in
# part (every layout found is still sound), so planning stays a matter of milliseconds.
MAX_COMBINATIONS = 20_000

_ENDORSER_ROLES = (Role.PEER, Role.MEMBER)


@dataclass(frozen=True, order=True)
class Layout:
    """Distinct endorsing peers needed per MSP id, as sorted (msp_id, count) pairs."""

    needs: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> Layout:
        return cls(tuple(sorted((m, c) for m, c in counts.items() if c > 0)))

    @property
    def size(self) -> int:
        return sum(c for _, c in self.needs)

    def count(self, msp_id: str) -> int:
        return dict(self.needs).get(msp_id, 0)

    def orgs(self) -> list[str]:
        return [m for m, _ in self.needs]

    def covers(self, other: Layout) -> bool:
        """Whether this layout asks at least as much of every org as `other`."""
        mine = dict(self.needs)
        return all(mine.get(m, 0) >= c for m, c in other.needs)

    def __str__(self) -> str:
        return " + ".join(f"{c} of {m}" if c > 1 else m for m, c in self.needs) or "nobody"


def _add(a: Layout, b: Layout) -> Layout:
    counts = dict(a.needs)
    for m, c in b.needs:
        counts[m] = counts.get(m, 0) + c
    return Layout.of(counts)


def _merge(a: Layout, b: Layout) -> Layout:
    counts = dict(a.needs)
    for m, c in b.needs:
        counts[m] = max(counts.get(m, 0), c)
    return Layout.of(counts)


def _minimal(layouts: Iterable[Layout]) -> list[Layout]:
    """Drop layouts that ask for more than another one does; keep the smallest few.

    Only a smaller layout can be covered by another (of equal size, covering means
    equal), so each is compared with the strictly smaller ones kept: the many
    same-size layouts of a wide threshold cost nothing.
    """
    ordered = sorted(set(layouts), key=lambda layout: (layout.size, layout))
    kept: list[Layout] = []
    smaller = 0  # kept[:smaller] are strictly smaller than the current size
    for layout in ordered:
        if len(kept) >= MAX_LAYOUTS:
            break
        while smaller < len(kept) and kept[smaller].size < layout.size:
            smaller += 1
        if not any(layout.covers(k) for k in kept[:smaller]):
            kept.append(layout)
    return kept


def _threshold(n: int, options: list[list[Layout]], combine: Callable[[Layout, Layout], Layout],
               fits: Callable[[Layout], bool]) -> list[Layout]:
    """Layouts satisfying n of the items, each item having its own alternatives (only
    those that `fits`, so impossible combinations are dropped as early as possible)."""
    usable = [alternatives for alternatives in options if alternatives]
    if n <= 0:
        return [Layout(())]
    if n > len(usable):
        return []
    found: list[Layout] = []
    budget = MAX_COMBINATIONS
    for chosen in itertools.combinations(usable, n):
        if budget <= 0:
            break
        for picks in itertools.product(*chosen):
            budget -= 1
            if budget < 0:
                break
            total = Layout(())
            for pick in picks:
                total = combine(total, pick)
            if fits(total):
                found.append(total)
        if len(found) > 8 * MAX_LAYOUTS:
            found = _minimal(found)
    return _minimal(found)


def _fits(available: Mapping[str, int] | None) -> Callable[[Layout], bool]:
    if available is None:
        return lambda layout: True
    return lambda layout: all(available.get(m, 0) >= c for m, c in layout.needs)


def rule_layouts(rule: SignatureRule, available: Mapping[str, int] | None = None) -> list[Layout]:
    """The minimal layouts of a signature rule (those `available` peers can fill, when given)."""
    fits = _fits(available)
    if isinstance(rule, Principal):
        layout = Layout.of({rule.msp_id: 1})
        return [layout] if rule.role in _ENDORSER_ROLES and fits(layout) else []
    assert isinstance(rule, OutOf)
    return _threshold(rule.n, [rule_layouts(sub, available) for sub in rule.rules], _add, fits)


def policy_layouts(policy: Policy, group: PolicyGroup, available: Mapping[str, int] | None = None) -> list[Layout]:
    """The minimal layouts of a policy found in `group` (for an implicit meta policy,
    over the group's subgroups, as Fabric evaluates it)."""
    if not isinstance(policy, ImplicitMeta):
        return rule_layouts(policy, available)
    names = sorted(group.groups)
    options = []
    for name in names:
        sub_group = group.groups[name]
        sub_policy = sub_group.policies.get(policy.sub_policy)
        options.append(policy_layouts(sub_policy, sub_group, available) if sub_policy is not None else [])
    return _threshold(policy.rule.threshold(len(names)), options, _merge, _fits(available))


def all_of(options: list[list[Layout]], available: Mapping[str, int] | None = None) -> list[Layout]:
    """Layouts satisfying every one of several policies at once (each over the same
    endorsers, as the validator checks a key-level policy and the chaincode's)."""
    return _threshold(len(options), options, _merge, _fits(available))


def preferred(layouts: Iterable[Layout], available: Mapping[str, int], first_org: str) -> list[Layout]:
    """The layouts the channel's peers can fill, best first: those including the
    gateway's own organization (its endorsement is already in hand), then the smallest."""
    possible = [layout for layout in layouts if all(available.get(m, 0) >= c for m, c in layout.needs)]
    return sorted(possible, key=lambda layout: (layout.count(first_org) == 0, layout.size, layout))
