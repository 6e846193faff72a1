"""A contract written with Hyperledger's fabric-chaincode-python (PyPI, 2.5.4), run as a
chaincode-as-a-service and endorsed by our peer. That library handles one transaction
at a time on its stream, so the calls here go one after another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from consortia.protoutil.transaction import unpack_transaction
from tests.interop.conftest import PYTHON_CHAINCODE, wait_until_served
from tests.support.processes import free_ports, run
from tests.support.testnet import TestNetwork

pytestmark = pytest.mark.interop


@pytest.mark.xfail(sys.version_info >= (3, 12), strict=True, raises=AssertionError,
                   reason="fabric-chaincode-python 2.5.4 makes its grpc.aio server outside the event loop it "
                          "then runs it on, which Python 3.12 and later refuse ('attached to a different loop'): "
                          "its bug, not ours")
def test_fabric_chaincode_python_on_our_peer(tmp_path: Path) -> None:
    net = TestNetwork(tmp_path)
    net.orderer.start()
    run(net.join("ch1"))
    address = f"127.0.0.1:{free_ports(1)[0]}"
    peer = net.peer("Org1MSP", chaincodes=[
        {"name": "pycc", "channels": ["ch1"], "address": address, "endorsement_policy": "OR('Org1MSP.peer')"}])
    peer.node.start()
    run(net.join_peer(peer, "ch1"))
    log = tmp_path / "pycc.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(PYTHON_CHAINCODE / "ledger.py")],
            env={**os.environ, "CHAINCODE_ID": "pycc", "CHAINCODE_SERVER_ADDRESS": address},
            stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        wait_until_served(net, peer, "pycc", "Keys", "", "", process=process, log=log)
        proposal, responses = run(net.endorse([peer], "pycc", "Put", "greeting", "hello"))
        assert (responses[0].response.status, responses[0].response.payload) == (200, b"stored greeting")
        assert run(net.submit(proposal, responses)) == 200
        chain = run(net.wait_for_height(peer, "ch1", 2))
        assert chain[1].metadata.metadata[2] == b"\x00"
        # fabric-chaincode-python 2.5.4 records events but never sends them in its
        # COMPLETED message, so the transaction carries none (a limit of that library).
        assert unpack_transaction(chain[1].data.data[0]).actions[0].chaincode_action.response.payload == b"stored greeting"

        def call(*args: str) -> tuple[int, str, bytes]:
            _, (response,) = run(net.endorse([peer], "pycc", *args))
            return response.response.status, response.response.message, response.response.payload

        assert call("Get", "greeting") == (200, "", b"hello")
        assert json.loads(call("Keys", "", "")[2]) == ["greeting"]
        status, message, _ = call("Get", "missing")
        assert status == 500 and "missing does not exist" in message
        status, message, _ = call("Nope")
        assert status == 500 and "Nope not found" in message
    finally:
        process.kill()
        process.wait()
