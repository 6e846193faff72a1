"""The network directory of `consortia network up`: node names and ports, node
configurations the nodes accept, and state.json."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from consortia import cpus
from consortia.config.network import Network, NodePorts, load_network
from consortia.config.node import load_orderer_config, load_peer_config
from consortia.config.schema import Duration
from consortia.cryptogen import CryptoLayout, generate
from consortia.network.layout import (
    NetworkDir,
    NetworkDirError,
    NodeRecord,
    State,
    cpu_placement,
    node_config,
    node_records,
    node_specs,
    read_state,
    require_state,
    write_state,
)
from tests.conftest import REPO

pytestmark = pytest.mark.unit


def test_nodes_are_named_as_their_crypto_folders_orderers_first(minimal: Network, carbon: Network) -> None:
    specs = node_specs(minimal)
    assert [(s.name, s.kind, s.msp_id) for s in specs] == [
        ("orderer0.orderer.example.com", "orderer", "OrdererMSP"),
        ("peer0.org1.example.com", "peer", "Org1MSP"),
    ]
    orderer, peer = specs
    assert (orderer.address, orderer.admin_address, orderer.chaincode_address) == (
        "127.0.0.1:7350", "127.0.0.1:7351", None)
    assert (peer.address, peer.admin_address, peer.chaincode_address) == (
        "127.0.0.1:7360", "127.0.0.1:7361", "127.0.0.1:7362")
    assert orderer.bound_ports() == [("listen", 7350), ("admin", 7351)]
    assert peer.bound_ports() == [("listen", 7360), ("admin", 7361), ("chaincode", 7362)]
    carbon_specs = node_specs(carbon)
    assert len(carbon_specs) == 1 + sum(len(o.peers) for o in carbon.organizations)
    assert carbon_specs[1].name == "peer0.mee.carbon.example"
    assert len({s.name for s in carbon_specs}) == len(carbon_specs)


def test_an_ipv6_host_is_bracketed(minimal: Network) -> None:
    spec = node_specs(Network(name="v6", organizations=minimal.organizations, host="::1"))[1]
    assert spec.address == "[::1]:7060"
    assert spec.ports == NodePorts(7060, 7061, 7062, 7063)


def test_the_directory_layout() -> None:
    dirs = NetworkDir(Path("/n"))
    assert dirs.state_file == Path("/n/state.json")
    assert dirs.crypto == Path("/n/crypto-config")
    assert dirs.channel_block("mychannel") == Path("/n/channels/mychannel.block")
    assert dirs.profile == Path("/n/connection.json")
    node = dirs.node("peer0.org1.example.com")
    assert node.config == Path("/n/nodes/peer0.org1.example.com/peer0.org1.example.com.yaml")
    assert (node.data, node.log, node.pid) == (node.root / "data", node.root / "node.log", node.root / "node.pid")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Network, NetworkDir]:
    root = tmp_path_factory.mktemp("netdir")
    network = load_network(REPO / "network-config" / "minimal.yaml")
    dirs = NetworkDir(root)
    generate(network, dirs.crypto)
    return network, dirs


def _write(network: Network, dirs: NetworkDir, index: int) -> Path:
    spec = node_specs(network)[index]
    node = dirs.node(spec.name)
    node.root.mkdir(parents=True, exist_ok=True)
    config = node_config(network, CryptoLayout(dirs.crypto, network), spec, node)
    node.config.write_text(yaml.safe_dump(config))
    return node.config


def test_node_configurations_with_tls_load_as_the_nodes_load_them(made: tuple[Network, NetworkDir]) -> None:
    network, dirs = made
    assert network.tls
    orderer = load_orderer_config(_write(network, dirs, 0))
    assert orderer.listen == "127.0.0.1:7350" and orderer.admin_listen == "127.0.0.1:7351"
    assert orderer.tls.enabled and not orderer.tls.client_auth
    node_tls = dirs.crypto / "ordererOrganizations/orderer.example.com/orderers/orderer0.orderer.example.com/tls"
    assert orderer.tls.cert == node_tls / "server.crt"
    peer = load_peer_config(_write(network, dirs, 1))
    assert peer.external_address == peer.listen == "127.0.0.1:7360"
    assert peer.chaincode_listen == "127.0.0.1:7362"
    assert peer.tls.root_cert is not None and peer.tls.root_cert.name == "ca.crt"
    assert peer.data_dir == dirs.node("peer0.org1.example.com").data
    assert peer.proposal_time_window == 15 * 60 * 1000  # the network's default
    # Paths are relative to the file, so the folder can move.
    text = yaml.safe_load(dirs.node("peer0.org1.example.com").config.read_text())
    assert not Path(text["msp_dir"]).is_absolute() and text["data_dir"] == "data"


def test_a_network_can_switch_the_proposal_time_check_off(made: tuple[Network, NetworkDir]) -> None:
    """For replaying dated scenarios: every peer accepts any proposal timestamp."""
    network, dirs = made
    replay = Network(name=network.name, organizations=network.organizations, base_port=network.base_port,
                     proposal_time_window=Duration(0), orderer=network.orderer, channels=network.channels)
    spec = node_specs(replay)[1]
    node = dirs.node(spec.name)
    node.root.mkdir(parents=True, exist_ok=True)
    config = node_config(replay, CryptoLayout(dirs.crypto, replay), spec, node)
    assert config["proposal_time_window"] == 0
    path = node.root / "replay.yaml"  # beside the node's own, so its relative paths hold
    path.write_text(yaml.safe_dump(config))
    assert load_peer_config(path).proposal_time_window == 0


def test_without_tls_the_nodes_run_plaintext(made: tuple[Network, NetworkDir]) -> None:
    network, dirs = made
    plain = Network(name=network.name, organizations=network.organizations, base_port=network.base_port,
                    tls=False, orderer=network.orderer, channels=network.channels)
    config = node_config(plain, CryptoLayout(dirs.crypto, plain), node_specs(plain)[1], dirs.node("x"))
    assert "tls" not in config
    assert all(r.tls_ca is None for r in node_records(plain, dirs))


@pytest.mark.skipif(not cpus.supported(), reason="choosing CPUs needs Linux")
def test_each_node_gets_a_cpu_and_a_peer_s_chaincode_the_next(made: tuple[Network, NetworkDir],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    network, dirs = made
    monkeypatch.setattr(cpus, "available", lambda: [0, 1])
    placement = cpu_placement(network, node_specs(network))
    assert placement == {"orderer0.orderer.example.com": (0, None), "peer0.org1.example.com": (1, 0)}
    peer_spec = node_specs(network)[1]
    config = node_config(network, CryptoLayout(dirs.crypto, network), peer_spec, dirs.node(peer_spec.name),
                         placement[peer_spec.name])
    assert (config["cpus"], config["chaincode_cpus"]) == ([1], [0])
    # The file the peer reads carries them (both CPUs exist on any machine with two).
    if {0, 1} <= set(os.sched_getaffinity(0)):
        path = _write(network, dirs, 1)
        path.write_text(yaml.safe_dump(config))
        loaded = load_peer_config(path)
        assert (loaded.cpus, loaded.chaincode_cpus) == ([1], [0])
    # `none` leaves the processes to the kernel: nothing in the node files.
    kernel = Network(name=network.name, organizations=network.organizations, base_port=network.base_port,
                     cpu_placement="none", orderer=network.orderer, channels=network.channels)
    assert cpu_placement(kernel, node_specs(kernel)) == {}
    assert "cpus" not in node_config(kernel, CryptoLayout(dirs.crypto, kernel), peer_spec, dirs.node(peer_spec.name))


def test_state_round_trips_and_names_each_node_s_admin_and_tls_ca(made: tuple[Network, NetworkDir]) -> None:
    network, dirs = made
    state = State(Path("/abs/minimal.yaml"), "minimal", True, node_records(network, dirs), ready=True)
    write_state(dirs, state)
    assert read_state(dirs) == state
    peer = state.nodes[1]
    assert (dirs.root / peer.admin_msp_dir / "signcerts").is_dir()
    assert peer.tls_ca is not None and (dirs.root / peer.tls_ca).is_file()
    assert peer.chaincode_address == "127.0.0.1:7362"


def test_a_directory_without_state_holds_no_network(tmp_path: Path) -> None:
    assert read_state(NetworkDir(tmp_path)) is None
    with pytest.raises(NetworkDirError, match="no network in .*consortia network up"):
        require_state(NetworkDir(tmp_path))
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(NetworkDirError, match="is not a network state file"):
        read_state(NetworkDir(tmp_path))


def _record(name: str) -> NodeRecord:
    return NodeRecord(name, "peer", "M", "a:1", "a:2", "msp", None)


def test_nodes_are_found_by_name_or_an_unambiguous_start_of_it() -> None:
    state = State(Path("/f"), "n", True, [_record("orderer0.orderer.example.com"), _record("peer0.org1.example.com"),
                                         _record("peer0.org2.example.com")])
    assert state.node("orderer0").name == "orderer0.orderer.example.com"
    assert state.node("peer0.org2").name == "peer0.org2.example.com"
    assert state.node("peer0.org1.example.com").name == "peer0.org1.example.com"
    with pytest.raises(NetworkDirError, match="'peer0' could be any of peer0.org1.example.com, peer0.org2.example.com"):
        state.node("peer0")
    with pytest.raises(NetworkDirError, match="no node 'peer9' in network n; its nodes are orderer0"):
        state.node("peer9")
