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
so the search works on how many of each such class remain, not on which ones; and
once no principal later in the policy can use a class, its count is forgotten, so the
states of a gate over many organizations (a majority of 20 orgs' peers) do not multiply.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from consortia.msp.identity import Identity, Role
from consortia.policy.model import Principal, SignatureRule, principals_of


# Work (states visited and compared) the exact search may do before it falls back to
# Fabric's greedy evaluation: a few tens of milliseconds.
_STATE_BUDGET = 100000


class PrincipalChecker(Protocol):
    """Decides whether an identity satisfies `msp_id.role` (an `MSPManager` does)."""

    def satisfies(self, identity: Identity, msp_id: str, role: Role) -> bool: ...


# A compiled rule: a leaf is the index of a distinct principal; a gate is
# (n, children, later) where later[j] is the bit mask of the principals that occur after
# child j anywhere in the policy (in document order).
_Node = int | tuple[int, tuple["_Node", ...], tuple[int, ...]]
_Counts = tuple[int, ...]


@dataclass(frozen=True)
class CompiledPolicy:
    """A signature rule prepared for repeated evaluation."""

    rule: SignatureRule
    principals: tuple[Principal, ...] = field(init=False)
    _root: _Node = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[Principal, int] = {}
        for principal in principals_of(self.rule):
            index.setdefault(principal, len(index))

        def build(rule: SignatureRule, after: int) -> tuple[_Node, int]:
            """Compile `rule`, given the principals after it; add its own to them."""
            if isinstance(rule, Principal):
                return index[rule], after | 1 << index[rule]
            children: list[_Node] = []
            later: list[int] = []
            for sub in reversed(rule.rules):
                later.append(after)
                child, after = build(sub, after)
                children.append(child)
            return (rule.n, tuple(reversed(children)), tuple(reversed(later))), after

        root, _ = build(self.rule, 0)
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "principals", tuple(index))

    def evaluate(self, identities: Iterable[Identity], checker: PrincipalChecker) -> bool:
        """True when distinct identities among `identities` satisfy the rule."""
        unique = list({i.serialized: i for i in identities}.values())
        # Which principals each identity satisfies, as a bit mask over self.principals.
        satisfied = [
            sum(1 << bit for bit, p in enumerate(self.principals) if checker.satisfies(identity, p.msp_id, p.role))
            for identity in unique
        ]
        classes: dict[int, int] = {}
        for mask in satisfied:
            if mask:
                classes[mask] = classes.get(mask, 0) + 1
        try:
            return _satisfiable(self._root, tuple(classes), tuple(classes.values()))
        except _TooHard:
            # A policy tangled enough to exhaust the budget gets Fabric's own answer:
            # deterministic, so every peer still agrees, and never more permissive.
            return _greedy(self._root, satisfied, [False] * len(satisfied))


def _satisfiable(root: _Node, masks: Sequence[int], counts: _Counts) -> bool:
    """Search for an assignment, over counts of interchangeable identities per class."""
    memo: dict[tuple[int, _Counts], frozenset[_Counts]] = {}
    budget = [_STATE_BUDGET]

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
            n, children, later = node
            # layers[k]: states reachable having satisfied k of the children seen so far.
            layers: list[set[_Counts]] = [{remaining}] + [set() for _ in range(n)]
            for child, live in zip(children, later):
                for k in range(n - 1, -1, -1):
                    budget[0] -= len(layers[k])
                    if budget[0] < 0:
                        raise _TooHard
                    for state in list(layers[k]):
                        layers[k + 1].update(outcomes(child, state))
                # Nothing after this child can use a class outside `live`: forget its count.
                spent = [c for c, mask in enumerate(masks) if not mask & live]
                for k in range(n + 1):
                    layers[k] = _undominated({_forget(state, spent) for state in layers[k]}, budget)
            result = frozenset(layers[n])
        memo[key] = result
        return result

    return bool(outcomes(root, counts))


class _TooHard(Exception):
    """The exact search would take more than its state budget."""


def _greedy(node: _Node, satisfied: Sequence[int], used: list[bool]) -> bool:
    """Fabric's evaluator: principals take the first unused identity that satisfies
    them, left to right; a gate keeps a child's choices only if the child holds."""
    if isinstance(node, int):
        bit = 1 << node
        for index, mask in enumerate(satisfied):
            if not used[index] and mask & bit:
                used[index] = True
                return True
        return False
    n, children, _ = node
    verified = 0
    for child in children:
        trial = list(used)
        if _greedy(child, satisfied, trial):
            verified += 1
            used[:] = trial
    return verified >= n


def _forget(state: _Counts, spent: Sequence[int]) -> _Counts:
    """`state` with the counts of the `spent` classes set to zero."""
    if not spent:
        return state
    counts = list(state)
    for c in spent:
        counts[c] = 0
    return tuple(counts)


def _undominated(states: set[_Counts], budget: list[int]) -> set[_Counts]:
    """Drop states that leave no more of any class than another state does.

    Each comparison is charged to `budget`; _TooHard when it runs out.
    """
    if len(states) < 2:
        return states
    ordered = sorted(states, key=sum, reverse=True)
    kept: list[_Counts] = []
    for state in ordered:
        budget[0] -= len(kept)
        if budget[0] < 0:
            raise _TooHard
        if not any(all(a >= b for a, b in zip(other, state)) for other in kept):
            kept.append(state)
    return set(kept)


def evaluate(rule: SignatureRule, identities: Iterable[Identity], checker: PrincipalChecker) -> bool:
    """One-off evaluation; compile once with `CompiledPolicy` when a rule is reused."""
    return CompiledPolicy(rule).evaluate(identities, checker)

