"""Real node processes for integration tests: start, wait for health, kill, show logs.

Each test run takes free loopback ports of its own, writes its node's configuration
into the test's temporary folder, and waits for readiness with a deadline instead of
sleeping. The logs of every node a failed test started are printed with the failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consortia.errors import ConsortiaError

STARTED: list[NodeProcess] = []  # nodes a test started: killed when it ends
SHARED: list[NodeProcess] = []  # nodes a module fixture shares: killed by the fixture


T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 20.0) -> T:
    """`check()` once it stops failing (an assertion, or a call a node refused), polling
    until the deadline: what a peer shows after another peer's commit, for instance,
    since each commits a block on its own."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, ConsortiaError, grpc.RpcError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class _PortRange:
    """Hands out blocks of loopback ports for nodes to listen on, in turn.

    The ports lie below the kernel's ephemeral range (or above it): the kernel takes
    the source port of every outgoing connection, and every bind to port 0, from that
    range, so a port checked free there could be taken before the node binds it; one
    of the many connections a running network opens once did, and a peer could not
    listen. Going through the range in turn, from a random start, never hands a test
    run the same port twice before the range is used up."""

    def __init__(self) -> None:
        try:
            low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        except (OSError, ValueError):
            low, high = 32768, 60999  # Linux's default
        if low - 10000 >= 10000:
            self.first, self.end = 10000, low
        elif 65536 - (high + 1) >= 10000:
            self.first, self.end = high + 1, 65536
        else:  # no room outside it: ports checked free are the best there is
            self.first, self.end = 10000, 65536
        self.cursor = random.randrange(self.first, self.end)

    def block(self, size: int) -> int:
        """A base port such that base .. base+size-1 are all free on 127.0.0.1 right now."""
        for _ in range((self.end - self.first) // size):
            if self.cursor + size > self.end:
                self.cursor = self.first
            base, self.cursor = self.cursor, self.cursor + size
            sockets = []
            try:
                for port in range(base, base + size):
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    sockets.append(sock)
                    sock.bind(("127.0.0.1", port))
                return base
            except OSError:
                continue
            finally:
                for sock in sockets:
                    sock.close()
        raise RuntimeError(f"no block of {size} free ports found in {self.first}..{self.end - 1}")


PORTS = _PortRange()


def free_port_block(size: int) -> int:
    """A base port such that base .. base+size-1 are all free on 127.0.0.1 right now."""
    return PORTS.block(size)


def free_ports(count: int) -> list[int]:
    """Distinct ports free on 127.0.0.1 right now, outside the ephemeral range."""
    base = PORTS.block(count)
    return list(range(base, base + count))


@dataclass
class NodeProcess:
    name: str
    module: str  # "orderer" or "peer"
    config: Path
    address: str
    log_path: Path
    # TLS root CA and optional client pair for the health check, when the node uses TLS.
    tls: tuple[bytes, bytes | None, bytes | None] | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, timeout: float = 20.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # A second process would share the port, and outlive every fixture.
            raise RuntimeError(f"{self.name} is already running (pid {self.proc.pid})")
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "--config", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        if self not in STARTED and self not in SHARED:
            STARTED.append(self)
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with self._channel() as channel:
                    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.RpcError as exc:
                last = exc.code().name
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} not healthy after {timeout}s ({last}):\n{self.tail()}")

    def _channel(self) -> grpc.Channel:
        if self.tls is None:
            return grpc.insecure_channel(self.address)
        root, cert, key = self.tls
        return grpc.secure_channel(self.address, grpc.ssl_channel_credentials(root, key, cert))

    def stop(self, timeout: float = 15.0) -> int:
        """Graceful stop (SIGTERM); returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """kill -9: no chance to clean up."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])


def share(*nodes: NodeProcess) -> None:
    """Keep these nodes running across tests (their fixture stops them)."""
    for node in nodes:
        if node in STARTED:
            STARTED.remove(node)
        if node not in SHARED:
            SHARED.append(node)


def report_and_reap(failed: bool) -> str:
    """Kill the nodes the test started; return every node's log if the test failed."""
    out = []
    for node in [*STARTED, *SHARED]:
        if failed:
            out.append(f"----- log of {node.name} ({node.log_path}) -----\n{node.tail(120)}")
    for node in STARTED:
        node.kill()
    STARTED.clear()
    return "\n".join(out)


def run(coro):  # type: ignore[no-untyped-def]
    """Run a coroutine from a synchronous test."""
    return asyncio.run(coro)


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the `consortia` command (as `python -m consortia.cli.main`) and capture its output."""
    return subprocess.run([sys.executable, "-m", "consortia.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def kill_all(root: Path) -> None:
    """SIGKILL every process group a pid file of the directory names."""
    for pid_file in root.glob("nodes/*/node.pid"):
        try:
            pid = int(json.loads(pid_file.read_text())["pid"])
            os.killpg(pid, signal.SIGKILL)
        except (OSError, ValueError, KeyError):
            pass
