"""Chaincode over TLS: a peer running mutual TLS launches a contract (which gets a client
certificate from the peer's in-memory CA) and dials a chaincode-as-a-service over mutual
TLS; a service that does not trust the peer's certificate is never connected."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from consortia.msp.ca import CertificateAuthority
from tests.support.processes import free_ports, run
from tests.support.testnet import TestNetwork

pytestmark = pytest.mark.integration

PROBE = Path(__file__).resolve().parent.parent / "fixtures" / "contracts" / "probe"


def service(tmp_path: Path, name: str, port: int, ca: CertificateAuthority, client_ca: Path) -> subprocess.Popen[bytes]:
    pair = ca.issue(f"{name}.chaincode", tls=True, hosts=["127.0.0.1", "localhost"])
    (tmp_path / f"{name}.crt").write_bytes(pair.certificate_pem)
    (tmp_path / f"{name}.key").write_bytes(pair.key_pem)
    with open(tmp_path / f"{name}.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "chaincode", "serve", str(PROBE), "--listen", f"127.0.0.1:{port}", "--id", name,
             "--tls-cert", str(tmp_path / f"{name}.crt"), "--tls-key", str(tmp_path / f"{name}.key"),
             "--tls-client-ca", str(client_ca)],
            stdout=log, stderr=subprocess.STDOUT,
        )


def test_launched_and_service_chaincode_over_mutual_tls(tmp_path: Path) -> None:
    net = TestNetwork(tmp_path, tls=True, mutual_tls=True)
    ca = CertificateAuthority.create("service-ca", "Services")
    (tmp_path / "service-ca.crt").write_bytes(ca.certificate_pem)
    stranger_ca = CertificateAuthority.create("stranger-ca", "Strangers")
    (tmp_path / "stranger-ca.crt").write_bytes(stranger_ca.certificate_pem)
    svc_port, stranger_port, listen_port = free_ports(3)
    processes = [
        # Trusts Org1's TLS CA: the peer's own TLS certificate gets in.
        service(tmp_path, "svc", svc_port, ca, net.layout.org("Org1MSP").tlsca_cert),
        # Trusts nobody the peer can present.
        service(tmp_path, "stranger", stranger_port, ca, tmp_path / "stranger-ca.crt"),
    ]
    try:
        net.orderer.start()
        run(net.join("ch1"))
        peer = net.peer("Org1MSP", chaincode_listen=f"127.0.0.1:{listen_port}", chaincodes=[
            {"name": "probe", "channels": ["ch1"], "path": str(PROBE)},
            {"name": "svc", "channels": ["ch1"], "address": f"127.0.0.1:{svc_port}",
             "tls_root_cert": str(tmp_path / "service-ca.crt")},
            {"name": "stranger", "channels": ["ch1"], "address": f"127.0.0.1:{stranger_port}",
             "tls_root_cert": str(tmp_path / "service-ca.crt")},
        ])
        peer.node.start()
        run(net.join_peer(peer, "ch1"))
        deadline = time.monotonic() + 60
        answers: dict[str, tuple[int, str]] = {}
        while time.monotonic() < deadline:
            for name in ("probe", "svc"):
                _, (response,) = run(net.endorse([peer], name, "whoami"))
                answers[name] = (response.response.status, response.response.message)
            if all(status == 200 for status, _ in answers.values()):
                break
            time.sleep(0.3)
        assert answers == {"probe": (200, ""), "svc": (200, "")}, f"{answers}\n{peer.node.tail()}"
        key = next((tmp_path / "peer0.org1.example.com-data" / "chaincode" / "tls").glob("probe-client.key"))
        assert key.stat().st_mode & 0o077 == 0  # the launched chaincode's key is the peer user's only
        _, (response,) = run(net.endorse([peer], "stranger", "whoami"))
        assert response.response.status == 500 and "chaincode stranger is not running" in response.response.message
    finally:
        for process in processes:
            process.kill()
            process.wait()
        net.orderer.kill()
        for handle in list(net._peers.values()):
            handle.node.kill()
