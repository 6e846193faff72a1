"""ECDSA P-256 signatures under Fabric's rules.

We always sign in low-S form, and we refuse every signature Fabric would refuse: high S,
malformed DER, zero r or s, the wrong key, the wrong bytes. `SignedData` ties a signature
to the serialized identity that made it.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from consortia.errors import IdentityError, SignatureError
from consortia.msp.signing import (
    P256_HALF_ORDER,
    P256_ORDER,
    SignedData,
    SigningIdentity,
    sign,
    to_low_s,
    verify_signature,
    verify_signed_data,
)
from tests.support.identities import SampleOrg, manager

pytestmark = pytest.mark.unit

MESSAGE = b"transfer 7 from a to b"


@pytest.fixture(scope="module")
def signer(org1: SampleOrg) -> SigningIdentity:
    return org1.identity("client")


def _high_s(signature: bytes) -> bytes:
    r, s = decode_dss_signature(signature)
    return encode_dss_signature(r, P256_ORDER - s)


def test_sign_always_yields_low_s_signatures_that_verify(signer: SigningIdentity) -> None:
    public_key = signer.identity.public_key
    for i in range(256):
        message = b"message %d" % i
        signature = sign(signer.private_key, message)
        _, s = decode_dss_signature(signature)
        assert 0 < s <= P256_HALF_ORDER
        verify_signature(public_key, signature, message)


def test_to_low_s_flips_a_high_s_and_keeps_a_low_s(signer: SigningIdentity) -> None:
    low = signer.sign(MESSAGE)
    high = _high_s(low)
    assert to_low_s(low) is low
    assert to_low_s(high) == low


def test_high_s_variant_of_a_valid_signature_is_rejected(signer: SigningIdentity) -> None:
    high = _high_s(signer.sign(MESSAGE))
    # Plain ECDSA accepts both forms; only the low-S rule tells them apart.
    signer.identity.public_key.verify(high, MESSAGE, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(SignatureError, match="high S value"):
        verify_signature(signer.identity.public_key, high, MESSAGE)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda sig: sig[:-3], id="truncated"),
        pytest.param(lambda sig: sig + b"\x00", id="trailing-byte"),
        pytest.param(lambda sig: sig + sig, id="two-signatures"),
        pytest.param(lambda sig: b"", id="empty"),
        pytest.param(lambda sig: b"\x30\x00", id="empty-sequence"),
    ],
)
def test_malformed_der_is_rejected(signer: SigningIdentity, mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SignatureError, match="malformed signature: expected a DER ECDSA signature"):
        verify_signature(signer.identity.public_key, mangle(signer.sign(MESSAGE)), MESSAGE)


@pytest.mark.parametrize("zero", ["r", "s"])
def test_zero_r_or_s_is_rejected(signer: SigningIdentity, zero: str) -> None:
    r, s = decode_dss_signature(signer.sign(MESSAGE))
    signature = encode_dss_signature(0, s) if zero == "r" else encode_dss_signature(r, 0)
    with pytest.raises(SignatureError, match="r and s must be positive"):
        verify_signature(signer.identity.public_key, signature, MESSAGE)


def test_signature_by_another_key_is_rejected(signer: SigningIdentity, org1: SampleOrg) -> None:
    other = org1.identity("client", "other@org1")
    with pytest.raises(SignatureError, match="does not verify with the signer's public key"):
        verify_signature(signer.identity.public_key, other.sign(MESSAGE), MESSAGE)


def test_signature_over_other_bytes_is_rejected(signer: SigningIdentity) -> None:
    with pytest.raises(SignatureError, match="does not verify with the signer's public key"):
        verify_signature(signer.identity.public_key, signer.sign(MESSAGE), MESSAGE + b"!")


def test_signing_identity_serializes_to_its_identity_bytes(signer: SigningIdentity) -> None:
    assert signer.serialize() == signer.identity.serialized
    assert signer.msp_id == "Org1MSP"


def test_verify_signed_data_returns_the_signer(signer: SigningIdentity, org1: SampleOrg) -> None:
    signed = SignedData(data=MESSAGE, identity=signer.serialize(), signature=signer.sign(MESSAGE))
    identity = verify_signed_data(signed, manager(org1))
    assert identity == signer.identity
    assert identity.certificate == signer.identity.certificate


def test_verify_signed_data_with_a_bad_identity_blob(signer: SigningIdentity, org1: SampleOrg) -> None:
    signed = SignedData(data=MESSAGE, identity=b"not a protobuf", signature=signer.sign(MESSAGE))
    with pytest.raises(IdentityError, match="creator is not a SerializedIdentity"):
        verify_signed_data(signed, manager(org1))


def test_verify_signed_data_with_an_identity_of_an_unknown_msp(signer: SigningIdentity, org2: SampleOrg) -> None:
    signed = SignedData(data=MESSAGE, identity=signer.serialize(), signature=signer.sign(MESSAGE))
    with pytest.raises(IdentityError, match="'Org1MSP' is not known here"):
        verify_signed_data(signed, manager(org2))


def test_verify_signed_data_checks_the_signature_against_the_claimed_identity(
    signer: SigningIdentity, org1: SampleOrg
) -> None:
    impostor = org1.identity("client", "impostor@org1")
    signed = SignedData(data=MESSAGE, identity=signer.serialize(), signature=impostor.sign(MESSAGE))
    with pytest.raises(SignatureError, match="does not verify"):
        verify_signed_data(signed, manager(org1))
