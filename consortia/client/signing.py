"""Who signs a client's messages: the gateway's signer, or someone else, offline.

Every message a client sends to a gateway (proposal, transaction, commit status and
event requests) carries the creator's ECDSA-SHA256 signature over the message bytes.
Connected with a signer (a `consortia.msp.SigningIdentity`, or anything with
`serialize()` and `sign(message)`), the client signs as it goes. Connected with only the
identity's serialized bytes, it leaves every message unsigned: the application hands
each object's `digest()` (the SHA-256 of the bytes to be signed) to whoever holds the
key, say a hardware token or a user's browser, and rebuilds the object with the
signature (`gateway.new_signed_proposal(...)`, ...). Signing the digest "prehashed" is
the same ECDSA operation as signing the message, so peers verify both alike.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from consortia.client.errors import NoSignerError
from consortia.errors import ConsortiaError, SignatureError
from consortia.msp.signing import to_low_s

DIGEST_SIZE = hashlib.sha256().digest_size


class MessageSigner(Protocol):
    """What a gateway signs with: the creator bytes and a signature over a message."""

    def serialize(self) -> bytes:
        """The serialized `msp.SerializedIdentity` that goes into message headers."""
        ...

    def sign(self, message: bytes) -> bytes:
        """A DER ECDSA-SHA256 low-S signature of `message` (hashed by the signer)."""
        ...


def digest(message: bytes) -> bytes:
    """The SHA-256 digest an offline signer signs in place of `message`."""
    return hashlib.sha256(message).digest()


def sign_digest(private_key: ec.EllipticCurvePrivateKey, message_digest: bytes) -> bytes:
    """Sign a SHA-256 digest (prehashed ECDSA) and return a low-S DER signature.

    This is the offline signer of Fabric's Gateway SDKs: `sign_digest(key, p.digest())`
    equals, for verification, `SigningIdentity.sign(p_bytes)`.
    """
    if len(message_digest) != DIGEST_SIZE:
        raise SignatureError(
            f"expected a {DIGEST_SIZE}-byte SHA-256 digest to sign, got {len(message_digest)} bytes"
        )
    return to_low_s(private_key.sign(message_digest, ec.ECDSA(Prehashed(hashes.SHA256()))))


class GatewayIdentity:
    """The gateway's signing identity: creator bytes always, a signer when connected with one."""

    def __init__(self, identity: bytes | None, signer: MessageSigner | None) -> None:
        if signer is not None:
            creator = signer.serialize()
            if identity is not None and identity != creator:
                raise ConsortiaError("the identity given does not match the signer's own identity; give one or the other")
            identity = creator
        if not identity:
            raise ConsortiaError("a gateway needs an identity: give a signer, or the serialized identity for offline signing")
        self.identity = identity
        self.signer = signer

    def sign(self, message: bytes, how_to_sign_offline: str) -> bytes:
        """The signer's signature over `message`; NoSignerError explaining the offline way if none."""
        if self.signer is None:
            raise NoSignerError(
                "this gateway has no signer (it was connected with an identity only), so the "
                f"message is unsigned: sign its digest() offline, then {how_to_sign_offline}"
            )
        return self.signer.sign(message)
