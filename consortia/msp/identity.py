"""Identities as they travel on the wire: `SerializedIdentity{mspid, PEM certificate}`.

An `Identity` is what was decoded; whether it is *valid* (chains to its org's CA, is
within its validity period, has a recognised role) is for its MSP to decide
(`consortia.msp.msp`). The serialized bytes are kept exactly as received, because
Fabric signs and hashes them as bytes (the creator inside a signature header).
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.msp import identities_pb2
from google.protobuf.message import DecodeError

from consortia.errors import IdentityError
from consortia.types import MspId

# Fabric CA stores enrolment attributes in this extension as JSON {"attrs": {...}};
# fabric-contract-api's ClientIdentity reads them from the same place.
ATTRIBUTES_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")


class Role(enum.IntEnum):
    """Fabric's `MSPRole.MSPRoleType`, with the same numbers."""

    MEMBER = 0
    ADMIN = 1
    CLIENT = 2
    PEER = 3
    ORDERER = 4

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, eq=False)
class Identity:
    """A decoded identity: MSP id and X.509 certificate, with its wire bytes."""

    msp_id: MspId
    certificate: x509.Certificate
    serialized: bytes = field(repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and self.serialized == other.serialized

    def __hash__(self) -> int:
        return hash(self.serialized)

    @cached_property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @cached_property
    def fingerprint(self) -> str:
        """Hex SHA-256 of the certificate DER: Fabric's identity id within an MSP."""
        return hashlib.sha256(self.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()

    @cached_property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        key = self.certificate.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            found = f"an EC key on {key.curve.name}" if isinstance(key, ec.EllipticCurvePublicKey) else f"a {type(key).__name__}"
            raise IdentityError(f"identity of {self.msp_id} has {found}; expected ECDSA on P-256 (secp256r1)")
        return key

    @cached_property
    def organizational_units(self) -> tuple[str, ...]:
        values = self.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        return tuple(str(a.value) for a in values)

    @cached_property
    def common_name(self) -> str:
        values = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(values[0].value) if values else ""

    @cached_property
    def attributes(self) -> dict[str, str]:
        """Enrolment attributes (Fabric CA's extension), empty when the certificate has none."""
        try:
            ext = self.certificate.extensions.get_extension_for_oid(ATTRIBUTES_OID)
        except x509.ExtensionNotFound:
            return {}
        raw = ext.value
        data = raw.value if isinstance(raw, x509.UnrecognizedExtension) else b""
        try:
            attrs = json.loads(data)["attrs"]
        except (ValueError, KeyError, TypeError) as exc:
            raise IdentityError(f"certificate attribute extension is not valid JSON {{'attrs': {{...}}}}: {exc}") from exc
        if not isinstance(attrs, dict):
            raise IdentityError("certificate attribute extension: 'attrs' must be an object")
        return {str(k): str(v) for k, v in attrs.items()}


def serialize_identity(msp_id: str, certificate_pem: bytes) -> bytes:
    """Encode a `msp.SerializedIdentity` as Fabric does (PEM certificate in id_bytes)."""
    return bytes(identities_pb2.SerializedIdentity(mspid=msp_id, id_bytes=certificate_pem).SerializeToString())


def deserialize_identity(serialized: bytes) -> Identity:
    """Decode `msp.SerializedIdentity` bytes; raise IdentityError with the reason if malformed."""
    try:
        sid = identities_pb2.SerializedIdentity.FromString(serialized)
    except DecodeError as exc:
        raise IdentityError(f"creator is not a SerializedIdentity: {exc}") from exc
    if not sid.mspid:
        raise IdentityError("identity has an empty MSP id")
    if not sid.id_bytes:
        raise IdentityError(f"identity of {sid.mspid} carries no certificate")
    try:
        cert = x509.load_pem_x509_certificate(sid.id_bytes)
    except ValueError as exc:
        raise IdentityError(f"identity of {sid.mspid}: certificate is not a valid PEM X.509 certificate ({exc})") from exc
    return Identity(msp_id=MspId(sid.mspid), certificate=cert, serialized=serialized)
