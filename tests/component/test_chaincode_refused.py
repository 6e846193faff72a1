"""A chaincode process whose registration the peer refuses says why and exits with 2
(the code that tells a peer launching it to try again later), without a traceback."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from fabric_protos.peer import chaincode_shim_pb2, chaincode_shim_pb2_grpc

from tests.conftest import REPO

pytestmark = pytest.mark.component

Message = chaincode_shim_pb2.ChaincodeMessage


class _RefusingPeer(chaincode_shim_pb2_grpc.ChaincodeSupportServicer):
    def __init__(self) -> None:
        self.registered = threading.Event()

    def Register(self, requests: Iterator[Message], context: grpc.ServicerContext) -> Iterator[Message]:
        first = next(requests)
        assert first.type == Message.REGISTER
        self.registered.set()
        yield Message(type=Message.ERROR, payload=b"chaincode stranger is not defined on this peer")


def test_a_refused_registration_is_reported_and_exits_2() -> None:
    peer = _RefusingPeer()
    server = grpc.server(futures.ThreadPoolExecutor(2))
    chaincode_shim_pb2_grpc.add_ChaincodeSupportServicer_to_server(peer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "chaincode", "serve", str(REPO / "chaincode" / "contracts" / "asset"),
             "--peer", f"127.0.0.1:{port}", "--id", "stranger"],
            capture_output=True, text=True, timeout=60, cwd=REPO)
    finally:
        server.stop(0)
    assert peer.registered.is_set()
    assert result.returncode == 2, result.stderr
    assert "error: expected REGISTERED from the peer, received ERROR: chaincode stranger is not defined" in result.stderr
    assert "Traceback" not in result.stderr
