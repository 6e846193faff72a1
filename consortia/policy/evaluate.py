"""Evaluate a signature policy over a set of identities that signed.

Fabric's rule: one identity counts at most once. `AND('A.member', 'A.peer')` needs two
different identities of A even though a peer is also a member. The identities passed
in must already be verified (their signatures checked); duplicates are ignored.

Fabric's own evaluator hands identities to principals greedily, left to right, and so
may refuse a set of signers that *could* satisfy the policy under another assignment
(signers A.peer and A.client for `AND('A.member', 'A.peer')`). We answer the exact
question instead: is there an assignment of distinct identities to principals that
satisfies the policy? Every set Fabric accepts, we accept.

How it stays cheap even for hostile inputs (a transaction may carry hundreds of
endorsements): identities that satisfy exactly the same principals are interchangeable,
so the search works on how many of each such class remain, not on which ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from consortia.msp.identity import Identity, Role
from consortia.policy.model import Principal, SignatureRule


class PrincipalChecker(Protocol):
    """Decides whether an identity satisfies `msp_id.role` (an `MSPManager` does)."""

    def satisfies(self, identity: Identity, msp_id: str, role: Role) -> bool: ...


# A compiled rule: a leaf is the index of a distinct principal; a gate is (n, children).
_Node = int | tuple[int, tuple["_Node", ...]]
_Counts = tuple[int, ...]


@dataclass(frozen=True)
class CompiledPolicy:
    """A signature rule prepared for repeated evaluation."""

    rule: SignatureRule
    principals: tuple[Principal, ...] = field(init=False)
    _root: _Node = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[Principal, int] = {}

        def build(rule: SignatureRule) -> _Node:
            if isinstance(rule, Principal):
                return index.setdefault(rule, len(index))
            return (rule.n, tuple(build(r) for r in rule.rules))

        root = build(self.rule)
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "principals", tuple(index))

    def evaluate(self, identities: Iterable[Identity], checker: PrincipalChecker) -> bool:
        """True when distinct identities among `identities` satisfy the rule."""
        unique = list({i.serialized: i for i in identities}.values())
        # Which principals each identity satisfies, as a bit mask over self.principals.
        classes: dict[int, int] = {}
        for identity in unique:
            mask = 0
            for bit, p in enumerate(self.principals):
                if checker.satisfies(identity, p.msp_id, p.role):
                    mask |= 1 << bit
            if mask:
                classes[mask] = classes.get(mask, 0) + 1
        return _satisfiable(self._root, tuple(classes), tuple(classes.values()))


def _satisfiable(root: _Node, masks: Sequence[int], counts: _Counts) -> bool:
    """Search for an assignment, over counts of interchangeable identities per class."""
    memo: dict[tuple[int, _Counts], frozenset[_Counts]] = {}

    def outcomes(node: _Node, remaining: _Counts) -> frozenset[_Counts]:
        """Every (undominated) `remaining` that can be left after satisfying `node`."""
        key = (id(node), remaining)
        found = memo.get(key)
        if found is not None:
            return found
        if isinstance(node, int):
            bit = 1 << node
            result = frozenset(
                remaining[:c] + (remaining[c] - 1,) + remaining[c + 1 :]
                for c, mask in enumerate(masks)
                if mask & bit and remaining[c] > 0
            )
        else:
            n, children = node
            # layers[k]: states reachable having satisfied k of the children seen so far.
            layers: list[set[_Counts]] = [{remaining}] + [set() for _ in range(n)]
            for child in children:
                for k in range(n - 1, -1, -1):
                    for state in list(layers[k]):
                        layers[k + 1].update(outcomes(child, state))
                    layers[k + 1] = _undominated(layers[k + 1])
            result = frozenset(layers[n])
        memo[key] = result
        return result

    return bool(outcomes(root, counts))


def _undominated(states: set[_Counts]) -> set[_Counts]:
    """Drop states that leave no more of any class than another state does."""
    if len(states) < 2:
        return states
    ordered = sorted(states, key=sum, reverse=True)
    kept: list[_Counts] = []
    for state in ordered:
        if not any(all(a >= b for a, b in zip(other, state)) for other in kept):
            kept.append(state)
    return set(kept)


def evaluate(rule: SignatureRule, identities: Iterable[Identity], checker: PrincipalChecker) -> bool:
    """One-off evaluation; compile once with `CompiledPolicy` when a rule is reused."""
    return CompiledPolicy(rule).evaluate(identities, checker)

