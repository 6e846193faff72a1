"""The command line of `consortia network`, and the client commands finding a network
that `consortia network up` runs (options only: nothing is started or dialled)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consortia.cli.client_cmd import DEFAULT_CRYPTO, DEFAULT_NETWORK, resolve_target
from consortia.cli.main import build_parser
from consortia.config.network import load_network
from consortia.cryptogen import CryptoLayout, generate
from consortia.network.layout import DIR_ENV, NetworkDir, State, node_records, write_state
from tests.conftest import REPO

pytestmark = pytest.mark.unit

MINIMAL = (REPO / "network-config" / "minimal.yaml").resolve()


@pytest.fixture(scope="module")
def network_dir(tmp_path_factory: pytest.TempPathFactory) -> NetworkDir:
    """A directory as `network up` leaves it (state and crypto material; no process)."""
    dirs = NetworkDir(tmp_path_factory.mktemp("up"))
    network = load_network(MINIMAL)
    generate(network, dirs.crypto)
    write_state(dirs, State(MINIMAL, network.name, network.tls, node_records(network, dirs), ready=True))
    return dirs


def test_network_verbs_and_their_options() -> None:
    parser = build_parser()
    up = parser.parse_args(["network", "up"])
    assert (up.file, up.dir) == (None, None)
    up = parser.parse_args(["network", "up", "n.yaml", "--dir", "/tmp/x"])
    assert (up.file, up.dir) == ("n.yaml", "/tmp/x")
    down = parser.parse_args(["network", "down", "--clean"])
    assert down.clean
    status = parser.parse_args(["network", "status", "--json"])
    assert status.json
    logs = parser.parse_args(["network", "logs", "orderer0", "-n", "20"])
    assert (logs.node, logs.lines, logs.follow) == ("orderer0", 20, False)
    assert build_parser().parse_args(["network", "logs", "peer0", "-f"]).follow


def test_lifecycle_commands_take_fabric_s_output_option_or_json(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    fabric = parser.parse_args(["chaincode", "queryinstalled", "--org", "Org1", "-O", "json"])
    assert (fabric.output, fabric.json) == ("json", False)
    assert parser.parse_args(["chaincode", "calculatepackageid", "p.tar.gz", "--output", "json"]).output == "json"
    assert parser.parse_args(["chaincode", "querycommitted", "--channel", "c", "--org", "Org1", "--json"]).json
    with pytest.raises(SystemExit):
        parser.parse_args(["chaincode", "queryinstalled", "--org", "Org1", "-O", "yaml"])
    assert "invalid choice: 'yaml'" in capsys.readouterr().err


def test_lifecycle_commands_take_fabric_s_names() -> None:
    parser = build_parser()
    fabric = parser.parse_args(["chaincode", "approveformyorg", "-C", "ch", "-n", "cc", "-v", "1.0", "--sequence", "2",
                                "--package-id", "cc_1:" + "0" * 64, "--org", "Org1"])
    ours = parser.parse_args(["chaincode", "approve", "--channel", "ch", "--name", "cc", "--version", "1.0",
                              "--sequence", "2", "--package-id", "cc_1:" + "0" * 64, "--org", "Org1"])
    assert fabric.handler is ours.handler
    assert vars(fabric) | {"verb": "approve"} == vars(ours)
    committed = parser.parse_args(["chaincode", "querycommitted", "--channelID", "ch", "-n", "cc", "--org", "Org1"])
    assert (committed.channel, committed.name) == ("ch", "cc")


def test_a_log_line_count_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["network", "logs", "orderer0", "-n", "0"])
    assert "expected 1 or more, got 0" in capsys.readouterr().err


def test_clients_use_the_running_network_and_its_tls(network_dir: NetworkDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DIR_ENV, str(network_dir.root))
    args = build_parser().parse_args(["query", "mychannel", "cc", "get", "k", "--org", "Org1"])
    assert Path(args.network) == MINIMAL
    assert Path(args.crypto) == network_dir.crypto
    target = resolve_target(args)
    assert target.address == "127.0.0.1:7360"
    org = CryptoLayout(network_dir.crypto, load_network(MINIMAL)).org("Org1MSP")
    assert target.tls_ca == org.tlsca_cert.read_bytes()
    assert target.client_cert is None and target.client_key is None  # the nodes do not ask for one
    assert target.signer.msp_id == "Org1MSP"
    explicit = resolve_target(build_parser().parse_args(["query", "mychannel", "cc", "get", "--org", "Org1", "--tls"]))
    assert explicit.client_cert == (org.user_dir("User1") / "tls" / "client.crt").read_bytes()


def test_another_network_file_gets_no_tls_unless_asked(network_dir: NetworkDir, monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.setenv(DIR_ENV, str(network_dir.root))
    other = tmp_path / "copy.yaml"
    other.write_text(MINIMAL.read_text())
    args = build_parser().parse_args(["query", "mychannel", "cc", "get", "--org", "Org1", "--network", str(other),
                                      "--crypto", str(network_dir.crypto)])
    assert resolve_target(args).tls_ca is None


def test_without_a_network_directory_the_defaults_stay(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DIR_ENV, str(tmp_path / "nothing-here"))
    args = build_parser().parse_args(["events", "mychannel", "--org", "Org1"])
    assert (args.network, args.crypto) == (DEFAULT_NETWORK, DEFAULT_CRYPTO)
