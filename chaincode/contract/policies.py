"""Key-level endorsement policies, built in the chaincode as Fabric's policydsl builds them.

A contract that gives a key its own policy (`set_state_validation_parameter`) passes a
serialized SignaturePolicyEnvelope. A rule here is an MSP id (a peer of it) or
`(n, [rules])` for OutOf(n, ...); the envelope numbers principals as policydsl does
(the principals of nested gates first, then a gate's own, none shared), so the bytes
equal those of the same policy written as text and parsed by the peer.
"""

from __future__ import annotations

from typing import Union

from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2

Rule = Union[str, tuple[int, list["Rule"]]]


def envelope(rule: Rule) -> bytes:
    identities: list[msp_principal_pb2.MSPPrincipal] = []

    def signed_by(msp: str) -> policies_pb2.SignaturePolicy:
        role = msp_principal_pb2.MSPRole(msp_identifier=msp, role=msp_principal_pb2.MSPRole.PEER)
        identities.append(msp_principal_pb2.MSPPrincipal(
            principal_classification=msp_principal_pb2.MSPPrincipal.ROLE, principal=role.SerializeToString()))
        return policies_pb2.SignaturePolicy(signed_by=len(identities) - 1)

    def gate(n: int, rules: list[Rule]) -> policies_pb2.SignaturePolicy:
        built: list[policies_pb2.SignaturePolicy | None] = [
            None if isinstance(sub, str) else gate(*sub) for sub in rules]
        for index, sub in enumerate(rules):
            if isinstance(sub, str):
                built[index] = signed_by(sub)
        return policies_pb2.SignaturePolicy(n_out_of=policies_pb2.SignaturePolicy.NOutOf(
            n=n, rules=[b for b in built if b is not None]))

    root = signed_by(rule) if isinstance(rule, str) else gate(*rule)
    return bytes(policies_pb2.SignaturePolicyEnvelope(version=0, rule=root, identities=identities)
                 .SerializeToString())


def peers_of(*msp_ids: str) -> bytes:
    """AND of a peer of every one of `msp_ids`."""
    return envelope((len(msp_ids), list(msp_ids)))


def any_peer_of(*msp_ids: str) -> bytes:
    """OR of a peer of any one of `msp_ids`."""
    return envelope((1, list(msp_ids)))
