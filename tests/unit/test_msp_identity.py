"""Identities on the wire: `SerializedIdentity{mspid, PEM}` decoded into an `Identity`.

Decoding keeps the received bytes exactly, refuses malformed input with a reason, and
reads what chaincode and policies need from the certificate: role OUs, common name,
Fabric CA attributes, and a P-256 public key.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from fabric_protos.msp import identities_pb2

from consortia.errors import IdentityError
from consortia.msp.ca import CertificateAuthority
from consortia.msp.identity import ATTRIBUTES_OID, deserialize_identity, serialize_identity
from tests.support.identities import SampleOrg

pytestmark = pytest.mark.unit


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out) + bytes([n])


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field, encoded by hand."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _sid(mspid: str = "Org1MSP", id_bytes: bytes = b"") -> bytes:
    return bytes(identities_pb2.SerializedIdentity(mspid=mspid, id_bytes=id_bytes).SerializeToString())


def _hand_made_cert(
    ca: CertificateAuthority,
    public_key: object,
    extensions: list[x509.ExtensionType] | None = None,
) -> x509.Certificate:
    """A client certificate for `public_key`, issued by `ca`, built without `ca.issue`."""
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "client"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "hand-made"),
                ]
            )
        )
        .issuer_name(ca.certificate.subject)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    for ext in extensions or []:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(ca.key, hashes.SHA256())


def _identity_of(cert: x509.Certificate, msp_id: str = "Org1MSP"):  # type: ignore[no-untyped-def]
    return deserialize_identity(serialize_identity(msp_id, cert.public_bytes(serialization.Encoding.PEM)))


def test_round_trip_keeps_msp_id_certificate_and_bytes(org1: SampleOrg) -> None:
    pair = org1.ca.issue("user1@org1", organizational_units=["client"])
    serialized = serialize_identity("Org1MSP", pair.certificate_pem)
    identity = deserialize_identity(serialized)
    assert identity.msp_id == "Org1MSP"
    assert identity.certificate == pair.certificate
    assert identity.serialized is serialized
    assert identity.certificate_pem == pair.certificate_pem


def test_serialized_bytes_are_kept_even_when_not_canonical(org1: SampleOrg) -> None:
    # Fields in reverse order parse fine, but re-serializing would reorder them: the
    # identity must keep the bytes it was given, because those are the bytes signed.
    pem = org1.identity("client").identity.certificate_pem
    reordered = _field(2, pem) + _field(1, b"Org1MSP")
    assert reordered != serialize_identity("Org1MSP", pem)
    identity = deserialize_identity(reordered)
    assert identity.serialized == reordered
    assert identity.msp_id == "Org1MSP"
    assert identity.certificate_pem == pem


def test_identities_are_equal_when_their_bytes_are(org1: SampleOrg) -> None:
    serialized = org1.identity("peer").serialize()
    a, b = deserialize_identity(serialized), deserialize_identity(serialized)
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != org1.identity("peer").identity


def test_identity_reads_subject_and_fingerprint(org1: SampleOrg) -> None:
    identity = org1.identity("admin", "Admin@org1.test").identity
    assert identity.common_name == "Admin@org1.test"
    assert identity.organizational_units == ("admin",)
    der = identity.certificate.public_bytes(serialization.Encoding.DER)
    assert identity.fingerprint == hashlib.sha256(der).hexdigest()


@pytest.mark.parametrize(
    ("serialized", "message"),
    [
        pytest.param(b"not a protobuf", "creator is not a SerializedIdentity", id="garbage"),
        pytest.param(b"\x0a\x05ab", "creator is not a SerializedIdentity", id="truncated"),
        pytest.param(_sid(mspid="", id_bytes=b"-----BEGIN"), "identity has an empty MSP id", id="empty-mspid"),
        pytest.param(_sid(id_bytes=b""), "identity of Org1MSP carries no certificate", id="no-cert"),
        pytest.param(
            _sid(id_bytes=b"hello"),
            "identity of Org1MSP: certificate is not a valid PEM X.509 certificate",
            id="not-pem",
        ),
    ],
)
def test_deserialize_refuses_malformed_identities(serialized: bytes, message: str) -> None:
    with pytest.raises(IdentityError, match=message):
        deserialize_identity(serialized)


def test_deserialize_refuses_a_der_certificate(org1: SampleOrg) -> None:
    der = org1.identity("client").identity.certificate.public_bytes(serialization.Encoding.DER)
    with pytest.raises(IdentityError, match="not a valid PEM X.509 certificate"):
        deserialize_identity(_sid(id_bytes=der))


def test_attributes_come_from_the_fabric_ca_extension(org1: SampleOrg) -> None:
    identity = org1.identity("client", attributes={"role": "emitter", "entity_id": "E1"}).identity
    assert identity.attributes == {"role": "emitter", "entity_id": "E1"}


def test_no_attribute_extension_means_no_attributes(org1: SampleOrg) -> None:
    identity = org1.identity("client").identity
    with pytest.raises(x509.ExtensionNotFound):
        identity.certificate.extensions.get_extension_for_oid(ATTRIBUTES_OID)
    assert identity.attributes == {}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(b"not json", "attribute extension is not valid JSON", id="not-json"),
        pytest.param(b"\xff\xfe", "attribute extension is not valid JSON", id="not-utf8"),
        pytest.param(b'{"other": {}}', "attribute extension is not valid JSON", id="no-attrs-key"),
        pytest.param(b'["attrs"]', "attribute extension is not valid JSON", id="list"),
        pytest.param(b'{"attrs": ["role"]}', "'attrs' must be an object", id="attrs-list"),
    ],
)
def test_malformed_attribute_extension_is_refused(org1: SampleOrg, payload: bytes, message: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _hand_made_cert(org1.ca, key.public_key(), [x509.UnrecognizedExtension(ATTRIBUTES_OID, payload)])
    identity = _identity_of(cert)
    with pytest.raises(IdentityError, match=message):
        _ = identity.attributes


@pytest.mark.parametrize(
    ("make_key", "found"),
    [
        pytest.param(lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "a _?RSAPublicKey", id="rsa"),
        pytest.param(lambda: ec.generate_private_key(ec.SECP384R1()), "an EC key on secp384r1", id="p384"),
    ],
)
def test_key_that_is_not_p256_is_refused(org1: SampleOrg, make_key, found: str) -> None:  # type: ignore[no-untyped-def]
    identity = _identity_of(_hand_made_cert(org1.ca, make_key().public_key()))
    assert identity.organizational_units == ("client",)
    with pytest.raises(IdentityError, match=f"identity of Org1MSP has {found}.*; expected ECDSA on P-256"):
        _ = identity.public_key
    with pytest.raises(IdentityError, match="expected ECDSA on P-256"):
        org1.msp.validate(identity)


def test_p256_key_made_by_hand_is_accepted(org1: SampleOrg) -> None:
    # The control for the test above: the hand-made certificate itself is fine.
    key = ec.generate_private_key(ec.SECP256R1())
    identity = _identity_of(_hand_made_cert(org1.ca, key.public_key()))
    assert identity.public_key.public_numbers() == key.public_key().public_numbers()
    assert org1.msp.validate(identity).label == "client"
