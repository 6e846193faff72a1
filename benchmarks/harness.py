"""A network for benchmarks: crypto material, one orderer, one peer per organization, a
channel they all joined, and chaincode the peers launch. Nodes run as real processes
on loopback (started as the integration tests start them) and log warnings only, so
the figures are not spent on logging.

    with BenchNetwork(Path(tmp), orgs=2, chaincodes=[...]) as net:
        net.peer_address("Org1MSP"), net.user("Org1MSP"), net.crypto
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import yaml

from benchmarks import procstats
from consortia import adminclient, cryptogen
from consortia.channelconfig.build import build_channel_config
from consortia.channelconfig.genesis import genesis_block
from consortia.config.network import load_network
from consortia.endpoint import NodeEndpoint
from consortia.msp.layout import load_signing_identity
from consortia.msp.signing import SigningIdentity
from tests.support.processes import NodeProcess, free_port_block

CHANNEL = "bench"


class BenchNetwork:
    def __init__(self, root: Path, *, orgs: int = 1, peers: bool = True, chaincodes: list[dict[str, Any]] | None = None,
                 policy: str | None = None, batch: dict[str, Any] | None = None) -> None:
        self.root = root
        self.msp_ids = [f"Org{i}MSP" for i in range(1, orgs + 1)]
        channel: dict[str, Any] = {"name": CHANNEL, "organizations": self.msp_ids}
        if policy:
            channel["endorsement_policy"] = policy
        spec: dict[str, Any] = {
            "name": "bench", "base_port": free_port_block(10 * (orgs + 1)),
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
        self._admins: list[NodeEndpoint] = []
        self._nodes: list[NodeProcess] = []
        self._start("orderer", "OrdererMSP", "orderer0", {"data_dir": str(root / "orderer")})
        for msp_id in self.msp_ids if peers else []:
            self._start("peer", msp_id, "peer0", {
                "chaincode_listen": f"127.0.0.1:{ports[(msp_id, 'peer0')].extra}", "data_dir": str(root / msp_id),
                "chaincodes": chaincodes or []})

    def _start(self, kind: str, msp_id: str, name: str, settings: dict[str, Any]) -> None:
        ports = self.network.node_ports()[(msp_id, name)]
        org = self.layout.org(msp_id)
        config = {"msp_id": msp_id, "msp_dir": str(org.node_dir(name) / "msp"), "listen": f"127.0.0.1:{ports.listen}",
                  "admin_listen": f"127.0.0.1:{ports.admin}", "log_level": "WARNING", **settings}
        path = self.root / f"{kind}-{msp_id}.yaml"
        path.write_text(yaml.safe_dump(config))
        node = NodeProcess(f"{name}.{org.domain}", kind, path, config["listen"], self.root / f"{kind}-{msp_id}.log")
        self._nodes.append(node)
        node.start(timeout=30)
        admin = load_signing_identity(org.user_dir("Admin") / "msp", msp_id)
        self._admins.append(NodeEndpoint(config["admin_listen"], admin))

    def __enter__(self) -> Self:
        block = genesis_block(build_channel_config(self.network, CHANNEL, self.crypto)).SerializeToString()
        for admin in self._admins:
            asyncio.run(adminclient.join_channel(admin, block))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for node in self._nodes:
            node.stop(30)

    def peer_address(self, msp_id: str) -> str:
        return f"127.0.0.1:{self.network.node_ports()[(msp_id, 'peer0')].listen}"

    def user_msp(self, msp_id: str) -> Path:
        return self.layout.org(msp_id).user_dir("User1") / "msp"

    def user(self, msp_id: str) -> SigningIdentity:
        return load_signing_identity(self.user_msp(msp_id), msp_id)

    def peer_identity(self, msp_id: str) -> SigningIdentity:
        return load_signing_identity(self.layout.org(msp_id).node_dir("peer0") / "msp", msp_id)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) each node used so far, and its chaincode processes
        (the node's children) together under "NAME chaincode"."""
        nodes = {node.proc.pid: node.name for node in self._nodes if node.proc is not None}
        return procstats.node_figures(nodes, procstats.cpu_seconds, lambda name: f"{name} chaincode")
