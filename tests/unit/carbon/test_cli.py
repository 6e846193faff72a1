"""`consortia demo compliance-cycle` and `consortia carbon reconcile` before they dial
anything: where the network is, and what they say when there is none to use."""

from __future__ import annotations

from pathlib import Path

import pytest

from consortia.cli.main import build_parser, main
from consortia.config.network import load_network
from consortia.network.layout import NetworkDir, State, node_records, write_state
from tests.conftest import REPO

pytestmark = pytest.mark.unit


def test_the_commands_and_their_options() -> None:
    parser = build_parser()
    assert parser.parse_args(["demo", "compliance-cycle"]).dir is None
    assert parser.parse_args(["demo", "compliance-cycle", "--dir", "/tmp/n"]).dir == "/tmp/n"
    reconcile = parser.parse_args(["carbon", "reconcile", "--json"])
    assert reconcile.json and reconcile.dir is None


@pytest.mark.parametrize("command", [["demo", "compliance-cycle"], ["carbon", "reconcile"]])
def test_without_a_network_they_say_how_to_start_one(command: list[str], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert f"no network in {tmp_path}" in error and "consortia network up" in error


@pytest.mark.parametrize("command", [["demo", "compliance-cycle"], ["carbon", "reconcile"]])
def test_a_network_whose_up_did_not_finish_is_not_used(command: list[str], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    dirs = NetworkDir(tmp_path)
    network = load_network(REPO / "network-config" / "minimal.yaml")
    write_state(dirs, State(REPO / "network-config" / "minimal.yaml", network.name, network.tls,
                            node_records(network, dirs), ready=False))
    assert main([*command, "--dir", str(tmp_path)]) == 1
    assert "is not ready (its `network up` did not finish)" in capsys.readouterr().err
