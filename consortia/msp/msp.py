"""An organization's MSP: its trusted CA certificates and its NodeOU role rules.

Validation follows Fabric's X.509 MSP: the identity's certificate must chain to one of
the org's root CAs (through its intermediate CAs, if any), must not itself be a CA, and,
with NodeOUs enabled, must carry exactly one role OU (client, peer, admin, orderer).

Certificate lifetimes are checked only when the caller passes the instant to check at.
Endorsers and orderers pass "now"; block validation does not, because its outcome must
depend only on the block and the committed state (the same choice Fabric makes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from consortia.errors import IdentityError
from consortia.msp.identity import Identity, Role, deserialize_identity
from consortia.types import MspId

_MAX_CHAIN_DEPTH = 8
_VALIDATED_CACHE_SIZE = 4096


@dataclass(frozen=True)
class NodeOUs:
    """Fabric's NodeOUs: which subject OU value marks each role."""

    enabled: bool = True
    client: str = "client"
    peer: str = "peer"
    admin: str = "admin"
    orderer: str = "orderer"

    def role_ous(self) -> dict[Role, str]:
        return {Role.CLIENT: self.client, Role.PEER: self.peer, Role.ADMIN: self.admin, Role.ORDERER: self.orderer}


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _outside_lifetime(cert: x509.Certificate, at: dt.datetime) -> str | None:
    """Why `cert` is not valid at `at`, or None when it is."""
    if at < cert.not_valid_before_utc:
        return f"is not valid before {cert.not_valid_before_utc.isoformat()}"
    if at > cert.not_valid_after_utc:
        return f"expired at {cert.not_valid_after_utc.isoformat()}"
    return None


