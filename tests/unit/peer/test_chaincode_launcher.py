"""The launcher tells the registry what it starts, so that a proposal arriving while a
chaincode starts waits for it, and one arriving after a failed start hears why."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from consortia.config.node import ChaincodeDeployment
from peer.chaincode.handler import ChaincodeCallError
from peer.chaincode.launcher import ChaincodeLauncher
from peer.chaincode.registry import ChaincodeRegistry

pytestmark = pytest.mark.unit


async def refusal(registry: ChaincodeRegistry, name: str) -> str:
    with pytest.raises(ChaincodeCallError) as failed:
        await registry.execute("ch1", name, "tx1", chaincode_pb2.ChaincodeInput(), proposal_pb2.SignedProposal(),
                               simulator=None)  # type: ignore[arg-type] # never reached: no chaincode answers
    return str(failed.value)


def test_a_proposal_waits_for_a_starting_chaincode_and_hears_why_a_start_failed(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]

        async def scenario() -> tuple[str, str, str]:
            registry = ChaincodeRegistry(timeout=5, startup_timeout=0.5)
            launcher = ChaincodeLauncher(registry, None, tmp_path)
            launcher.start([ChaincodeDeployment(name="silent", channels=["ch1"], address=f"127.0.0.1:{port}"),
                            ChaincodeDeployment(name="refused", channels=["ch1"], address="127.0.0.1:1"),
                            ChaincodeDeployment(name="dialer", channels=["ch1"])])
            try:
                return (await refusal(registry, "silent"), await refusal(registry, "refused"),
                        await refusal(registry, "dialer"))
            finally:
                await launcher.stop()

        starting, refused, unknown = asyncio.run(scenario())
    assert "chaincode silent did not start within 0.5s" in starting
    assert "chaincode refused is not running on this peer (connecting to 127.0.0.1:1 failed:" in refused
    assert "chaincode dialer is not running on this peer (not started, or not connected yet)" in unknown
