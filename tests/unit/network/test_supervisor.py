"""What `consortia network up` refuses before it creates or starts anything, and `down`
on a directory whose nodes are gone (no process is started, no socket opened)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from consortia.config.network import load_network
from consortia.errors import ConfigError
from consortia.network import supervisor
from consortia.network.layout import NetworkDir, NetworkDirError, State, node_records, require_state, write_state
from consortia.network.processes import PidRecord, write_pid
from tests.conftest import REPO

pytestmark = pytest.mark.unit

MINIMAL = (REPO / "network-config" / "minimal.yaml").resolve()
NO_SUCH_PID = 2**22 + 12345


def test_a_bad_network_file_creates_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\norganizations: []\nsurprise: 1\n")
    dirs = NetworkDir(tmp_path / "net")
    with pytest.raises(ConfigError) as caught:
        asyncio.run(supervisor.up(bad, dirs, lambda line: None))
    assert any(p.startswith(f"{bad}:") for p in caught.value.problems), caught.value.problems
    assert not dirs.root.exists()


def test_a_directory_made_from_another_network_file_is_refused(tmp_path: Path) -> None:
    dirs = NetworkDir(tmp_path / "net")
    other = tmp_path / "other.yaml"
    other.write_text(MINIMAL.read_text())
    network = load_network(other)
    write_state(dirs, State(other, network.name, True, node_records(network, dirs), ready=True))
    with pytest.raises(NetworkDirError, match=r"holds network minimal of .*other\.yaml, which was made there; .*--clean"):
        asyncio.run(supervisor.up(MINIMAL, dirs, lambda line: None))


def test_down_reports_nodes_that_had_died_and_forgets_them(tmp_path: Path) -> None:
    dirs = NetworkDir(tmp_path / "net")
    network = load_network(MINIMAL)
    state = State(MINIMAL, network.name, True, node_records(network, dirs), ready=True)
    write_state(dirs, state)
    peer = dirs.node("peer0.org1.example.com")
    peer.root.mkdir(parents=True)
    write_pid(peer.pid, PidRecord(NO_SUCH_PID, str(peer.config)))
    stopped = asyncio.run(supervisor.down(dirs))
    assert stopped == [supervisor.Stopped("peer0.org1.example.com", NO_SUCH_PID, "not running")]
    assert not peer.pid.exists()
    asyncio.run(supervisor.down(dirs, clean=True))
    assert not dirs.root.exists()


def test_down_stops_what_the_pid_files_name_when_the_state_file_is_garbled(tmp_path: Path) -> None:
    dirs = NetworkDir(tmp_path / "net")
    network = load_network(MINIMAL)
    write_state(dirs, State(MINIMAL, network.name, True, node_records(network, dirs), ready=True))
    peer = dirs.node("peer0.org1.example.com")
    peer.root.mkdir(parents=True)
    write_pid(peer.pid, PidRecord(NO_SUCH_PID, str(peer.config)))
    dirs.state_file.write_text("{garbled")
    with pytest.raises(NetworkDirError, match=r"is not a network state file .*`consortia network down --clean --dir"):
        require_state(dirs)
    stopped = asyncio.run(supervisor.down(dirs, clean=True))
    assert stopped == [supervisor.Stopped("peer0.org1.example.com", NO_SUCH_PID, "not running")]
    assert not dirs.root.exists()


def test_down_where_there_is_no_network_is_refused(tmp_path: Path) -> None:
    dirs = NetworkDir(tmp_path / "empty")
    dirs.root.mkdir()
    with pytest.raises(NetworkDirError, match="no network in"):
        asyncio.run(supervisor.down(dirs))
    assert dirs.root.exists()