class MSP:
    """Validates and classifies identities of one organization."""

    def __init__(
        self,
        msp_id: str,
        root_certs: Sequence[x509.Certificate],
        intermediate_certs: Sequence[x509.Certificate] = (),
        node_ous: NodeOUs = NodeOUs(),
        tls_root_certs: Sequence[x509.Certificate] = (),
        tls_intermediate_certs: Sequence[x509.Certificate] = (),
    ) -> None:
        if not msp_id:
            raise IdentityError("an MSP needs a non-empty MSP id")
        if not root_certs:
            raise IdentityError(f"MSP {msp_id} has no root CA certificate")
        for cert in (*root_certs, *intermediate_certs):
            if not _is_ca(cert):
                raise IdentityError(
                    f"MSP {msp_id}: {cert.subject.rfc4514_string()} is configured as a CA but is not a CA certificate"
                )
        self.msp_id = MspId(msp_id)
        self.root_certs = tuple(root_certs)
        self.intermediate_certs = tuple(intermediate_certs)
        self.node_ous = node_ous
        self.tls_root_certs = tuple(tls_root_certs)
        self.tls_intermediate_certs = tuple(tls_intermediate_certs)
        self._roots = {c.public_bytes(Encoding.DER) for c in self.root_certs}
        self._issuers = (*self.root_certs, *self.intermediate_certs)
        # serialized identity bytes -> (chain, role); chain checks cost a signature verification each.
        self._validated: dict[bytes, tuple[tuple[x509.Certificate, ...], Role]] = {}

    def __repr__(self) -> str:
        return f"MSP({self.msp_id!r})"

    def deserialize(self, serialized: bytes) -> Identity:
        """Decode an identity that claims to belong to this MSP."""
        identity = deserialize_identity(serialized)
        if identity.msp_id != self.msp_id:
            raise IdentityError(f"identity belongs to {identity.msp_id}, not to {self.msp_id}")
        return identity

    def validate(self, identity: Identity, at: dt.datetime | None = None) -> Role:
        """Check that `identity` is a valid identity of this MSP and return its role.

        Raises IdentityError saying why not. With `at`, every certificate of the chain
        must be within its validity period at that instant.
        """
        if at is not None and at.tzinfo is None:
            raise ValueError("validate(at=...) needs a timezone-aware datetime")
        cached = self._validated.get(identity.serialized)
        if cached is None:
            cached = self._validate_uncached(identity)
            if len(self._validated) >= _VALIDATED_CACHE_SIZE:
                self._validated.pop(next(iter(self._validated)))
            self._validated[identity.serialized] = cached
        chain, role = cached
        if at is not None:
            problem = _outside_lifetime(identity.certificate, at)
            if problem:
                raise IdentityError(f"certificate of {identity.common_name or 'identity'} ({self.msp_id}) {problem}")
            for ca in chain:
                problem = _outside_lifetime(ca, at)
                if problem:
                    raise IdentityError(f"CA certificate {ca.subject.rfc4514_string()} of {self.msp_id} {problem}")
        return role

    def _validate_uncached(self, identity: Identity) -> tuple[tuple[x509.Certificate, ...], Role]:
        if identity.msp_id != self.msp_id:
            raise IdentityError(f"identity belongs to {identity.msp_id}, not to {self.msp_id}")
        cert = identity.certificate
        _ = identity.public_key  # raises IdentityError for a key that is not P-256
        if _is_ca(cert):
            raise IdentityError(
                f"certificate {cert.subject.rfc4514_string()} is a CA certificate and cannot be used as an identity"
            )
        chain = self._chain(cert)
        return chain, self._role(identity)

    def _chain(self, cert: x509.Certificate) -> tuple[x509.Certificate, ...]:
        """The CA certificates from the issuer of `cert` up to a root of this MSP."""
        chain: list[x509.Certificate] = []
        current = cert
        for _ in range(_MAX_CHAIN_DEPTH):
            issuer = self._find_issuer(current)
            if issuer is None:
                raise IdentityError(
                    f"certificate {cert.subject.rfc4514_string()} was not issued by a CA of {self.msp_id} "
                    f"(issuer {current.issuer.rfc4514_string()} is not among its CA certificates)"
                )
            chain.append(issuer)
            if issuer.public_bytes(Encoding.DER) in self._roots:
                return tuple(chain)
            current = issuer
        raise IdentityError(f"certificate chain of {cert.subject.rfc4514_string()} is longer than {_MAX_CHAIN_DEPTH}")

    def _find_issuer(self, cert: x509.Certificate) -> x509.Certificate | None:
        for candidate in self._issuers:
            if candidate.subject != cert.issuer:
                continue
            try:
                cert.verify_directly_issued_by(candidate)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return candidate
        return None

    def _role(self, identity: Identity) -> Role:
        if not self.node_ous.enabled:
            return Role.MEMBER
        ous = set(identity.organizational_units)
        roles = [role for role, ou in self.node_ous.role_ous().items() if ou in ous]
        if len(roles) != 1:
            found = ", ".join(sorted(ous)) or "none"
            expected = ", ".join(self.node_ous.role_ous().values())
            problem = "no role OU" if not roles else "more than one role OU"
            raise IdentityError(
                f"identity {identity.common_name!r} of {self.msp_id} has {problem}: "
                f"expected exactly one of {expected}; found OU {found}"
            )
        return roles[0]

    def satisfies(self, identity: Identity, msp_id: str, role: Role) -> bool:
        """Whether a *valid* identity of this MSP satisfies the principal `msp_id.role`.

        Fabric's rule: `member` is any valid identity of the MSP; `admin`, `client`,
        `peer` and `orderer` need the matching NodeOU.
        """
        if msp_id != self.msp_id or identity.msp_id != self.msp_id:
            return False
        try:
            actual = self.validate(identity)
        except IdentityError:
            return False
        return role is Role.MEMBER or actual is role

    @staticmethod
    def certificates_from_pem(blobs: Iterable[bytes]) -> list[x509.Certificate]:
        certs: list[x509.Certificate] = []
        for blob in blobs:
            try:
                certs.extend(x509.load_pem_x509_certificates(blob))
            except ValueError as exc:
                raise IdentityError(f"not a PEM certificate: {exc}") from exc
        return certs

