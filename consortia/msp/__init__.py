"""Membership service providers: who an identity is, what role it has, and what it signed.

An organization's MSP is its CA certificate(s) plus Fabric's NodeOU role rules. A
creator on the wire is a `msp.SerializedIdentity{mspid, PEM}`; signatures are DER
ECDSA-SHA256 over P-256, normalised to low-S, exactly as Fabric checks them.
"""

from consortia.msp.identity import Identity, Role, deserialize_identity, serialize_identity
from consortia.msp.manager import MSPManager
from consortia.msp.msp import MSP, NodeOUs
from consortia.msp.signing import SignedData, SigningIdentity, sign, verify_signature, verify_signed_data

__all__ = [
    "MSP",
    "MSPManager",
    "Identity",
    "NodeOUs",
    "Role",
    "SignedData",
    "SigningIdentity",
    "deserialize_identity",
    "serialize_identity",
    "sign",
    "verify_signature",
    "verify_signed_data",
]
