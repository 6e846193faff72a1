"""Which endorsement policies a transaction must satisfy, as Fabric's validator decides.

For every namespace the transaction writes (and the chaincode it invoked, even when it
writes nothing): each written key that carries a key-level policy (state-based
endorsement, its VALIDATION_PARAMETER metadata) needs that policy, and the chaincode's
own policy is needed once if any written key has none, or if nothing is written. The
validator checks the endorsements against this list; the gateway reads it before
choosing endorsers, so a transaction touching such keys is endorsed by who they need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from consortia.policy import SignatureRule
from peer.ledger.rwset import VALIDATION_PARAMETER, TxRWSet
from peer.ledger.statedb import StateReader


@dataclass(frozen=True)
class RequiredPolicy:
    policy: SignatureRule | str  # a rule, or the path of a channel policy
    description: str  # for a person, e.g. "key-level policy OR('Org2MSP.peer') of 'k' in cc"


def required_policies(
    rwset: TxRWSet,
    chaincode: str,
    policy_for: Callable[[str], SignatureRule | str],
    key_policy: Callable[[str, str], SignatureRule | None],
) -> list[RequiredPolicy]:
    """The policies in the order the validator checks them (its first failure is reported)."""
    by_ns = {ns.namespace: ns for ns in rwset.namespaces}
    namespaces = [chaincode] + [n for n, ns in by_ns.items() if ns.written_keys and n != chaincode]
    needed: list[RequiredPolicy] = []
    for namespace in namespaces:
        chaincode_policy = policy_for(namespace)
        chaincode_needed = False
        ns = by_ns.get(namespace)
        keys = list(dict.fromkeys(ns.written_keys)) if ns else []
        for key in keys:
            rule = key_policy(namespace, key)
            if rule is not None:
                needed.append(RequiredPolicy(rule, f"key-level policy {rule} of {key!r} in {namespace}"))
            elif not chaincode_needed:
                needed.append(RequiredPolicy(chaincode_policy, f"endorsement policy of {namespace} ({chaincode_policy})"))
                chaincode_needed = True
        if not keys:
            needed.append(RequiredPolicy(chaincode_policy, f"endorsement policy of {namespace} ({chaincode_policy})"))
    return needed


def validation_parameter(state: StateReader, namespace: str, key: str) -> bytes | None:
    """The committed key-level policy of a key (SignaturePolicyEnvelope bytes), if any."""
    current = state.get(namespace, key)
    if current is None:
        return None
    return current.metadata_entries().get(VALIDATION_PARAMETER) or None
