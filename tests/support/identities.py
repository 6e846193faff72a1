"""Test organizations and identities, made in memory with the real CA code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from consortia.msp.ca import CertificateAuthority, KeyPair
from consortia.msp.identity import Identity, serialize_identity
from consortia.msp.manager import MSPManager
from consortia.msp.msp import MSP, NodeOUs
from consortia.msp.signing import SigningIdentity
from consortia.types import MspId


def signing_identity(msp_id: str, pair: KeyPair) -> SigningIdentity:
    """Wrap an issued key pair as the signing identity of `msp_id`."""
    serialized = serialize_identity(msp_id, pair.certificate_pem)
    identity = Identity(msp_id=MspId(msp_id), certificate=pair.certificate, serialized=serialized)
    return SigningIdentity(identity=identity, private_key=pair.key)


@dataclass
class SampleOrg:
    """An organization with a CA and an MSP, issuing identities on demand."""

    msp_id: str
    ca: CertificateAuthority
    node_ous: NodeOUs = field(default_factory=NodeOUs)

    @property
    def msp(self) -> MSP:
        return MSP(self.msp_id, [self.ca.certificate], node_ous=self.node_ous)

    def identity(
        self,
        role: str = "client",
        name: str | None = None,
        *,
        attributes: Mapping[str, str] | None = None,
        not_before: dt.datetime | None = None,
        lifetime: dt.timedelta | None = None,
        ous: list[str] | None = None,
    ) -> SigningIdentity:
        """A new identity with NodeOU `role` (or the explicit `ous`)."""
        kwargs: dict[str, object] = {}
        if lifetime is not None:
            kwargs["lifetime"] = lifetime
        pair = self.ca.issue(
            name or f"{role}@{self.msp_id.lower()}",
            organizational_units=[role] if ous is None else ous,
            attributes=attributes,
            not_before=not_before,
            **kwargs,  # type: ignore[arg-type]
        )
        return signing_identity(self.msp_id, pair)


def make_org(msp_id: str, **ca_kwargs: object) -> SampleOrg:
    domain = f"{msp_id.lower()}.test"
    ca = CertificateAuthority.create(f"ca.{domain}", domain, **ca_kwargs)  # type: ignore[arg-type]
    return SampleOrg(msp_id=msp_id, ca=ca)


def manager(*orgs: SampleOrg) -> MSPManager:
    return MSPManager(org.msp for org in orgs)
