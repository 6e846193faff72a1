"""The launcher tells the registry what it starts, so that a proposal arriving while a
chaincode starts waits for it instead of being refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from consortia.config.node import ChaincodeDeployment
from peer.chaincode.handler import ChaincodeCallError
from peer.chaincode.launcher import ChaincodeLauncher
from peer.chaincode.registry import ChaincodeRegistry

pytestmark = pytest.mark.unit


async def call(registry: ChaincodeRegistry, name: str) -> str:
    with pytest.raises(ChaincodeCallError) as failed:
        await registry.execute("ch1", name, "tx1", chaincode_pb2.ChaincodeInput(), proposal_pb2.SignedProposal(),
                               simulator=None)  # type: ignore[arg-type] # never reached: no chaincode answers
    return str(failed.value)


def test_a_proposal_waits_for_a_chaincode_the_launcher_is_starting(tmp_path: Path) -> None:
    async def scenario() -> tuple[str, str]:
        registry = ChaincodeRegistry(timeout=5, startup_timeout=0.2)
        launcher = ChaincodeLauncher(registry, None, tmp_path)
        # A chaincode-as-a-service that never answers, and one that dials in by itself.
        launcher.start([ChaincodeDeployment(name="svc", channels=["ch1"], address="127.0.0.1:1"),
                        ChaincodeDeployment(name="dialer", channels=["ch1"])])
        try:
            return await call(registry, "svc"), await call(registry, "dialer")
        finally:
            await launcher.stop()

    starting, unknown = asyncio.run(scenario())
    assert "chaincode svc did not start within 0.2s" in starting
    assert "chaincode dialer is not running on this peer" in unknown
