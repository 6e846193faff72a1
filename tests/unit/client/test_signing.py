"""Offline signing: a signature over the digest verifies as one over the message."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from consortia.client import NoSignerError, sign_digest
from consortia.client.signing import GatewayIdentity, digest
from consortia.errors import ConsortiaError, SignatureError
from consortia.msp.signing import P256_HALF_ORDER, verify_signature
from tests.support.identities import SampleOrg

pytestmark = pytest.mark.unit


def test_digest_is_sha256() -> None:
    assert digest(b"proposal bytes") == hashlib.sha256(b"proposal bytes").digest()


def test_signing_the_digest_verifies_over_the_message(org1: SampleOrg) -> None:
    user = org1.identity("client")
    message = b"the bytes a peer verifies"
    signature = sign_digest(user.private_key, digest(message))
    verify_signature(user.identity.public_key, signature, message)  # raises if not
    with pytest.raises(SignatureError):
        verify_signature(user.identity.public_key, signature, message + b"!")


def test_offline_signatures_are_low_s(org1: SampleOrg) -> None:
    # Half of raw ECDSA signatures are high-S, which Fabric refuses; 40 tries catch a missing fix.
    key = org1.identity("client").private_key
    for index in range(40):
        _, s = decode_dss_signature(sign_digest(key, digest(bytes([index]))))
        assert s <= P256_HALF_ORDER


def test_sign_digest_refuses_what_is_not_a_sha256_digest(org1: SampleOrg) -> None:
    with pytest.raises(SignatureError, match="32-byte SHA-256 digest.*got 14 bytes"):
        sign_digest(org1.identity("client").private_key, b"not-a-digest!!")


def test_gateway_identity_comes_from_the_signer(org1: SampleOrg) -> None:
    user = org1.identity("client")
    assert GatewayIdentity(None, user).identity == user.serialize()
    assert GatewayIdentity(user.serialize(), None).signer is None


def test_gateway_identity_refuses_a_mismatch_or_nothing(org1: SampleOrg) -> None:
    user, other = org1.identity("client"), org1.identity("client", "other")
    with pytest.raises(ConsortiaError, match="does not match the signer"):
        GatewayIdentity(other.serialize(), user)
    with pytest.raises(ConsortiaError, match="needs an identity"):
        GatewayIdentity(None, None)


def test_without_a_signer_signing_explains_the_offline_way(org1: SampleOrg) -> None:
    identity = GatewayIdentity(org1.identity("client").serialize(), None)
    with pytest.raises(NoSignerError, match=r"sign its digest\(\) offline, then do this"):
        identity.sign(b"message", "do this")
