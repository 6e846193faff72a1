"""`consortia network up | status | logs | down`, run as a user runs them, against real
node processes: a two-org TLS network on ports of its own, in the test's folder.

Every test kills what its network directory's pid files name when it ends, whatever
happened, so no node outlives it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import chaincode_pb2, proposal_response_pb2

from consortia.grpcutil import channel
from consortia.msp.layout import load_signing_identity
from consortia.protoutil.proposal import create_proposal, sign_proposal, unpack_proposal
from consortia.protoutil.response import create_proposal_response
from consortia.protoutil.transaction import create_signed_transaction
from tests.support.processes import cli, free_port_block, kill_all

pytestmark = pytest.mark.integration

ORDERER = "orderer0.orderer.example.com"
PEER1 = "peer0.org1.example.com"
PEER2 = "peer0.org2.example.com"
NODES = [ORDERER, PEER1, PEER2]


def network_spec(base_port: int) -> dict[str, Any]:
    return {
        "name": "nettest",
        "base_port": base_port,
        "tls": True,
        "organizations": [
            {"name": f"Org{i}", "msp_id": f"Org{i}MSP", "domain": f"org{i}.example.com"} for i in (1, 2)
        ],
        "consensus": {"type": "solo", "batch": {"max_message_count": 10, "timeout": "200ms"}},
        "channels": [{"name": "ch1", "organizations": ["Org1MSP", "Org2MSP"],
                      "endorsement_policy": "AND('Org1MSP.peer', 'Org2MSP.peer')"}],
    }


@pytest.fixture
def net(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """The folder to run the CLI in (it holds network.yaml) and the network's base port;
    the network directory is the default one, ./consortia-network."""
    base = free_port_block(30)
    (tmp_path / "network.yaml").write_text(yaml.safe_dump(network_spec(base), sort_keys=False))
    try:
        yield tmp_path, base
    finally:
        kill_all(tmp_path / "consortia-network")


def status(cwd: Path) -> tuple[int, dict[str, Any]]:
    result = cli("network", "status", "--json", cwd=cwd)
    return result.returncode, json.loads(result.stdout)


def heights(doc: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {node["name"]: node["channels"] for node in doc["nodes"]}


async def broadcast_one(crypto: Path, orderer: str) -> None:
    """Order one transaction on ch1 (well signed; the peers will find its endorsement
    lacking, but every node commits the block), so the ledgers grow."""
    org1 = crypto / "peerOrganizations" / "org1.example.com"
    client = load_signing_identity(org1 / "users" / "User1@org1.example.com" / "msp", "Org1MSP")
    endorser = load_signing_identity(org1 / "peers" / "peer0.org1.example.com" / "msp", "Org1MSP")
    proposal, _ = create_proposal("ch1", "nothing", [b"put"], client.serialize())
    unpacked = unpack_proposal(sign_proposal(proposal, client))
    response = create_proposal_response(
        unpacked, results=b"", response=proposal_response_pb2.Response(status=200),
        chaincode_id=chaincode_pb2.ChaincodeID(name="nothing", version="1"), endorser=endorser,
    )
    envelope = create_signed_transaction(unpacked, [response], client)
    tls_ca = (crypto / "ordererOrganizations" / "orderer.example.com" / "tlsca"
              / "tlsca.orderer.example.com-cert.pem").read_bytes()

    async def requests() -> AsyncIterator[common_pb2.Envelope]:
        yield envelope

    async with channel(orderer, root_ca=tls_ca) as ch:
        call = ch.stream_stream("/orderer.AtomicBroadcast/Broadcast",
                                request_serializer=common_pb2.Envelope.SerializeToString,
                                response_deserializer=ab_pb2.BroadcastResponse.FromString)
        answers = [answer async for answer in call(requests(), timeout=30)]
    assert [a.status for a in answers] == [common_pb2.SUCCESS], answers


def wait_for_height(cwd: Path, height: int, timeout: float = 20) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while True:
        code, doc = status(cwd)
        if code == 0 and all(node["channels"].get("ch1", 0) >= height for node in doc["nodes"]):
            return doc
        if time.monotonic() > end:
            raise AssertionError(f"ch1 did not reach height {height}: {heights(doc)}")
        time.sleep(0.2)


def test_up_status_restart_and_clean(net: tuple[Path, int]) -> None:
    cwd, base = net
    root = cwd / "consortia-network"
    started = cli("network", "up", "network.yaml", cwd=cwd)
    assert started.returncode == 0, started.stdout + started.stderr
    assert re.search(r"^\[ *\d+\.\ds\] started 3 nodes$", started.stdout, re.M), started.stdout
    assert f"joined ch1: {ORDERER}, {PEER1}, {PEER2}" in started.stdout
    assert "network nettest is up" in started.stdout and "consortia network status" in started.stdout
    assert (root / "state.json").is_file() and (root / "channels" / "ch1.block").is_file()
    assert (root / "crypto-config" / "peerOrganizations" / "org2.example.com").is_dir()

    code, doc = status(cwd)
    assert code == 0, doc
    assert [(n["name"], n["state"], n["health"]) for n in doc["nodes"]] == [(n, "running", "SERVING") for n in NODES]
    assert heights(doc) == {n: {"ch1": 1} for n in NODES}
    assert doc["tls"] is True and doc["nodes"][1]["address"] == f"127.0.0.1:{base + 10}"
    org1 = doc["profile"]["organizations"]["Org1"]
    assert org1["mspid"] == "Org1MSP" and Path(org1["users"]["User1"]["cert"]).is_file()
    assert doc["profile"]["peers"][PEER1]["url"] == f"grpcs://127.0.0.1:{base + 10}"
    text = cli("network", "status", cwd=cwd)
    assert text.returncode == 0 and "all 3 nodes running and serving" in text.stdout

    # The client commands find the network, its crypto and its TLS by themselves.
    blocks = cli("events", "ch1", "--from", "0", "--limit", "1", "--org", "Org2", cwd=cwd)
    assert blocks.returncode == 0, blocks.stderr
    assert blocks.stdout.startswith("block 0\t1 transaction")

    asyncio.run(broadcast_one(root / "crypto-config", f"127.0.0.1:{base}"))
    before = heights(wait_for_height(cwd, 2))

    again = cli("network", "up", cwd=cwd)
    assert again.returncode == 0 and "already running" in again.stdout, again.stdout + again.stderr

    logs = cli("network", "logs", "orderer0", "-n", "5", cwd=cwd)
    assert logs.returncode == 0 and len(logs.stdout.splitlines()) == 5

    stopped = cli("network", "down", cwd=cwd)
    assert stopped.returncode == 0, stopped.stderr
    for name in NODES:
        assert re.search(rf"stopped {re.escape(name)} \(pid \d+\)", stopped.stdout), stopped.stdout
    code, doc = status(cwd)
    assert code == 1 and {n["state"] for n in doc["nodes"]} == {"stopped"}

    restarted = cli("network", "up", cwd=cwd)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "every node had joined its channels already" in restarted.stdout
    assert "crypto material in place" in restarted.stdout and "genesis blocks in place" in restarted.stdout
    assert "keeps the configuration it was created with" not in restarted.stdout  # the file did not change
    code, doc = status(cwd)
    assert code == 0
    assert all(heights(doc)[n]["ch1"] >= before[n]["ch1"] for n in NODES), (before, heights(doc))

    # A channel's configuration is fixed at its creation: an edit of it is reported, not applied.
    assert cli("network", "down", cwd=cwd).returncode == 0
    edited = network_spec(base)
    edited["consensus"]["batch"]["timeout"] = "300ms"
    (cwd / "network.yaml").write_text(yaml.safe_dump(edited, sort_keys=False))
    reported = cli("network", "up", cwd=cwd)
    assert reported.returncode == 0, reported.stdout + reported.stderr
    assert ("channel ch1 keeps the configuration it was created with (channel configuration updates are not "
            "supported yet), ignoring what the network file changes: batch timeout (200 ms -> 300 ms)") \
        in reported.stdout
    code, doc = status(cwd)
    assert code == 0, doc

    # A node killed with SIGKILL is dead, and says so.
    peer = next(n for n in doc["nodes"] if n["name"] == PEER2)
    os.kill(peer["pid"], signal.SIGKILL)
    code, doc = status(cwd)
    assert code == 1
    assert {n["name"]: n["state"] for n in doc["nodes"]} == {ORDERER: "running", PEER1: "running", PEER2: "dead"}
    text = cli("network", "status", cwd=cwd)
    assert text.returncode == 1 and f"1 node died: {PEER2}" in text.stdout

    (root / "state.json").write_text("{garbled")  # down goes by the nodes' pid files then
    cleaned = cli("network", "down", "--clean", cwd=cwd)
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"{PEER2} was not running" in cleaned.stdout and f"stopped {ORDERER}" in cleaned.stdout
    assert not root.exists()


def test_a_bad_network_file_fails_with_the_checker_s_errors_and_makes_nothing(net: tuple[Path, int]) -> None:
    cwd, base = net
    spec = network_spec(base)
    spec["channels"][0]["organizations"] = ["Org1MSP", "Org3MSP"]
    (cwd / "bad.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = cli("network", "up", "bad.yaml", cwd=cwd)
    assert result.returncode == 1
    assert re.search(r"bad\.yaml:\d+ channels\[0\]\.organizations\[1\]: unknown org 'Org3MSP'", result.stderr), result.stderr
    assert "nothing was created or started" in result.stderr
    assert not (cwd / "consortia-network").exists()


def test_a_taken_port_names_the_node_and_starts_nothing(net: tuple[Path, int]) -> None:
    cwd, base = net
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", base + 21))  # Org2's peer: admin port
        sock.listen()
        result = cli("network", "up", "network.yaml", cwd=cwd)
    assert result.returncode == 1
    assert f"{PEER2} needs port {base + 21} (admin 127.0.0.1:{base + 21})" in result.stderr, result.stderr
    assert not (cwd / "consortia-network").exists()


def test_a_chaincode_that_cannot_start_fails_up_with_its_own_error(net: tuple[Path, int]) -> None:
    """`up` stops waiting once the peers say the contract keeps exiting at start, rather
    than sitting out its readiness timeout, and says why in the contract's own words."""
    cwd, base = net
    contract = cwd / "broken"
    contract.mkdir()
    (contract / "__init__.py").write_text("import carbon_sdk_that_is_not_installed\n")
    spec = network_spec(base)
    spec["channels"][0]["chaincodes"] = [{"name": "broken", "path": str(contract)}]
    (cwd / "broken.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = cli("network", "up", "broken.yaml", cwd=cwd)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "committed broken" in result.stdout
    assert "is not running on this peer (it cannot start: its process exited with 1 at each of its last 3 starts" \
        in result.stderr, result.stderr
    assert "No module named 'carbon_sdk_that_is_not_installed'" in result.stderr
    assert "after 60s" not in result.stderr  # not the readiness timeout's error
    assert "stopped the 3 nodes this run started" in result.stdout + result.stderr
