"""Fabric's policy language: parse, convert to and from protobuf, evaluate.

One parser and one evaluator serve endorsement validation, channel access
(Readers/Writers/Admins), lifecycle approval and block validation.
"""

from consortia.policy.envelope import (
    from_envelope,
    from_policy_proto,
    signature_policy_bytes,
    signature_policy_from_bytes,
    to_envelope,
    to_policy_proto,
)
from consortia.policy.evaluation import CompiledPolicy, PrincipalChecker, evaluate
from consortia.policy.manager import PolicyGroup, PolicyManager, Verdict
from consortia.policy.model import ImplicitMeta, MetaRule, OutOf, Policy, Principal, SignatureRule, principals_of
from consortia.policy.parser import parse_policy, parse_signature_policy

__all__ = [
    "CompiledPolicy",
    "ImplicitMeta",
    "MetaRule",
    "OutOf",
    "Policy",
    "PolicyGroup",
    "PolicyManager",
    "Principal",
    "PrincipalChecker",
    "SignatureRule",
    "Verdict",
    "evaluate",
    "from_envelope",
    "from_policy_proto",
    "parse_policy",
    "parse_signature_policy",
    "principals_of",
    "signature_policy_bytes",
    "signature_policy_from_bytes",
    "to_envelope",
    "to_policy_proto",
]
