"""An independent verifier agrees: `openssl verify` accepts every certificate that
`consortia crypto generate` issues against its own org's CA, and rejects it against any
other CA (another org's, the org's TLS CA, or a new CA with the same name)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from consortia.config.network import Network
from consortia.cryptogen import generate
from tests.support.crypto_layout import IdentityDir, org_dirs

pytestmark = pytest.mark.component

OPENSSL = shutil.which("openssl") or "openssl"


def openssl_accepted(ca: Path, certs: list[Path]) -> set[Path]:
    """The certificates among `certs` that `openssl verify -CAfile ca` accepts."""
    result = subprocess.run(
        [OPENSSL, "verify", "-CAfile", str(ca), *map(str, certs)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    lines = set(result.stdout.splitlines())
    accepted = {c for c in certs if f"{c}: OK" in lines}
    assert (result.returncode == 0) == (accepted == set(certs)), result.stdout + result.stderr
    return accepted


def test_openssl_accepts_every_certificate_with_its_own_ca(carbon: Network, carbon_crypto: Path,
                                                           carbon_identities: list[IdentityDir]) -> None:
    for org in org_dirs(carbon, carbon_crypto):
        mine = [i for i in carbon_identities if i.org == org]
        assert mine, org.msp_id
        signing = [i.signcert for i in mine]
        tls = [i.tls_cert for i in mine]
        assert openssl_accepted(org.ca_cert, signing) == set(signing)
        assert openssl_accepted(org.tlsca_cert, tls) == set(tls)


def test_openssl_rejects_certificates_against_another_orgs_ca(carbon: Network, carbon_crypto: Path,
                                                              carbon_identities: list[IdentityDir]) -> None:
    orgs = org_dirs(carbon, carbon_crypto)
    for index, org in enumerate(orgs):
        other = orgs[(index + 1) % len(orgs)]
        mine = [i for i in carbon_identities if i.org == org]
        assert openssl_accepted(other.ca_cert, [i.signcert for i in mine]) == set()
        assert openssl_accepted(other.tlsca_cert, [i.tls_cert for i in mine]) == set()
        # The org's own TLS CA does not vouch for its signing certificates either.
        assert openssl_accepted(org.tlsca_cert, [i.signcert for i in mine]) == set()


def test_openssl_rejects_a_certificate_of_a_replaced_ca_with_the_same_name(minimal: Network, tmp_path: Path) -> None:
    generate(minimal, tmp_path / "before")
    generate(minimal, tmp_path / "after")
    org = Path("peerOrganizations") / "org1.example.com"
    signcerts = Path("peers") / "peer0.org1.example.com" / "msp" / "signcerts"
    old_peer = tmp_path / "before" / org / signcerts / "peer0.org1.example.com-cert.pem"
    new_ca = tmp_path / "after" / org / "ca" / "ca.org1.example.com-cert.pem"
    assert openssl_accepted(new_ca, [old_peer]) == set()
