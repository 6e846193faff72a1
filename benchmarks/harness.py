"""A network for benchmarks: crypto material, one orderer, one peer per organization, a
channel they all joined, and chaincode the peers launch. Nodes run as real processes
on loopback and log warnings only, so the figures are not spent on logging.

    with BenchNetwork(Path(tmp), orgs=2, chaincodes=[...]) as net:
        net.peer_address("Org1MSP"), net.user("Org1MSP"), net.crypto
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consortia import adminclient, cryptogen
from consortia.channelconfig.build import build_channel_config
from consortia.channelconfig.genesis import genesis_block
from consortia.config.network import load_network
from consortia.msp.layout import load_signing_identity
from consortia.msp.signing import SigningIdentity

CHANNEL = "bench"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def wait_healthy(address: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"node at {address} exited with {proc.returncode}")
        try:
            with grpc.insecure_channel(address) as ch:
                if health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return
        except grpc.RpcError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"node at {address} did not report SERVING within {timeout}s")


class BenchNetwork:
    def __init__(self, root: Path, *, orgs: int = 1, chaincodes: list[dict[str, Any]] | None = None,
                 policy: str | None = None, batch: dict[str, Any] | None = None) -> None:
        self.root = root
        self.msp_ids = [f"Org{i}MSP" for i in range(1, orgs + 1)]
        channel: dict[str, Any] = {"name": CHANNEL, "organizations": self.msp_ids}
        if policy:
            channel["endorsement_policy"] = policy
        spec: dict[str, Any] = {
            "name": "bench", "base_port": self._free_base(orgs + 1),
            "organizations": [{"name": f"Org{i}", "msp_id": f"Org{i}MSP", "domain": f"org{i}.example.com"}
                              for i in range(1, orgs + 1)],
            "channels": [channel],
        }
        if batch:
            spec["consensus"] = {"type": "solo", "batch": batch}
        (root / "network.yaml").write_text(yaml.safe_dump(spec))
        self.network = load_network(root / "network.yaml")
        self.crypto = root / "crypto"
        cryptogen.generate(self.network, self.crypto)
        self.layout = cryptogen.CryptoLayout(self.crypto, self.network)
        ports = self.network.node_ports()
        self.orderer_address = f"127.0.0.1:{ports[('OrdererMSP', 'orderer0')].listen}"
        self._admins: list[adminclient.AdminTarget] = []
        self._nodes: list[tuple[str, subprocess.Popen[bytes]]] = []
        orderer_dir = self.layout.org("OrdererMSP").node_dir("orderer0")
        self._start("orderer", {
            "msp_id": "OrdererMSP", "msp_dir": str(orderer_dir / "msp"), "listen": self.orderer_address,
            "admin_listen": f"127.0.0.1:{ports[('OrdererMSP', 'orderer0')].admin}",
            "data_dir": str(root / "orderer"), "log_level": "WARNING"}, "OrdererMSP")
        for msp_id in self.msp_ids:
            node_ports = ports[(msp_id, "peer0")]
            self._start("peer", {
                "msp_id": msp_id, "msp_dir": str(self.layout.org(msp_id).node_dir("peer0") / "msp"),
                "listen": f"127.0.0.1:{node_ports.listen}", "admin_listen": f"127.0.0.1:{node_ports.admin}",
                "chaincode_listen": f"127.0.0.1:{node_ports.extra}", "data_dir": str(root / msp_id),
                "log_level": "WARNING", "chaincodes": chaincodes or []}, msp_id)

    @staticmethod
    def _free_base(nodes: int) -> int:
        base = 20000 + free_ports(1)[0] % 30000
        return base - base % 10

    def _start(self, kind: str, config: dict[str, Any], msp_id: str) -> None:
        path = self.root / f"{kind}-{msp_id}.yaml"
        path.write_text(yaml.safe_dump(config))
        process = subprocess.Popen([sys.executable, "-m", kind, "--config", str(path)])
        self._nodes.append((config["listen"], process))
        wait_healthy(config["listen"], process)
        org = self.layout.org(msp_id)
        admin = load_signing_identity(org.user_dir("Admin") / "msp", msp_id)
        self._admins.append(adminclient.AdminTarget(config["admin_listen"], admin))

    def __enter__(self) -> Self:
        block = genesis_block(build_channel_config(self.network, CHANNEL, self.crypto)).SerializeToString()
        for admin in self._admins:
            asyncio.run(adminclient.join_channel(admin, block))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for _, process in self._nodes:
            process.send_signal(signal.SIGTERM)
        for _, process in self._nodes:
            process.wait(30)

    def peer_address(self, msp_id: str) -> str:
        return f"127.0.0.1:{self.network.node_ports()[(msp_id, 'peer0')].listen}"

    def user_msp(self, msp_id: str) -> Path:
        return self.layout.org(msp_id).user_dir("User1") / "msp"

    def user(self, msp_id: str) -> SigningIdentity:
        return load_signing_identity(self.user_msp(msp_id), msp_id)
