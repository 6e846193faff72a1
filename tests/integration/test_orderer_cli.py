"""The orderer through the `consortia` command, as a user drives it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fabric_protos.common import common_pb2

from consortia.channelconfig.genesis import config_from_block
from tests.support.testnet import TestNetwork
from tests.support.processes import NodeProcess, cli as consortia

pytestmark = pytest.mark.integration



def test_genesis_start_join_list_remove(tmp_path: Path) -> None:
    net = TestNetwork(tmp_path)
    result = consortia("channel", "genesis", "ch1", "--network", "network.yaml", "--crypto", "crypto",
                       "--out", "blocks/ch1.block", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    block = common_pb2.Block.FromString((tmp_path / "blocks" / "ch1.block").read_bytes())
    assert config_from_block(block).channel_id == "ch1"
    assert consortia("channel", "genesis", "nope", "--network", "network.yaml", "--crypto", "crypto",
                     "--out", "x.block", cwd=tmp_path).stderr.startswith("error: network 'ordertest' has no channel 'nope'")

    # `consortia orderer start` runs the node in the foreground, as its own process.
    node = NodeProcess("orderer0", "orderer", net.orderer.config, net.address, tmp_path / "cli-orderer.log")
    node.module = "consortia.cli.main"
    cli_start = [sys.executable, "-m", "consortia.cli.main", "orderer", "start", "--config", str(net.orderer.config)]
    log = open(node.log_path, "ab")  # noqa: SIM115
    node.proc = subprocess.Popen(cli_start, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    node.wait_healthy(20)
    assert "(event loop: uvloop, gRPC poller thread: SCHED_BATCH)" in node.log_path.read_text()  # grpcenv.run
    admin_dir = net.layout.org("OrdererMSP").user_dir("Admin") / "msp"
    admin = ["--admin", net.admin_address, "--msp-dir", str(admin_dir), "--msp-id", "OrdererMSP"]
    try:
        joined = consortia("orderer", "join", "--channel-block", "blocks/ch1.block", *admin, cwd=tmp_path)
        assert joined.returncode == 0 and joined.stdout == "joined channel ch1 (height 1)\n", joined.stderr
        again = consortia("orderer", "join", "--channel-block", "blocks/ch1.block", *admin, cwd=tmp_path)
        assert again.returncode == 1 and "already serves channel ch1" in again.stderr
        listed = consortia("orderer", "list", *admin, cwd=tmp_path)
        assert listed.stdout == "ch1\theight 1\n"
        user = ["--admin", net.admin_address, "--msp-dir",
                str(net.layout.org("Org1MSP").user_dir("User1") / "msp"), "--msp-id", "Org1MSP"]
        refused = consortia("orderer", "list", *user, cwd=tmp_path)
        assert refused.returncode == 1
        assert "refused: admin request refused: identity belongs to Org1MSP, not to OrdererMSP" in refused.stderr
        missing = consortia("orderer", "join", "--channel-block", "nothing.block", *admin, cwd=tmp_path)
        assert missing.returncode == 1 and "cannot read channel block nothing.block" in missing.stderr
        removed = consortia("orderer", "remove", "--channel", "ch1", *admin, cwd=tmp_path)
        assert removed.returncode == 0 and removed.stdout == "removed channel ch1 (it had 1 blocks)\n"
        assert consortia("orderer", "list", *admin, cwd=tmp_path).stdout == "no channels\n"
    finally:
        assert node.stop() == 0


def test_start_with_a_bad_config_exits_with_the_reason(tmp_path: Path) -> None:
    config = tmp_path / "orderer.yaml"
    start = [sys.executable, "-m", "consortia.cli.main", "orderer", "start", "--config", str(config)]
    config.write_text("msp_id: OrdererMSP\nmsp_dir: nowhere\nlisten: 127.0.0.1:7050\nadmin_listen: x:1\ndata_dir: d\nlistn: 1\n")
    result = subprocess.run(start, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"{config}:6 listn: unknown field; did you mean 'listen'?" in result.stderr
    config.write_text("msp_id: OrdererMSP\nmsp_dir: nowhere\nlisten: 127.0.0.1:99999\nadmin_listen: x\ndata_dir: d\n")
    result = subprocess.run(start, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"{config}:3 listen: expected host:port with a port from 1 to 65535, found '127.0.0.1:99999'" in result.stderr
    assert f"{config}:4 admin_listen: expected host:port" in result.stderr
    assert f"{config}:2 msp_dir: {tmp_path / 'nowhere'} is not an MSP folder" in result.stderr
    missing = subprocess.run([sys.executable, "-m", "consortia.cli.main", "orderer", "start", "--config", "nope.yaml"],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert missing.returncode == 1 and "node configuration nope.yaml does not exist" in missing.stderr


def test_port_in_use_is_reported(tmp_path: Path) -> None:
    net = TestNetwork(tmp_path)
    net.orderer.start()
    # The first orderer answers health checks on that address, so wait for the second to exit.
    second = subprocess.run([sys.executable, "-m", "orderer", "--config", str(net.orderer.config)],
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 1
    assert f"cannot listen on {net.address}: the address is in use" in second.stderr
