"""Fixtures for interop tests: a network whose Org1 peer serves one chaincode written
with an official Hyperledger library, run unmodified."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from tests.support.processes import run
from tests.support.testnet import PeerHandle, TestNetwork

NODE_CHAINCODE = Path(__file__).resolve().parent / "node_chaincode"
NODE_GATEWAY = Path(__file__).resolve().parent / "node_gateway"
PYTHON_CHAINCODE = Path(__file__).resolve().parent / "python_chaincode"


def npm_install(folder: Path = NODE_CHAINCODE) -> None:
    """Install a Node project's locked packages once (`npm ci`)."""
    if (folder / "node_modules" / ".package-lock.json").exists():
        return
    npm = shutil.which("npm")
    assert npm is not None, "npm is needed for the Node interop tests (Node.js 18 or later)"
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=folder,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"npm ci in {folder} failed:\n{result.stdout}\n{result.stderr}"


def wait_until_served(net: TestNetwork, peer: PeerHandle, chaincode: str, *args: str,
                      process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    message = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the chaincode exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        _, (response,) = run(net.endorse([peer], chaincode, *args))
        if response.response.status == 200:
            return
        message = response.response.message
        time.sleep(0.3)
    raise AssertionError(f"chaincode {chaincode} never answered: {message}\n{log.read_text(errors='replace')[-3000:]}")
