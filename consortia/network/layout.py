"""The network directory: everything `consortia network up` makes and runs, in one folder.

    consortia-network/
        state.json                     the network file, the nodes, whether `up` finished
        crypto-config/                 every identity, in cryptogen's layout
        channels/<channel>.block       genesis blocks, made once and kept
        nodes/<node>/<node>.yaml       the node's configuration (paths relative to it)
                     data/             its ledger
                     node.log          its stdout and stderr, appended on every start
                     node.pid          the process while it runs
        chaincode/                     chaincode packages made by the deployment
                  init-pending/        init transactions a deployment still owes (their nonce)
        connection.json                the connection profile clients use

A node is named as its crypto folder is: its name and its organization's domain,
`orderer0.orderer.example.com`, `peer0.org1.example.com`.

`state.json` is what `down`, `status`, `logs` and the client commands read: they work
from it alone, so editing the network file while the network runs cannot make them
lose a node.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from consortia import cpus
from consortia.config.network import Network, NodePorts
from consortia.cryptogen import ADMIN, CryptoLayout
from consortia.errors import ConsortiaError

DEFAULT_DIR = "consortia-network"
DIR_ENV = "CONSORTIA_NETWORK_DIR"
STATE_FILE = "state.json"

NodeKind = Literal["orderer", "peer"]


class NetworkDirError(ConsortiaError):
    """The network directory is missing, unreadable, or holds another network."""


def default_dir() -> Path:
    """$CONSORTIA_NETWORK_DIR, or ./consortia-network."""
    return Path(os.environ.get(DIR_ENV) or DEFAULT_DIR)


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class NodeSpec:
    """One node of the network: who it is and where it listens."""

    name: str  # "<node>.<domain>", as its crypto folder
    kind: NodeKind
    msp_id: str
    node_name: str  # the name in the network file: "peer0"
    host: str
    ports: NodePorts

    @property
    def address(self) -> str:
        return host_port(self.host, self.ports.listen)

    @property
    def admin_address(self) -> str:
        return host_port(self.host, self.ports.admin)

    @property
    def chaincode_address(self) -> str | None:
        return host_port(self.host, self.ports.extra) if self.kind == "peer" else None

    def bound_ports(self) -> list[tuple[str, int]]:
        """The ports the node's process listens on, each with what it is for."""
        ports = [("listen", self.ports.listen), ("admin", self.ports.admin)]
        if self.kind == "peer":
            ports.append(("chaincode", self.ports.extra))
        return ports


def node_specs(network: Network) -> list[NodeSpec]:
    """Every node of the network: orderers first, then each org's peers, in file order."""
    ports = network.node_ports()
    specs = [
        NodeSpec(f"{node.name}.{network.orderer.domain}", "orderer", network.orderer.msp_id, node.name,
                 network.host, ports[(network.orderer.msp_id, node.name)])
        for node in network.orderer.nodes
    ]
    specs += [
        NodeSpec(f"{peer.name}.{org.domain}", "peer", org.msp_id, peer.name, network.host, ports[(org.msp_id, peer.name)])
        for org in network.organizations
        for peer in org.peers
    ]
    return specs


@dataclass(frozen=True)
class NodeDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / f"{self.root.name}.yaml"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "node.log"

    @property
    def pid(self) -> Path:
        return self.root / "node.pid"


@dataclass(frozen=True)
class NetworkDir:
    root: Path

    @property
    def state_file(self) -> Path:
        return self.root / STATE_FILE

    @property
    def crypto(self) -> Path:
        return self.root / "crypto-config"

    @property
    def channels(self) -> Path:
        return self.root / "channels"

    @property
    def nodes(self) -> Path:
        return self.root / "nodes"

    @property
    def packages(self) -> Path:
        return self.root / "chaincode"

    @property
    def profile(self) -> Path:
        return self.root / "connection.json"

    def channel_block(self, channel: str) -> Path:
        return self.channels / f"{channel}.block"

    def node(self, name: str) -> NodeDir:
        return NodeDir(self.nodes / name)


# --- state.json -------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeRecord:
    """A node as state.json remembers it (paths relative to the network directory)."""

    name: str
    kind: NodeKind
    msp_id: str
    address: str
    admin_address: str
    # Where the org's Admin identity (msp/) is, to sign admin requests to the node.
    admin_msp_dir: str
    # The CA of the node's TLS certificate; None when the network runs without TLS.
    tls_ca: str | None
    chaincode_address: str | None = None


@dataclass(frozen=True)
class State:
    network_file: Path
    name: str
    tls: bool
    nodes: list[NodeRecord] = field(default_factory=list)
    # True once `up` has joined every channel and deployed every chaincode.
    ready: bool = False

    def node(self, name: str) -> NodeRecord:
        """A node by its full name or an unambiguous start of it (`orderer0`, `peer0.org1`)."""
        names = [n.name for n in self.nodes]
        matches = matching_names(name, names)
        if len(matches) == 1:
            return self.nodes[names.index(matches[0])]
        if matches:
            raise NetworkDirError(f"{name!r} could be any of {', '.join(matches)}: give the full name")
        raise NetworkDirError(f"no node {name!r} in network {self.name}; its nodes are {', '.join(names)}")


