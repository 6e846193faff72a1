"""Real peer and chaincode processes: every stub call, in both ways of running chaincode
(launched by the peer, and chaincode-as-a-service), errors, and what gets committed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric_protos.peer import transaction_pb2

from consortia.protoutil import block as blocks
from tests.conftest import REPO
from tests.support.processes import free_ports, run, share
from tests.support.testnet import PeerHandle, TestNetwork, position

pytestmark = pytest.mark.integration

Code = transaction_pb2.TxValidationCode
PROBE = REPO / "tests" / "fixtures" / "contracts" / "probe"
ASSET = REPO / "chaincode" / "contracts" / "asset"


class ChaincodeNet:
    """Orderer, the peer of Org1 on ch1 and ch2, and the probe and asset chaincodes."""

    def __init__(self, root: Path, mode: str) -> None:
        self.mode = mode
        self.net = TestNetwork(root)
        self.services: dict[str, subprocess.Popen[bytes]] = {}
        self.service_ports: dict[str, int] = {}
        chaincodes = []
        for name, folder in (("probe", PROBE), ("asset", ASSET)):
            spec: dict[str, object] = {"name": name, "channels": ["ch1", "ch2"], "version": "1.0",
                                       "endorsement_policy": "OR('Org1MSP.peer')"}
            if mode == "launched":
                spec["path"] = str(folder)
            else:
                self.service_ports[name] = free_ports(1)[0]
                spec["address"] = f"127.0.0.1:{self.service_ports[name]}"
                self.start_service(name, folder)
            chaincodes.append(spec)
        chaincodes.append({"name": "ghost", "channels": ["ch1"], "address": f"127.0.0.1:{free_ports(1)[0]}"})
        self.net.orderer.start()
        run(self.net.join("ch1"))
        run(self.net.join("ch2"))
        self.peer: PeerHandle = self.net.peer("Org1MSP", chaincode_listen=f"127.0.0.1:{free_ports(1)[0]}",
                                              chaincodes=chaincodes, execute_timeout="3s")
        self.peer.node.start()
        run(self.net.join_peer(self.peer, "ch1"))
        run(self.net.join_peer(self.peer, "ch2"))
        share(self.net.orderer, self.peer.node)
        self.wait_ready("probe")
        self.wait_ready("asset")

    def start_service(self, name: str, folder: Path) -> None:
        log = open(self.net.root / f"{name}-service.log", "ab")  # noqa: SIM115
        self.services[name] = subprocess.Popen(
            [sys.executable, "-m", "chaincode", "serve", str(folder), "--listen",
             f"127.0.0.1:{self.service_ports[name]}", "--id", name],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_ready(self, name: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fn = "whoami" if name == "probe" else "exists"
            args = () if name == "probe" else ("nothing",)
            _, (response,) = run(self.net.endorse([self.peer], name, fn, *args))
            if response.response.status == 200:
                return
            time.sleep(0.2)
        raise AssertionError(f"chaincode {name} never became ready: {response.response.message}\n{self.peer.node.tail()}")

    def evaluate(self, chaincode: str, *args: str, channel: str = "ch1", **kwargs: object) -> tuple[int, str, bytes]:
        _, (response,) = run(self.net.endorse([self.peer], chaincode, *args, channel_id=channel, **kwargs))  # type: ignore[arg-type]
        return response.response.status, response.response.message, response.response.payload

    def submit(self, chaincode: str, *args: str, channel: str = "ch1") -> tuple[int, str]:
        """Endorse, order, and wait for the commit; (validation code, tx id)."""
        proposal, responses = run(self.net.endorse([self.peer], chaincode, *args, channel_id=channel))
        assert responses[0].response.status == 200, responses[0].response.message
        assert run(self.net.submit(proposal, responses)) == 200
        reader = self.net.identity("Org1MSP")
        for number in range(1, 200):
            chain, _ = run(self.net.peer_deliver(self.peer, self.net.seek(channel, reader, position(number), position(number))))
            block = chain[0]
            for index, raw in enumerate(block.data.data):
                from consortia.protoutil.envelope import unpack_envelope

                if unpack_envelope(raw).tx_id == proposal.tx_id:
                    return blocks.transactions_filter(block)[index], proposal.tx_id
        raise AssertionError("transaction not found")

    def stop(self) -> None:
        for node in (self.peer.node, self.net.orderer):
            node.kill()
        for process in self.services.values():
            process.kill()
            process.wait()


@pytest.fixture(scope="module", params=["launched", "service"])
def cc(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaincodeNet]:
    net = ChaincodeNet(tmp_path_factory.mktemp(f"cc-{request.param}"), request.param)
    yield net
    net.stop()


def ok(result: tuple[int, str, bytes]) -> object:
    """The payload of a successful call: JSON decoded, or the text a str result gives."""
    status, message, payload = result
    assert status == 200, message
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode()


def test_put_get_delete_and_history(cc: ChaincodeNet) -> None:
    assert cc.submit("probe", "put", "color", "red")[0] == Code.VALID
    assert ok(cc.evaluate("probe", "get", "color")) == "red"
    code, first = cc.submit("probe", "put", "color", "blue")
    assert code == Code.VALID
    assert ok(cc.evaluate("probe", "get_many", '["color", "nothing"]')) == ["blue", ""]
    code, deleted = cc.submit("probe", "delete", "color")
    assert code == Code.VALID and ok(cc.evaluate("probe", "get", "color")) == ""
    history = ok(cc.evaluate("probe", "history", "color"))
    assert [(h["value"], h["deleted"]) for h in history] == [("", True), ("blue", False), ("red", False)]  # type: ignore[index]
    assert history[0]["tx_id"] == deleted and history[1]["tx_id"] == first  # type: ignore[index]


def test_ranges_composite_keys_and_rich_queries(cc: ChaincodeNet) -> None:
    assert cc.submit("probe", "bulk", "item", "250")[0] == Code.VALID
    keys = ok(cc.evaluate("probe", "range", "item", "item9999"))
    assert keys == [f"item{n:04d}" for n in range(250)]  # more than one batch of 100
    pages, bookmark = [], ""
    while True:
        page = ok(cc.evaluate("probe", "range_page", "item", "item9999", "80", bookmark))
        pages.append(page["keys"])  # type: ignore[index]
        bookmark = page["bookmark"]  # type: ignore[index]
        if not bookmark:
            break
    assert [len(p) for p in pages] == [80, 80, 80, 10] and sum(pages, []) == keys
    even = ok(cc.evaluate("probe", "query", json.dumps({"selector": {"even": True, "n": {"$lt": 10}}})))
    assert even == ["item0000", "item0002", "item0004", "item0006", "item0008"]
    page = ok(cc.evaluate("probe", "query_page", json.dumps({"selector": {"n": {"$gte": 240}}}), "4", ""))
    assert page["keys"] == ["item0240", "item0241", "item0242", "item0243"] and page["count"] == 4  # type: ignore[index]
    assert cc.submit("probe", "put_composite", "owner", "alice", "car", "1")[0] == Code.VALID
    assert cc.submit("probe", "put_composite", "owner", "alice", "boat", "2")[0] == Code.VALID
    assert cc.submit("probe", "put_composite", "owner", "bob", "car", "3")[0] == Code.VALID
    assert ok(cc.evaluate("probe", "by_partial", "owner", "alice")) == [["alice", "boat", "2"], ["alice", "car", "1"]]
    assert len(ok(cc.evaluate("probe", "by_partial", "owner", ""))) == 3  # type: ignore[arg-type]
    # Composite keys never show up in plain ranges.
    assert all(not k.startswith("\x00") for k in ok(cc.evaluate("probe", "range", "", "")))  # type: ignore[union-attr]


def test_range_read_then_write_commits(cc: ChaincodeNet) -> None:
    cc.submit("probe", "bulk", "r", "5")
    code, _ = cc.submit("probe", "range_then_write", "r", "s", "2")
    assert code == Code.VALID
    code, _ = cc.submit("probe", "range_then_write", "r", "s", "0")
    assert code == Code.VALID
    status, message, _ = cc.evaluate("probe", "page_then_write")
    assert status == 500 and "cannot write" in message


def test_key_level_policy_is_enforced_at_commit(cc: ChaincodeNet) -> None:
    assert cc.submit("probe", "put", "guarded", "v1")[0] == Code.VALID
    assert cc.submit("probe", "set_policy", "guarded", "'Org2MSP.peer'")[0] == Code.VALID
    assert ok(cc.evaluate("probe", "has_policy", "guarded")) is True
    # Only Org1's peer endorses: its write of the guarded key fails validation.
    assert cc.submit("probe", "put", "guarded", "v2")[0] == Code.ENDORSEMENT_POLICY_FAILURE
    assert ok(cc.evaluate("probe", "get", "guarded")) == "v1"


def test_invoke_another_chaincode(cc: ChaincodeNet) -> None:
    code, _ = cc.submit("probe", "call", "asset", '["create", "car-1", "alice", "7"]', "")
    assert code == Code.VALID
    assert ok(cc.evaluate("asset", "read", "car-1")) == {"id": "car-1", "owner": "alice", "value": 7}
    # Another channel: reads work, writes are refused.
    read = ok(cc.evaluate("probe", "call", "asset", '["exists", "car-1"]', "ch2"))
    assert read == {"status": 200, "message": "", "payload": "false"}
    refused = ok(cc.evaluate("probe", "call", "asset", '["create", "car-2", "bob", "1"]', "ch2"))
    assert refused["status"] == 500 and "can only read" in refused["message"]  # type: ignore[index]
    status, message, _ = cc.evaluate("probe", "call", "probe", '["whoami"]', "")
    assert status == 500 and "cannot invoke itself" in message


def test_events_identity_transient_and_time(cc: ChaincodeNet) -> None:
    code, tx_id = cc.submit("probe", "emit", "Rang", "ding")
    assert code == Code.VALID
    reader = cc.net.identity("Org1MSP")
    filtered, _ = run(cc.net.peer_deliver(cc.peer, cc.net.seek("ch1", reader, position(1), position(200), fail_if_not_ready=True),
                                          filtered=True))
    events = [a.chaincode_event for b in filtered for t in b.filtered_transactions if t.txid == tx_id
              for a in t.transaction_actions.chaincode_actions]
    assert [(e.event_name, e.chaincode_id) for e in events] == [("Rang", "probe")]
    me = ok(cc.evaluate("probe", "whoami"))
    assert me["msp"] == "Org1MSP" and me["role"] == "client" and me["channel"] == "ch1"  # type: ignore[index]
    assert cc.evaluate("probe", "secret", "pin", transient={"pin": b"1234"})[2] == b"1234"


def test_errors_reach_the_client_clearly(cc: ChaincodeNet) -> None:
    status, message, _ = cc.evaluate("probe", "nope")
    assert status == 500 and "function 'nope' is not a transaction of contract 'Probe'" in message
    status, message, _ = cc.evaluate("probe", "range_page", "a", "b", "ten", "")
    assert status == 500 and "argument 'size' must be an integer, got 'ten'" in message
    assert cc.evaluate("probe", "fail", "contract")[:2] == (500, "ERR_CONFLICT: the probe was asked to fail")
    status, message, _ = cc.evaluate("probe", "fail", "bug")
    assert status == 500 and message == "ValueError: the probe was asked to fail"
    status, message, _ = cc.evaluate("probe", "private", "k")
    assert status == 500 and "collection secrets is not defined for chaincode probe" in message
    status, message, _ = cc.evaluate("ghost", "anything")
    assert status == 500 and "chaincode ghost is not running on this peer" in message
    status, message, _ = cc.evaluate("undefined", "anything")
    assert status == 404 and "chaincode undefined is not defined on channel ch1" in message


def test_timeout(cc: ChaincodeNet) -> None:
    status, message, _ = cc.evaluate("probe", "sleep", "5")
    assert status == 500 and "did not complete within 3s" in message
    assert ok(cc.evaluate("probe", "sleep", "0.1")) == "awake"


def test_crashed_chaincode_comes_back(cc: ChaincodeNet) -> None:
    status, message, _ = cc.evaluate("probe", "crash")
    assert status == 500 and ("disconnected" in message or "not running" in message)
    if cc.mode == "service":
        cc.services["probe"].wait(10)
        cc.start_service("probe", PROBE)  # a service is restarted by whoever runs it; the peer redials
    cc.wait_ready("probe")
    assert ok(cc.evaluate("probe", "whoami"))["msp"] == "Org1MSP"  # type: ignore[index]


def launched_pids(cc: ChaincodeNet, name: str) -> list[int]:
    """The pids the peer's log says it started chaincode `name` with, oldest first."""
    return [int(pid) for pid in re.findall(rf"started chaincode {name} \(pid (\d+)\)", cc.peer.node.log_path.read_text())]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"


def test_the_peer_restarts_its_dead_chaincode_process_and_stops_it_when_it_stops(cc: ChaincodeNet) -> None:
    """Runs last in this module: it stops the peer. A service is not the peer's to
    restart or stop; a chaincode the peer launched is."""
    if cc.mode == "launched":
        first = launched_pids(cc, "probe")[-1]
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while launched_pids(cc, "probe")[-1] == first and time.monotonic() < deadline:
            time.sleep(0.2)
        assert launched_pids(cc, "probe")[-1] != first, cc.peer.node.tail()
        assert f"exited with -{signal.SIGKILL.value}" in cc.peer.node.log_path.read_text()
        cc.wait_ready("probe")
        assert ok(cc.evaluate("probe", "whoami"))["msp"] == "Org1MSP"  # type: ignore[index]
        running = [launched_pids(cc, name)[-1] for name in ("probe", "asset")]
    else:
        running = [cc.services[name].pid for name in ("probe", "asset")]
    assert all(alive(pid) for pid in running)
    assert cc.peer.node.stop() == 0
    assert [alive(pid) for pid in running] == [cc.mode == "service"] * 2
