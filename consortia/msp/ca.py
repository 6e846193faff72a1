"""Certificate authorities and the certificates they issue, shaped like Fabric's cryptogen.

Each organization gets two self-signed P-256 CAs, one for signing identities and one for
TLS, as `cryptogen` makes them. Signing certificates carry the NodeOU of their role in the
subject (`OU=peer`, `OU=client`, ...); TLS certificates carry SANs for the node's host
names and loopback so nodes on 127.0.0.1 verify. User certificates may carry Fabric CA's
attribute extension, which chaincode reads through its client-identity helper.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from consortia.msp.identity import ATTRIBUTES_OID

DEFAULT_LIFETIME = dt.timedelta(days=3650)
# Backdating hides small clock differences between the machines of a network.
BACKDATE = dt.timedelta(minutes=5)

COUNTRY = "US"
STATE = "California"
LOCALITY = "San Francisco"


def new_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted: the form Fabric keeps in `keystore/priv_sk`."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key_pem(data: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"expected an EC private key, found {type(key).__name__}")
    return key


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str, organization: str | None, units: Sequence[str]) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, STATE),
        x509.NameAttribute(NameOID.LOCALITY_NAME, LOCALITY),
    ]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attrs.extend(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou) for ou in units)
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _serial() -> int:
    return secrets.randbits(127) | 1


@dataclass(frozen=True)
class KeyPair:
    """A private key and the certificate issued for it."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def key_pem(self) -> bytes:
        return private_key_pem(self.key)

    @property
    def certificate_pem(self) -> bytes:
        return certificate_pem(self.certificate)


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA that can issue signing and TLS certificates."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(
        cls,
        common_name: str,
        organization: str,
        *,
        not_before: dt.datetime | None = None,
        lifetime: dt.timedelta = DEFAULT_LIFETIME,
    ) -> CertificateAuthority:
        """Create a self-signed root CA, as cryptogen does (10 years by default)."""
        key = new_private_key()
        start = not_before or (dt.datetime.now(dt.timezone.utc) - BACKDATE)
        name = _name(common_name, organization, ())
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(_serial())
            .not_valid_before(start)
            .not_valid_after(start + lifetime)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key=key, certificate=cert)

    @property
    def certificate_pem(self) -> bytes:
        return certificate_pem(self.certificate)

    def issue(
        self,
        common_name: str,
        *,
        organizational_units: Sequence[str] = (),
        tls: bool = False,
        hosts: Sequence[str] = (),
        attributes: Mapping[str, str] | None = None,
        not_before: dt.datetime | None = None,
        lifetime: dt.timedelta = DEFAULT_LIFETIME,
        is_ca: bool = False,
        key: ec.EllipticCurvePrivateKey | None = None,
    ) -> KeyPair:
        """Issue a certificate for a new key (or `key`).

        A TLS certificate (`tls=True`) gets server and client auth and SANs for `hosts`
        (DNS names or IP addresses). `is_ca=True` makes an intermediate CA.
        """
        key = key or new_private_key()
        start = not_before or (dt.datetime.now(dt.timezone.utc) - BACKDATE)
        issuer_ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, None, organizational_units))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(_serial())
            .not_valid_before(start)
            .not_valid_after(start + lifetime)
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=tls or is_ca,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        if tls:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
        if hosts:
            builder = builder.add_extension(x509.SubjectAlternativeName(_san(hosts)), critical=False)
        if attributes:
            payload = json.dumps({"attrs": dict(attributes)}, sort_keys=True).encode()
            builder = builder.add_extension(x509.UnrecognizedExtension(ATTRIBUTES_OID, payload), critical=False)
        return KeyPair(key=key, certificate=builder.sign(self.key, hashes.SHA256()))


def _san(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names
