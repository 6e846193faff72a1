"""The peer through the `consortia` command: start, join, list, remove."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import cli as consortia
from tests.support.processes import run
from tests.support.testnet import TestNetwork
from tests.support.transactions import NsWrites, endorser_transaction

pytestmark = pytest.mark.integration



def test_peer_start_join_list_remove(tmp_path: Path) -> None:
    net = TestNetwork(tmp_path)
    net.orderer.start()
    run(net.join("ch1"))
    # The peer must join with the very genesis block the orderer serves: another genesis
    # block for the same channel name is another chain, whose blocks the peer would refuse.
    (tmp_path / "ch1.block").write_bytes(net.genesis("ch1"))
    peer = net.peer("Org1MSP")
    log = open(peer.node.log_path, "ab")  # noqa: SIM115
    peer.node.proc = subprocess.Popen(
        [sys.executable, "-m", "consortia.cli.main", "peer", "start", "--config", str(peer.node.config)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    peer.node.wait_healthy(20)
    admin = ["--admin", peer.admin_address, "--msp-dir",
             str(net.layout.org("Org1MSP").user_dir("Admin") / "msp"), "--msp-id", "Org1MSP"]
    try:
        joined = consortia("peer", "join", "--channel-block", "ch1.block", *admin, cwd=tmp_path)
        assert joined.returncode == 0 and joined.stdout == "joined channel ch1 (height 1)\n", joined.stderr
        e1, e2 = net.identity("Org1MSP", "peer0"), net.identity("Org2MSP", "peer0")
        run(net.broadcast([endorser_transaction("ch1", "cc", net.identity("Org1MSP"), [e1, e2],
                                                {"cc": NsWrites(writes={"k": b"v"})})]))
        run(net.wait_for_height(peer, "ch1", 2))
        assert consortia("peer", "list", *admin, cwd=tmp_path).stdout == "ch1\theight 2\n"
        refused = consortia("peer", "join", "--channel-block", "ch1.block", "--admin", peer.admin_address,
                            "--msp-dir", str(net.layout.org("Org2MSP").user_dir("Admin") / "msp"),
                            "--msp-id", "Org2MSP", cwd=tmp_path)
        assert refused.returncode == 1 and "identity belongs to Org2MSP, not to Org1MSP" in refused.stderr
        removed = consortia("peer", "remove", "--channel", "ch1", *admin, cwd=tmp_path)
        assert removed.returncode == 0 and removed.stdout == "removed channel ch1 (it had 2 blocks)\n"
    finally:
        assert peer.node.stop() == 0
