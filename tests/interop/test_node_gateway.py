"""Hyperledger's official Node Gateway client (npm @hyperledger/fabric-gateway), unmodified,
against Consortia peers: evaluate, submit and wait for commit, chaincode events, and
failures as such an application sees them (EndorseError, CommitError, GatewayError)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric_protos.peer import transaction_pb2

from tests.interop.conftest import NODE_GATEWAY, npm_install
from tests.support.gatewaynet import GatewayNet

pytestmark = pytest.mark.interop

Code = transaction_pb2.TxValidationCode
ABORTED, UNKNOWN = 10, 2  # gRPC status codes, as the Node client reports them


@pytest.fixture(scope="module", params=["plaintext", "mutual-tls"])
def gw(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayNet]:
    npm_install(NODE_GATEWAY)
    net = GatewayNet(tmp_path_factory.mktemp(f"node-gateway-{request.param}"), tls=request.param != "plaintext",
                     mutual_tls=request.param != "plaintext")
    yield net
    net.stop()


def run_app(gw: GatewayNet, tmp_path: Path) -> dict[str, object]:
    user = gw.net.layout.org("Org1MSP").user_dir("User1")
    config: dict[str, object] = {
        "address": gw.peer1.address, "mspId": "Org1MSP", "channel": "ch1", "chaincode": "probe",
        "certPath": str(next((user / "msp" / "signcerts").iterdir())),
        "keyPath": str(next((user / "msp" / "keystore").iterdir())),
    }
    if gw.net.client_tls["root_ca"] is not None:
        config["tlsRootCertPath"] = str(gw.net.layout.org("Org1MSP").node_dir("peer0") / "tls" / "ca.crt")
        config["tlsClientCertPath"] = str(user / "tls" / "client.crt")
        config["tlsClientKeyPath"] = str(user / "tls" / "client.key")
    (tmp_path / "app.json").write_text(json.dumps(config))
    node = shutil.which("node")
    assert node is not None, "Node.js is needed for the Node Gateway interop test"
    result = subprocess.run([node, str(NODE_GATEWAY / "app.js"), str(tmp_path / "app.json")], cwd=NODE_GATEWAY,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"the Node application failed:\n{result.stderr}\n{gw.peer1.node.tail()}"
    seen: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return seen


def test_official_node_gateway_client(gw: GatewayNet, tmp_path: Path) -> None:
    seen = run_app(gw, tmp_path)
    assert seen["before"] == ""
    assert seen["submitResult"] == "1"  # the result of a submitted transaction comes back
    assert seen["after"] == "from-node"
    assert gw.evaluate("get", "interop") == b"from-node"  # and it is in everyone's ledger

    status = seen["emitStatus"]
    assert isinstance(status, dict)
    assert status["code"] == Code.VALID and status["successful"] is True and status["blockNumber"] > 0
    assert seen["event"] == {"name": "node-event", "payload": "payload-1", "chaincodeName": "probe",
                             "transactionId": status["transactionId"], "blockNumber": status["blockNumber"]}

    evaluate_error = seen["evaluateError"]
    assert isinstance(evaluate_error, dict)
    assert evaluate_error["name"] == "GatewayError" and evaluate_error["code"] == UNKNOWN
    assert "the probe was asked to fail" in evaluate_error["message"]

    endorse_error = seen["endorseError"]
    assert isinstance(endorse_error, dict)
    assert endorse_error["name"] == "EndorseError" and endorse_error["code"] == ABORTED
    assert {d["mspId"] for d in endorse_error["details"] if "the probe was asked to fail" in d["message"]} == {
        "Org1MSP", "Org2MSP"}

    commit_error = seen["commitError"]
    assert isinstance(commit_error, dict)
    assert commit_error["name"] == "CommitError" and commit_error["code"] == Code.ENDORSEMENT_POLICY_FAILURE

    assert sorted(seen["raceCodes"]) == [Code.VALID, Code.MVCC_READ_CONFLICT]  # type: ignore[type-var]
