"""A node's gRPC address and who talks to it: what every client of a node needs.

One shape for all of them (the Admin service, a peer's Endorser for lifecycle calls,
the Gateway from the CLI), so that a connection profile turns into a target once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from consortia.msp.layout import load_signing_identity
from consortia.msp.signing import SigningIdentity

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class NodeEndpoint:
    address: str
    signer: SigningIdentity
    # PEM of the node's TLS CA; None for a node without TLS.
    tls_ca: bytes | None = None
    # The client's TLS certificate and key, for nodes that require mutual TLS.
    client_cert: bytes | None = None
    client_key: bytes | None = None
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_files(cls, address: str, msp_dir: str, msp_id: str, tls_ca: str | None = None,
                   client_cert: str | None = None, client_key: str | None = None) -> NodeEndpoint:
        def read(path: str | None) -> bytes | None:
            return Path(path).read_bytes() if path else None

        return cls(address, load_signing_identity(msp_dir, msp_id), read(tls_ca), read(client_cert), read(client_key))
