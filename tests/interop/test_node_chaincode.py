"""A contract written with Hyperledger's fabric-contract-api (npm packages fabric-contract-api
and fabric-shim 2.5), started with `fabric-chaincode-node start`, dials our peer and is
endorsed by it: the same chaincode Fabric users already run, unmodified."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from peer.ledger.rwset import parse_rwset
from consortia.protoutil.transaction import unpack_transaction
from tests.interop.conftest import NODE_CHAINCODE, npm_install, wait_until_served
from tests.support.processes import free_ports, run
from tests.support.testnet import TestNetwork

pytestmark = pytest.mark.interop


def test_fabric_contract_api_chaincode_on_our_peer(tmp_path: Path) -> None:
    npm_install()
    net = TestNetwork(tmp_path)
    net.orderer.start()
    run(net.join("ch1"))
    listen = f"127.0.0.1:{free_ports(1)[0]}"
    peer = net.peer("Org1MSP", chaincode_listen=listen, chaincodes=[
        {"name": "nodecc", "channels": ["ch1"], "endorsement_policy": "OR('Org1MSP.peer')"}])
    peer.node.start()
    run(net.join_peer(peer, "ch1"))
    node = shutil.which("node")
    assert node is not None
    log = tmp_path / "nodecc.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [node, str(NODE_CHAINCODE / "node_modules" / ".bin" / "fabric-chaincode-node"), "start",
             "--peer.address", listen, "--chaincode-id-name", "nodecc", "--module-path", str(NODE_CHAINCODE)],
            cwd=NODE_CHAINCODE, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        wait_until_served(net, peer, "nodecc", "Whoami", process=process, log=log)
        proposal, responses = run(net.endorse([peer], "nodecc", "Put", "greeting", "hello"))
        assert (responses[0].response.status, responses[0].response.payload) == (200, b"stored greeting")
        assert run(net.submit(proposal, responses)) == 200
        chain = run(net.wait_for_height(peer, "ch1", 2))
        tx = unpack_transaction(chain[1].data.data[0])
        assert chain[1].metadata.metadata[2] == b"\x00"  # committed VALID
        assert tx.actions[0].event().event_name == "Put"
        writes = parse_rwset(tx.actions[0].chaincode_action.results).namespaces[0].writes
        assert [(w.key, w.value) for w in writes] == [("greeting", b"hello")]

        def call(*args: str) -> tuple[int, str, bytes]:
            _, (response,) = run(net.endorse([peer], "nodecc", *args))
            return response.response.status, response.response.message, response.response.payload

        assert call("Get", "greeting") == (200, "", b"hello")
        assert json.loads(call("Keys", "", "")[2]) == ["greeting"]
        assert json.loads(call("History", "greeting")[2]) == ["hello"]
        assert json.loads(call("Whoami")[2])["mspid"] == "Org1MSP"
        status, message, _ = call("Get", "missing")
        assert status == 500 and "missing does not exist" in message
        status, message, _ = call("NoSuchFunction")
        assert status == 500 and "does not exist: NoSuchFunction" in message
    finally:
        process.kill()
        process.wait()
