"""ECDSA P-256 signing and verification with Fabric's low-S rule.

ECDSA signatures are malleable: (r, s) and (r, n - s) both verify. Fabric accepts only
the form with s <= n/2 ("low-S") so that a signature, and the transaction id derived
from signed bytes, cannot be altered by a third party. We produce low-S signatures and
refuse high-S ones, with the same rule as Fabric's `bccsp/sw` package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from consortia.errors import SignatureError
from consortia.msp.identity import Identity

# Order of the P-256 group, and half of it: the largest s Fabric accepts.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_HALF_ORDER = P256_ORDER >> 1

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def to_low_s(signature: bytes) -> bytes:
    """Return the low-S form of a DER ECDSA P-256 signature."""
    r, s = decode_dss_signature(signature)
    if s > P256_HALF_ORDER:
        s = P256_ORDER - s
        return encode_dss_signature(r, s)
    return signature


def sign(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """Sign `message` (hashed with SHA-256) and return a low-S DER signature."""
    return to_low_s(key.sign(message, _ECDSA_SHA256))


def verify_signature(public_key: ec.EllipticCurvePublicKey, signature: bytes, message: bytes) -> None:
    """Check a DER ECDSA-SHA256 signature; raise SignatureError if it fails.

    As Fabric: r and s positive, s in low-S form. Stricter than Fabric in one respect:
    bytes after the DER sequence are refused (Fabric's decoder ignores them), so a
    signature has exactly one accepted encoding. Every Fabric client signs plain DER.
    """
    try:
        r, s = decode_dss_signature(signature)
    except ValueError as exc:
        raise SignatureError(f"malformed signature: expected a DER ECDSA signature ({exc})") from exc
    if r <= 0 or s <= 0:
        raise SignatureError("malformed signature: r and s must be positive")
    if s > P256_HALF_ORDER:
        raise SignatureError("signature has a high S value; Fabric accepts only low-S signatures")
    try:
        public_key.verify(signature, message, _ECDSA_SHA256)
    except InvalidSignature as exc:
        raise SignatureError("signature does not verify with the signer's public key") from exc


@dataclass(frozen=True)
class SigningIdentity:
    """An identity together with its private key: what a client or node signs with.

    It provides the two things protoutil needs from a signer: `serialize()`, the creator
    bytes that go into headers, and `sign()`.
    """

    identity: Identity
    private_key: ec.EllipticCurvePrivateKey

    @property
    def msp_id(self) -> str:
        return self.identity.msp_id

    def serialize(self) -> bytes:
        return self.identity.serialized

    def sign(self, message: bytes) -> bytes:
        return sign(self.private_key, message)

    def key_matches_certificate(self) -> bool:
        """Whether the private key is the one the certificate names: only then does every
        signature made with it verify against the identity."""
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        try:
            return bool(self.private_key.public_key().public_bytes(*spki) == self.identity.public_key.public_bytes(*spki))
        except Exception:  # noqa: BLE001 - a key that cannot be compared is not trusted to match
            return False


@dataclass(frozen=True)
class SignedData:
    """Fabric's `SignedData`: bytes, the serialized identity that signed them, the signature.

    Envelopes, endorsements and block signatures all reduce to this; policies are
    evaluated over the identities of SignedData that verified.
    """

    data: bytes
    identity: bytes
    signature: bytes


class IdentityDeserializer(Protocol):
    def deserialize(self, serialized: bytes) -> Identity: ...


def verify_signed_data(signed: SignedData, deserializer: IdentityDeserializer) -> Identity:
    """Decode the signer and check its signature; return the signer (not yet MSP-validated)."""
    identity = deserializer.deserialize(signed.identity)
    verify_signature(identity.public_key, signed.signature, signed.data)
    return identity
