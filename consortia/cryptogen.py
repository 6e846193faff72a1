"""`consortia crypto generate`: every org's CAs, and its nodes' and users' keys and
certificates, in Hyperledger Fabric's `cryptogen` directory layout.

    peerOrganizations/<domain>/
        ca/ca.<domain>-cert.pem, priv_sk          signing CA
        tlsca/tlsca.<domain>-cert.pem, priv_sk    TLS CA
        msp/                                       the org's verifying MSP
        peers/<peer>.<domain>/{msp,tls}
        users/<User>@<domain>/{msp,tls}           Admin@<domain> always
    ordererOrganizations/<domain>/
        ... orderers/<node>.<domain>/{msp,tls} in place of peers/

Running it again keeps what exists and issues only what is missing from the existing
CAs (a user added to the network file gets a certificate, nothing else changes);
`force=True` starts over. Every folder is written under a temporary name and renamed
into place, so an interrupted run never leaves a half-written identity.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from consortia.config.network import Network
from consortia.msp.ca import CertificateAuthority, KeyPair, load_private_key_pem, private_key_pem
from consortia.msp.layout import node_ous_yaml

KEY_FILE = "priv_sk"
ADMIN = "Admin"


@dataclass(frozen=True)
class OrgLayout:
    """Paths of one organization's material."""

    root: Path
    domain: str
    kind: str  # "peer" or "orderer"

    @property
    def msp_dir(self) -> Path:
        return self.root / "msp"

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca" / f"ca.{self.domain}-cert.pem"

    @property
    def tlsca_cert(self) -> Path:
        return self.root / "tlsca" / f"tlsca.{self.domain}-cert.pem"

    def node_dir(self, name: str) -> Path:
        return self.root / f"{self.kind}s" / f"{name}.{self.domain}"

    def user_dir(self, name: str) -> Path:
        return self.root / "users" / f"{name}@{self.domain}"


@dataclass(frozen=True)
class CryptoLayout:
    """Where `consortia crypto generate` puts everything for a network."""

    root: Path
    network: Network

    def org(self, msp_id: str) -> OrgLayout:
        if msp_id == self.network.orderer.msp_id:
            return OrgLayout(self.root / "ordererOrganizations" / self.network.orderer.domain, self.network.orderer.domain, "orderer")
        org = self.network.organization(msp_id)
        return OrgLayout(self.root / "peerOrganizations" / org.domain, org.domain, "peer")


@dataclass
class Report:
    """What a run created and what it kept, as paths relative to the output folder."""

    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if private:
        os.chmod(path, 0o600)


def _load_ca(cert_path: Path) -> CertificateAuthority:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = load_private_key_pem((cert_path.parent / KEY_FILE).read_bytes())
    return CertificateAuthority(key=key, certificate=cert)


def _write_ca(cert_path: Path, ca: CertificateAuthority) -> None:
    _write(cert_path, ca.certificate_pem)
    _write(cert_path.parent / KEY_FILE, private_key_pem(ca.key), private=True)


def _write_msp(folder: Path, layout: OrgLayout, ca: CertificateAuthority, tlsca: CertificateAuthority,
               signer: KeyPair | None = None, signer_name: str = "") -> None:
    ca_name = layout.ca_cert.name
    _write(folder / "cacerts" / ca_name, ca.certificate_pem)
    _write(folder / "tlscacerts" / layout.tlsca_cert.name, tlsca.certificate_pem)
    _write(folder / "config.yaml", node_ous_yaml(f"cacerts/{ca_name}").encode())
    if signer is not None:
        _write(folder / "signcerts" / f"{signer_name}-cert.pem", signer.certificate_pem)
        _write(folder / "keystore" / KEY_FILE, signer.key_pem, private=True)


@contextmanager
def _staged(final: Path) -> Iterator[Path]:
    """A temporary sibling folder that replaces `final` only if the block completes."""
    final.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield build
        # Like cryptogen: folders readable by all (certificates are public), keys 0600.
        for folder in (build, *(p for p in build.rglob("*") if p.is_dir())):
            folder.chmod(0o755)
        if final.exists():
            shutil.rmtree(final)
        os.replace(build, final)
    finally:
        shutil.rmtree(build, ignore_errors=True)


