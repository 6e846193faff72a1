"""TLS between the peer and its chaincode, as Fabric does it.

When the peer runs TLS, its chaincode listener requires mutual TLS. Chaincode the peer
launches gets a client certificate of its own, issued by a CA the peer makes when it
starts and keeps only in memory (Fabric's peer does the same), so the peer's private
key never reaches a contract's process. Chaincode that dials in by itself presents a
certificate from one of the peer's `tls.client_root_cas`. Chaincode-as-a-service is
dialled over TLS when its deployment names the CA of its certificate; the peer then
presents its own TLS certificate.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from consortia.config.node import TLSSettings
from consortia.msp.ca import CertificateAuthority

# Issued client certificates outlive any run of the peer comfortably.
CLIENT_LIFETIME = dt.timedelta(days=365)


@dataclass(frozen=True)
class ChaincodeTLS:
    peer_root: Path | None  # what launched chaincode verifies the peer's certificate with
    peer_cert: bytes
    peer_key: bytes
    client_roots: bytes  # dial-in chaincode's CAs (the peer's client_root_cas)
    ca: CertificateAuthority

    @classmethod
    def from_settings(cls, tls: TLSSettings, msp_id: str) -> ChaincodeTLS | None:
        if not tls.enabled:
            return None
        assert tls.cert is not None and tls.key is not None  # checked when the config loaded
        return cls(
            peer_root=tls.root_cert,
            peer_cert=tls.cert.read_bytes(),
            peer_key=tls.key.read_bytes(),
            client_roots=b"".join(p.read_bytes() for p in tls.client_root_cas),
            ca=CertificateAuthority.create("chaincode client CA", msp_id, lifetime=CLIENT_LIFETIME),
        )

    def listener_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.peer_key, self.peer_cert)],
            root_certificates=self.ca.certificate_pem + self.client_roots,
            require_client_auth=True,
        )

    def issue_client(self, name: str, folder: Path) -> tuple[Path, Path]:
        """A client certificate and key for a launched chaincode, written where only
        this user can read them; (certificate path, key path)."""
        pair = self.ca.issue(name, tls=True, lifetime=CLIENT_LIFETIME)
        folder.mkdir(parents=True, exist_ok=True)
        cert, key = folder / f"{name}-client.crt", folder / f"{name}-client.key"
        cert.write_bytes(pair.certificate_pem)
        descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pair.key_pem)
        return cert, key
