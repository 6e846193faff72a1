"""The launcher tells the registry what it starts, so that a proposal arriving while a
chaincode starts waits for it, and one arriving after a failed start hears why."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

import pytest
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from consortia.config.node import ChaincodeDeployment
from consortia.lifecycle.package import CANNOT_START
from peer.chaincode import launcher as launcher_module
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


def test_a_chaincode_that_keeps_exiting_at_start_is_said_not_to_start(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """After one exit a proposal hears the exit and the log's last line; after CRASH_LOOP
    exits in a row it also hears that the chaincode cannot start (what `network up` waits
    for), and the peer keeps trying."""
    monkeypatch.setattr(launcher_module, "FIRST_BACKOFF", 0.05)
    contract = tmp_path / "broken"
    contract.mkdir()
    (contract / "__init__.py").write_text("raise RuntimeError('the registry of allowances is unreachable')\n")

    async def scenario() -> tuple[str, str, int]:
        registry = ChaincodeRegistry(timeout=5, startup_timeout=30)
        launcher = ChaincodeLauncher(registry, "127.0.0.1:1", tmp_path / "logs")
        launcher.start([ChaincodeDeployment(name="broken", channels=["ch1"], path=contract)])
        try:
            first = await refusal(registry, "broken")  # waits out the first start
            async with asyncio.timeout(60):
                while CANNOT_START not in (later := await refusal(registry, "broken")):
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            return first, later, len(started)
        finally:
            await launcher.stop()

    started: list[int] = []
    original = subprocess.Popen

    def popen(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        process = original(*args, **kwargs)  # type: ignore[call-overload]
        started.append(process.pid)
        return process  # type: ignore[no-any-return]

    monkeypatch.setattr(launcher_module.subprocess, "Popen", popen)
    first, later, starts = asyncio.run(scenario())
    log_file = tmp_path / "logs" / "broken.log"
    assert "chaincode broken is not running on this peer (its process exited with 1; " \
           f"its log {log_file} ends: " in first
    assert first.endswith("RuntimeError: the registry of allowances is unreachable)"), first
    assert CANNOT_START not in first
    assert f"({CANNOT_START}: its process exited with 1 at each of its last {launcher_module.CRASH_LOOP} starts" \
        in later
    assert later.endswith("RuntimeError: the registry of allowances is unreachable)"), later
    assert starts > launcher_module.CRASH_LOOP  # still started again after being said not to start


def test_the_reason_quotes_only_the_end_of_a_long_log(tmp_path: Path) -> None:
    log_file = tmp_path / "long.log"
    log_file.write_text("x" * 100_000 + "\nerror: the last word\n\n  \n")
    assert launcher_module._last_line(log_file) == "error: the last word"
    (tmp_path / "empty.log").write_text("")
    assert launcher_module._last_line(tmp_path / "empty.log") == "(nothing)"
    assert launcher_module._last_line(tmp_path / "missing.log").startswith("(unreadable: ")
