"""Which endorsement policies a transaction must satisfy, as Fabric's validator decides.

For every namespace the transaction writes (and the chaincode it invoked, even when it
writes nothing): each written key that carries a key-level policy (state-based
endorsement, its VALIDATION_PARAMETER metadata) needs that policy, and the chaincode's
own policy is needed once if any written key has none, or if nothing is written. A
private key without a key-level policy needs its collection's endorsement policy when
the collection has one, else the chaincode's. (Private keys are named by the hex of
their hash, in the collection's hashed state namespace, as `peer.ledger.pvtdata` says.) The
validator checks the endorsements against this list; the gateway reads it before
choosing endorsers, so a transaction touching such keys is endorsed by who they need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fabric_protos.peer import collection_pb2

from consortia.lifecycle.definition import endorsement_rule
from consortia.policy import SignatureRule
from peer.ledger.pvtdata import hashed_ns
from peer.ledger.rwset import VALIDATION_PARAMETER, TxRWSet
from peer.ledger.statedb import StateReader

Rule = SignatureRule | str


def no_collection_policy(namespace: str, collection: str) -> Rule | None:
    return None


def collection_rule(config: collection_pb2.StaticCollectionConfig) -> Rule | None:
    """A collection's own endorsement policy, if it has one (DefinitionError if unreadable)."""
    if not config.HasField("endorsement_policy"):
        return None
    return endorsement_rule(config.endorsement_policy.SerializeToString())


@dataclass(frozen=True)
class RequiredPolicy:
    policy: SignatureRule | str  # a rule, or the path of a channel policy
    description: str  # for a person, e.g. "key-level policy OR('Org2MSP.peer') of 'k' in cc"


def required_policies(
    rwset: TxRWSet,
    chaincode: str,
    policy_for: Callable[[str], SignatureRule | str],
    key_policy: Callable[[str, str], SignatureRule | None],
    collection_policy: Callable[[str, str], Rule | None] = no_collection_policy,
) -> list[RequiredPolicy]:
    """The policies in the order the validator checks them (its first failure is reported)."""
    by_ns = {ns.namespace: ns for ns in rwset.namespaces}
    namespaces = [chaincode] + [n for n, ns in by_ns.items() if ns.writes_anything and n != chaincode]
    needed: list[RequiredPolicy] = []
    for namespace in namespaces:
        chaincode_policy = policy_for(namespace)
        fallback = RequiredPolicy(chaincode_policy, f"endorsement policy of {namespace} ({chaincode_policy})")
        ns = by_ns.get(namespace)
        # (state namespace, key, what the key needs when it has no policy of its own, its name)
        written = [(namespace, key, fallback, repr(key)) for key in dict.fromkeys(ns.written_keys)] if ns else []
        for coll in ns.collections if ns else ():
            own = collection_policy(namespace, coll.collection)
            coll_fallback = fallback if own is None else RequiredPolicy(
                own, f"endorsement policy of collection {coll.collection} of {namespace} ({own})")
            written.extend((hashed_ns(namespace, coll.collection), key_hash.hex(), coll_fallback,
                            f"private key {key_hash.hex()[:16]}… of collection {coll.collection}")
                           for key_hash in dict.fromkeys(coll.written_key_hashes))
        fallbacks: list[RequiredPolicy] = []
        for state_ns, key, key_fallback, name in written:
            rule = key_policy(state_ns, key)
            if rule is not None:
                needed.append(RequiredPolicy(rule, f"key-level policy {rule} of {name} in {namespace}"))
            elif key_fallback not in fallbacks:
                needed.append(key_fallback)
                fallbacks.append(key_fallback)
        if not written:
            needed.append(fallback)
    return needed


def validation_parameter(state: StateReader, namespace: str, key: str) -> bytes | None:
    """The committed key-level policy of a key (SignaturePolicyEnvelope bytes), if any."""
    current = state.get(namespace, key)
    if current is None:
        return None
    return current.metadata_entries().get(VALIDATION_PARAMETER) or None