def matching_names(name: str, names: Sequence[str]) -> list[str]:
    """The names `name` picks out, as a user names a node or a log: itself if it is one
    of them, otherwise every one that starts with it (one match: unambiguous)."""
    return [name] if name in names else [n for n in names if n.startswith(name)]


def node_records(network: Network, dirs: NetworkDir) -> list[NodeRecord]:
    crypto = CryptoLayout(dirs.crypto, network)
    records = []
    for spec in node_specs(network):
        org = crypto.org(spec.msp_id)
        tls_ca = org.node_dir(spec.node_name) / "tls" / "ca.crt"
        records.append(NodeRecord(
            name=spec.name, kind=spec.kind, msp_id=spec.msp_id, address=spec.address,
            admin_address=spec.admin_address, chaincode_address=spec.chaincode_address,
            admin_msp_dir=_relative(org.user_dir(ADMIN) / "msp", dirs.root),
            tls_ca=_relative(tls_ca, dirs.root) if network.tls else None,
        ))
    return records


def _relative(path: Path, root: Path) -> str:
    return os.path.relpath(path, root)


def write_state(dirs: NetworkDir, state: State) -> None:
    """Write state.json atomically (a crash leaves the old one or the new one)."""
    doc: dict[str, Any] = {
        "network_file": str(state.network_file),
        "name": state.name,
        "tls": state.tls,
        "ready": state.ready,
        "nodes": [vars(node) for node in state.nodes],
    }
    write_json(dirs.state_file, doc)


def write_json(path: Path, doc: Any) -> None:
    """Write a JSON file atomically: a crash leaves the old file or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)


def read_state(dirs: NetworkDir) -> State | None:
    """The directory's state, or None when it holds no network."""
    try:
        doc = json.loads(dirs.state_file.read_text())
        return State(
            network_file=Path(doc["network_file"]),
            name=str(doc["name"]),
            tls=bool(doc["tls"]),
            ready=bool(doc.get("ready", False)),
            nodes=[NodeRecord(**node) for node in doc["nodes"]],
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NetworkDirError(f"{dirs.state_file} is not a network state file ({exc}); `consortia network down "
                              f"--clean --dir {dirs.root}` stops what still runs there and removes it") from exc


def require_state(dirs: NetworkDir) -> State:
    state = read_state(dirs)
    if state is None:
        raise NetworkDirError(f"no network in {dirs.root} (no {STATE_FILE}); start one with `consortia network up`")
    return state


# --- node configuration -----------------------------------------------------------------


def cpu_placement(network: Network, specs: list[NodeSpec]) -> dict[str, tuple[int, int | None]]:
    """The CPUs of each node's process and of a peer's chaincode processes, by node
    name; empty when the network leaves placement to the kernel, or the platform cannot
    choose (consortia.cpus). The nodes take their turns in name order, so that the same
    network on the same machine always gets the same placement."""
    if network.cpu_placement == "none":
        return {}
    ordered = sorted(specs, key=lambda spec: spec.name)
    return cpus.spread([(spec.name, spec.kind == "peer") for spec in ordered], cpus.available())


def node_config(network: Network, crypto: CryptoLayout, spec: NodeSpec, node_dir: NodeDir,
                placement: tuple[int, int | None] | None = None) -> dict[str, Any]:
    """The YAML document of a node's configuration (consortia/config/node.py), with
    paths relative to the file; `placement`: the CPU of its process, and of its
    chaincode processes."""

    def rel(path: Path) -> str:
        return _relative(path, node_dir.root)

    identity = crypto.org(spec.msp_id).node_dir(spec.node_name)
    config: dict[str, Any] = {
        "msp_id": spec.msp_id,
        "msp_dir": rel(identity / "msp"),
        "listen": spec.address,
        "admin_listen": spec.admin_address,
        "data_dir": rel(node_dir.data),
    }
    if network.tls:
        tls = identity / "tls"
        config["tls"] = {
            "enabled": True,
            "cert": rel(tls / "server.crt"),
            "key": rel(tls / "server.key"),
            "root_cert": rel(tls / "ca.crt"),
            "client_auth": False,
        }
    if spec.kind == "peer":
        config["external_address"] = spec.address
        config["chaincode_listen"] = spec.chaincode_address
        config["proposal_time_window"] = int(network.proposal_time_window)
    if placement is not None:
        config["cpus"] = [placement[0]]
        if placement[1] is not None:
            config["chaincode_cpus"] = [placement[1]]
    return config
