"""Certificate authorities and Fabric's on-disk `msp/` folder.

The CA issues certificates shaped like cryptogen's: a self-signed P-256 root, signing
certificates with the role OU in the subject, TLS certificates with SANs and both
TLS usages. The layout module reads an `msp/` folder back into an MSP and a signing
identity, and names the file at fault when the folder is wrong.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from consortia.errors import IdentityError
from consortia.msp.ca import (
    DEFAULT_LIFETIME,
    CertificateAuthority,
    KeyPair,
    load_private_key_pem,
    new_private_key,
    private_key_pem,
)
from consortia.msp.identity import Role
from consortia.msp.layout import load_msp, load_signing_identity, node_ous_yaml, read_node_ous
from consortia.msp.msp import NodeOUs
from consortia.msp.signing import SignedData, verify_signed_data
from tests.support.identities import SampleOrg

pytestmark = pytest.mark.unit


def _ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension:  # type: ignore[type-arg]
    return cert.extensions.get_extension_for_class(kind)


# --- CertificateAuthority -------------------------------------------------------------------


def test_create_makes_a_self_signed_p256_root_ca() -> None:
    ca = CertificateAuthority.create("ca.example.test", "example.test")
    cert = ca.certificate
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "ca.example.test"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "example.test"
    constraints = _ext(cert, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = _ext(cert, x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and usage.digital_signature
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(cert.public_key().curve, ec.SECP256R1)  # type: ignore[union-attr]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == DEFAULT_LIFETIME


def test_create_honours_not_before_and_lifetime() -> None:
    start = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    ca = CertificateAuthority.create("ca", "org", not_before=start, lifetime=dt.timedelta(days=2))
    assert ca.certificate.not_valid_before_utc == start
    assert ca.certificate.not_valid_after_utc == start + dt.timedelta(days=2)


def test_tls_certificate_has_sans_and_both_tls_usages(org1: SampleOrg) -> None:
    hosts = ["peer0.org1.test", "localhost", "127.0.0.1", "localhost"]
    cert = org1.ca.issue("peer0.org1.test", tls=True, hosts=hosts).certificate
    cert.verify_directly_issued_by(org1.ca.certificate)
    san = _ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["peer0.org1.test", "localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    eku = _ext(cert, x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not _ext(cert, x509.BasicConstraints).value.ca


def test_signing_certificate_has_role_ou_and_no_eku_or_san(org1: SampleOrg) -> None:
    cert = org1.ca.issue("peer0.org1.test", organizational_units=["peer"]).certificate
    cert.verify_directly_issued_by(org1.ca.certificate)
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)] == ["peer"]
    assert cert.issuer == org1.ca.certificate.subject
    for absent in (x509.ExtendedKeyUsage, x509.SubjectAlternativeName):
        with pytest.raises(x509.ExtensionNotFound):
            cert.extensions.get_extension_for_class(absent)
    usage = _ext(cert, x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    ca_ski = _ext(org1.ca.certificate, x509.SubjectKeyIdentifier).value.digest
    assert _ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == ca_ski


def test_issue_for_a_given_key(org1: SampleOrg) -> None:
    key = new_private_key()
    pair = org1.ca.issue("user", key=key)
    assert pair.key is key
    public = pair.certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.public_numbers() == key.public_key().public_numbers()


def test_private_key_pem_round_trip() -> None:
    key = new_private_key()
    pem = private_key_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, as in keystore/priv_sk
    assert load_private_key_pem(pem).private_numbers() == key.private_numbers()


def test_load_private_key_pem_refuses_an_rsa_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="expected an EC private key, found RSA"):
        load_private_key_pem(pem)


# --- msp/ folder -----------------------------------------------------------------------------


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _write_msp(root: Path, org: SampleOrg, signer: KeyPair | None = None, node_ous: bool = True) -> Path:
    """An `msp/` folder as cryptogen lays it out, with `signer` as its local identity."""
    msp = root / "msp"
    _write(msp / "cacerts" / "ca-cert.pem", org.ca.certificate_pem)
    if node_ous:
        _write(msp / "config.yaml", node_ous_yaml("cacerts/ca-cert.pem"))
    if signer is not None:
        _write(msp / "signcerts" / "cert.pem", signer.certificate_pem)
        _write(msp / "keystore" / "priv_sk", signer.key_pem)
    return msp


def test_load_msp_and_signing_identity(tmp_path: Path, org1: SampleOrg) -> None:
    pair = org1.ca.issue("peer0.org1.test", organizational_units=["peer"])
    folder = _write_msp(tmp_path, org1, pair)

    msp = load_msp(folder, "Org1MSP")
    signer = load_signing_identity(folder, "Org1MSP")

    assert msp.msp_id == "Org1MSP"
    assert msp.root_certs == (org1.ca.certificate,)
    assert msp.node_ous == NodeOUs()
    assert signer.identity.certificate == pair.certificate
    signed = SignedData(data=b"block 7", identity=signer.serialize(), signature=signer.sign(b"block 7"))
    identity = verify_signed_data(signed, msp)
    assert identity == signer.identity
    assert msp.validate(identity) is Role.PEER


def test_load_msp_reads_intermediate_and_tls_cas(tmp_path: Path, org1: SampleOrg, org2: SampleOrg) -> None:
    ica = org1.ca.issue("ica.org1.test", is_ca=True)
    folder = _write_msp(tmp_path, org1, node_ous=False)
    _write(folder / "intermediatecerts" / "ica.pem", ica.certificate_pem)
    _write(folder / "tlscacerts" / "tlsca.pem", org2.ca.certificate_pem)
    msp = load_msp(folder, "Org1MSP")
    assert msp.intermediate_certs == (ica.certificate,)
    assert msp.tls_root_certs == (org2.ca.certificate,)
    assert msp.node_ous.enabled is False


def test_keystore_key_is_found_among_other_files(tmp_path: Path, org1: SampleOrg) -> None:
    pair = org1.ca.issue("user", organizational_units=["client"])
    folder = _write_msp(tmp_path, org1, pair)
    _write(folder / "keystore" / "a_other_sk", org1.ca.issue("other").key_pem)
    _write(folder / "keystore" / "README", "not a key")
    assert load_signing_identity(folder, "Org1MSP").private_key.private_numbers() == pair.key.private_numbers()


def test_keystore_skips_encrypted_keys_and_folders(tmp_path: Path, org1: SampleOrg) -> None:
    pair = org1.ca.issue("user", organizational_units=["client"])
    folder = _write_msp(tmp_path, org1, pair)
    encrypted = pair.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    _write(folder / "keystore" / "a_encrypted_sk", encrypted)
    (folder / "keystore" / "a_subfolder").mkdir()
    assert load_signing_identity(folder, "Org1MSP").private_key.private_numbers() == pair.key.private_numbers()
    (folder / "keystore" / "priv_sk").unlink()
    with pytest.raises(IdentityError, match="no private key matches"):
        load_signing_identity(folder, "Org1MSP")


def test_missing_msp_folder(tmp_path: Path) -> None:
    with pytest.raises(IdentityError, match="MSP folder .*nowhere does not exist"):
        load_msp(tmp_path / "nowhere", "Org1MSP")


@pytest.mark.parametrize("make_cacerts", [True, False], ids=["empty-cacerts", "no-cacerts"])
def test_msp_folder_without_ca_certificate(tmp_path: Path, make_cacerts: bool) -> None:
    if make_cacerts:
        (tmp_path / "cacerts").mkdir()
    with pytest.raises(IdentityError, match=re.escape("has no CA certificate in cacerts/")):
        load_msp(tmp_path, "Org1MSP")


def test_bad_pem_in_cacerts_names_the_file(tmp_path: Path, org1: SampleOrg) -> None:
    folder = _write_msp(tmp_path, org1)
    bad = _write(folder / "cacerts" / "broken.pem", "-----BEGIN CERTIFICATE-----\nnope\n")
    with pytest.raises(IdentityError, match=re.escape(f"{bad}: not a PEM certificate")):
        load_msp(folder, "Org1MSP")


def test_config_yaml_that_is_not_yaml(tmp_path: Path, org1: SampleOrg) -> None:
    folder = _write_msp(tmp_path, org1)
    _write(folder / "config.yaml", "NodeOUs: [unclosed\n")
    with pytest.raises(IdentityError, match=re.escape(f"{folder / 'config.yaml'}: not valid YAML")):
        load_msp(folder, "Org1MSP")


def test_node_ous_entry_without_ou_identifier(tmp_path: Path, org1: SampleOrg) -> None:
    folder = _write_msp(tmp_path, org1)
    config = node_ous_yaml("cacerts/ca-cert.pem").replace("    OrganizationalUnitIdentifier: peer\n", "")
    assert "OrganizationalUnitIdentifier: peer" not in config
    _write(folder / "config.yaml", config)
    with pytest.raises(IdentityError, match="NodeOUs.PeerOUIdentifier needs an OrganizationalUnitIdentifier string"):
        load_msp(folder, "Org1MSP")


def test_read_node_ous_without_config_yaml_is_disabled(tmp_path: Path) -> None:
    assert read_node_ous(tmp_path) == NodeOUs(enabled=False)


def test_read_node_ous_with_enable_false_is_disabled(tmp_path: Path) -> None:
    _write(tmp_path / "config.yaml", node_ous_yaml("cacerts/ca.pem", NodeOUs(enabled=False)))
    assert read_node_ous(tmp_path).enabled is False


def test_node_ous_yaml_round_trips_custom_identifiers(tmp_path: Path) -> None:
    custom = NodeOUs(client="users", peer="nodes", admin="operators", orderer="ordering")
    _write(tmp_path / "config.yaml", node_ous_yaml("cacerts/ca.pem", custom))
    assert read_node_ous(tmp_path) == custom


@pytest.mark.parametrize("count", [0, 2])
def test_signcerts_needs_exactly_one_certificate(tmp_path: Path, org1: SampleOrg, count: int) -> None:
    folder = _write_msp(tmp_path, org1)
    (folder / "signcerts").mkdir()
    for i in range(count):
        _write(folder / "signcerts" / f"cert{i}.pem", org1.ca.issue(f"user{i}").certificate_pem)
    with pytest.raises(IdentityError, match=f"signcerts: expected exactly one certificate, found {count}"):
        load_signing_identity(folder, "Org1MSP")


def test_keystore_without_the_matching_key(tmp_path: Path, org1: SampleOrg) -> None:
    folder = _write_msp(tmp_path, org1, org1.ca.issue("user", organizational_units=["client"]))
    _write(folder / "keystore" / "priv_sk", org1.ca.issue("someone else").key_pem)
    with pytest.raises(IdentityError, match="keystore: no private key matches the certificate in signcerts/"):
        load_signing_identity(folder, "Org1MSP")
