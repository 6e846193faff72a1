"""The shapes of Fabric policies.

A *signature policy* is a tree of threshold gates over principals: `OutOf(n, ...)`
is satisfied when at least n of its items are; `AND` and `OR` are its special cases.
A principal `'Org1MSP.peer'` is satisfied by one valid identity of that MSP with that
role. An *implicit meta policy* (`ANY Writers`, `MAJORITY Endorsement`) is satisfied
when enough of the organizations' own sub-policies of that name are.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from consortia.msp.identity import Role


@dataclass(frozen=True)
class Principal:
    """`'MSPID.role'`: one valid identity of `msp_id` having `role`."""

    msp_id: str
    role: Role

    def __str__(self) -> str:
        return f"'{self.msp_id}.{self.role.label}'"


@dataclass(frozen=True)
class OutOf:
    """At least `n` of `rules` must be satisfied, no identity counting twice."""

    n: int
    rules: tuple[SignatureRule, ...]

    def __str__(self) -> str:
        items = ", ".join(str(r) for r in self.rules)
        if self.n == len(self.rules) and len(self.rules) > 1:
            return f"AND({items})"
        if self.n == 1:
            return f"OR({items})"
        return f"OutOf({self.n}, {items})"


SignatureRule = Principal | OutOf


def principals_of(rule: SignatureRule) -> list[Principal]:
    """Every principal in the rule, in document order (duplicates kept)."""
    if isinstance(rule, Principal):
        return [rule]
    found: list[Principal] = []
    for sub in rule.rules:
        found.extend(principals_of(sub))
    return found


class MetaRule(enum.IntEnum):
    """Fabric's `ImplicitMetaPolicy.Rule`, with the same numbers."""

    ANY = 0
    ALL = 1
    MAJORITY = 2

    def threshold(self, count: int) -> int:
        """How many of `count` sub-policies must hold (Fabric: none needed when there are none)."""
        if count == 0:
            return 0
        if self is MetaRule.ANY:
            return 1
        if self is MetaRule.ALL:
            return count
        return count // 2 + 1


@dataclass(frozen=True)
class ImplicitMeta:
    """`ANY|ALL|MAJORITY <SubPolicy>` over the organizations of a config group."""

    rule: MetaRule
    sub_policy: str

    def __str__(self) -> str:
        return f"{self.rule.name} {self.sub_policy}"


Policy = SignatureRule | ImplicitMeta