class _Generator:
    def __init__(self, network: Network, out: Path) -> None:
        self.crypto = CryptoLayout(out, network)
        self.out = out
        self.hosts = ["localhost", network.host]
        self.report = Report()

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.out))

    def org(self, msp_id: str) -> tuple[OrgLayout, CertificateAuthority, CertificateAuthority]:
        """The org's layout and CAs, creating the CAs and org MSP if they are missing."""
        layout = self.crypto.org(msp_id)
        if layout.ca_cert.exists() and layout.tlsca_cert.exists():
            ca, tlsca = _load_ca(layout.ca_cert), _load_ca(layout.tlsca_cert)
            if (layout.msp_dir / "cacerts").is_dir():
                self.report.kept.append(self._rel(layout.root / "ca"))
            else:
                with _staged(layout.msp_dir) as build:
                    _write_msp(build, layout, ca, tlsca)
                self.report.created.append(self._rel(layout.msp_dir))
            return layout, ca, tlsca
        ca = CertificateAuthority.create(f"ca.{layout.domain}", layout.domain)
        tlsca = CertificateAuthority.create(f"tlsca.{layout.domain}", layout.domain)
        # Identities issued by CAs that are gone cannot be kept: the org starts over.
        with _staged(layout.root) as build:
            staged = OrgLayout(build, layout.domain, layout.kind)
            _write_ca(staged.ca_cert, ca)
            _write_ca(staged.tlsca_cert, tlsca)
            _write_msp(staged.msp_dir, staged, ca, tlsca)
        self.report.created.append(self._rel(layout.root))
        return layout, ca, tlsca

    def identity(
        self,
        final: Path,
        org: tuple[OrgLayout, CertificateAuthority, CertificateAuthority],
        *,
        common_name: str,
        role: str,
        tls_hosts: Sequence[str] = (),
        attributes: Mapping[str, str] | None = None,
    ) -> None:
        """A node's or user's msp/ and tls/ folders, unless they exist already."""
        if (final / "msp" / "signcerts").is_dir() and (final / "tls" / "ca.crt").is_file():
            self.report.kept.append(self._rel(final))
            return
        layout, ca, tlsca = org
        server = role in ("peer", "orderer")
        with _staged(final) as build:
            signer = ca.issue(common_name, organizational_units=[role], attributes=attributes or None)
            _write_msp(build / "msp", layout, ca, tlsca, signer, common_name)
            tls = tlsca.issue(common_name, organizational_units=[role], tls=True, hosts=tls_hosts)
            prefix = "server" if server else "client"
            _write(build / "tls" / "ca.crt", tlsca.certificate_pem)
            _write(build / "tls" / f"{prefix}.crt", tls.certificate_pem)
            _write(build / "tls" / f"{prefix}.key", tls.key_pem, private=True)
        self.report.created.append(self._rel(final))

    def node(self, org: tuple[OrgLayout, CertificateAuthority, CertificateAuthority], name: str) -> None:
        layout = org[0]
        fqdn = f"{name}.{layout.domain}"
        self.identity(layout.node_dir(name), org, common_name=fqdn, role=layout.kind,
                      tls_hosts=[fqdn, name, *self.hosts])

    def user(self, org: tuple[OrgLayout, CertificateAuthority, CertificateAuthority], name: str,
             attributes: Mapping[str, str] | None = None) -> None:
        layout = org[0]
        role = "admin" if name == ADMIN else "client"
        self.identity(layout.user_dir(name), org, common_name=f"{name}@{layout.domain}", role=role,
                      attributes=attributes)


def generate(network: Network, out: str | Path, *, force: bool = False) -> Report:
    """Create (or complete) the crypto material of `network` under `out`."""
    out = Path(out)
    if force:
        for sub in ("peerOrganizations", "ordererOrganizations"):
            shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    gen = _Generator(network, out)
    orderer = gen.org(network.orderer.msp_id)
    for node in network.orderer.nodes:
        gen.node(orderer, node.name)
    gen.user(orderer, ADMIN)
    for spec in network.organizations:
        org = gen.org(spec.msp_id)
        for peer in spec.peers:
            gen.node(org, peer.name)
        gen.user(org, ADMIN)
        for user in spec.users:
            gen.user(org, user.name, user.attributes)
    return gen.report
