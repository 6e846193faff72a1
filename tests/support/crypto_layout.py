"""The cryptogen layout spelled out independently of `consortia.cryptogen`, so tests that
check generated material notice when the layout changes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from consortia.config.network import Network
from consortia.msp.identity import Role


@dataclass(frozen=True)
class OrgDir:
    msp_id: str
    domain: str
    root: Path

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca" / f"ca.{self.domain}-cert.pem"

    @property
    def tlsca_cert(self) -> Path:
        return self.root / "tlsca" / f"tlsca.{self.domain}-cert.pem"


@dataclass(frozen=True)
class IdentityDir:
    org: OrgDir
    folder: Path
    common_name: str
    role: Role
    attributes: dict[str, str]

    @property
    def server(self) -> bool:
        return self.role in (Role.PEER, Role.ORDERER)

    @property
    def signcert(self) -> Path:
        return self.folder / "msp" / "signcerts" / f"{self.common_name}-cert.pem"

    @property
    def tls_cert(self) -> Path:
        return self.folder / "tls" / ("server.crt" if self.server else "client.crt")


def org_dirs(network: Network, root: Path) -> list[OrgDir]:
    orderer = network.orderer
    return [
        OrgDir(orderer.msp_id, orderer.domain, root / "ordererOrganizations" / orderer.domain),
        *(OrgDir(o.msp_id, o.domain, root / "peerOrganizations" / o.domain) for o in network.organizations),
    ]


def identity_dirs(network: Network, root: Path) -> list[IdentityDir]:
    orgs = {o.msp_id: o for o in org_dirs(network, root)}
    found: list[IdentityDir] = []

    def add(org: OrgDir, kind: str, name: str, role: Role, attributes: dict[str, str] | None = None) -> None:
        cn = f"{name}@{org.domain}" if kind == "users" else f"{name}.{org.domain}"
        found.append(IdentityDir(org, org.root / kind / cn, cn, role, attributes or {}))

    orderer = orgs[network.orderer.msp_id]
    for node in network.orderer.nodes:
        add(orderer, "orderers", node.name, Role.ORDERER)
    add(orderer, "users", "Admin", Role.ADMIN)
    for spec in network.organizations:
        org = orgs[spec.msp_id]
        for peer in spec.peers:
            add(org, "peers", peer.name, Role.PEER)
        add(org, "users", "Admin", Role.ADMIN)
        for user in spec.users:
            add(org, "users", user.name, Role.CLIENT, user.attributes)
    return found
