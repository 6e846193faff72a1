"""Keeping the peer's chaincodes running.

A chaincode with a package folder runs as a process the peer starts
(`python -m chaincode serve FOLDER --peer ADDRESS --id NAME`), which dials the peer's
chaincode listener; if it dies, it is started again after a growing pause, and it is
stopped with the peer. A chaincode-as-a-service is dialled by the peer, and dialled
again whenever the connection drops. Output of launched chaincodes goes to
`<data_dir>/chaincode/<name>.log`. With TLS, see peer.chaincode.tls. With the peer's
`chaincode_cpus`, the processes it starts run on those CPUs (consortia.cpus).

Chaincodes come from two places: the deployments of the peer's configuration, started
once, and the installed packages that committed definitions call for, which
`reconcile` starts when a definition appears and stops when no definition uses them
any more (the old package of an upgrade keeps serving until the new one is running).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import grpc
from fabric_protos.peer import chaincode_shim_pb2_grpc

from consortia import cpus
from consortia.config.node import ChaincodeDeployment
from consortia.grpcutil import channel
from consortia.lifecycle.package import CANNOT_START, CCAAS, ChaincodePackage
from consortia.tasks import cancel_and_wait
from peer.chaincode.registry import ChaincodeRegistry
from peer.chaincode.tls import ChaincodeTLS

log = logging.getLogger(__name__)

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
# Exits in a row, each soon after its start, after which a chaincode is said not to
# start (the peer still tries again): a contract that fails to import, say.
CRASH_LOOP = 3
STOP_GRACE = 5.0
# How long a package no definition uses any more keeps running, for the transactions
# it is still executing.
RETIRE_AFTER = 10.0


class ChaincodeLauncher:
    def __init__(self, registry: ChaincodeRegistry, peer_address: str | None, log_dir: Path,
                 tls: ChaincodeTLS | None = None, chaincode_cpus: Sequence[int] = ()) -> None:
        self.registry = registry
        self.chaincode_cpus = tuple(chaincode_cpus)  # for the processes it starts; empty: the peer's own
        self.peer_address = peer_address
        self.log_dir = log_dir
        self.tls = tls
        self._tasks: list[asyncio.Task[None]] = []
        self._processes: dict[str, _Child] = {}
        self._packages: dict[str, asyncio.Task[None]] = {}  # by package id

    def start(self, deployments: list[ChaincodeDeployment]) -> None:
        started: set[str] = set()
        for deployment in deployments:
            if deployment.name in started:
                continue  # one process serves the chaincode on every channel
            started.add(deployment.name)
            if deployment.path is not None:
                work = self._supervise(deployment.name, deployment.path)
            elif deployment.address is not None:
                root = deployment.tls_root_cert.read_bytes() if deployment.tls_root_cert is not None else None
                work = self._dial(deployment.name, deployment.address, root)
            else:
                log.info("chaincode %s will dial in by itself", deployment.name)
                continue
            # Proposals that arrive while it starts wait for it, as for a package.
            self.registry.expect(deployment.name)
            self._tasks.append(asyncio.create_task(work, name=f"chaincode-{deployment.name}"))

    def reconcile(self, wanted: dict[str, tuple[ChaincodePackage, Path | None]]) -> None:
        """Run exactly the packages in `wanted` (package id -> package and, for python,
        its unpacked folder)."""
        for package_id, (package, folder) in wanted.items():
            if package_id in self._packages:
                continue
            if package.type == CCAAS:
                connection = package.connection()
                root = connection.root_cert.encode() if connection.tls_required else None
                work = self._dial(package_id, connection.address, root, expected_id=package_id)
            else:
                assert folder is not None
                if self.peer_address is None:
                    log.error("cannot launch chaincode %s: the peer has no chaincode_listen address", package_id)
                    continue
                work = self._supervise(package_id, folder)
            self.registry.expect(package_id)
            self._packages[package_id] = asyncio.create_task(work, name=f"chaincode-{package_id}")
        for package_id in [p for p in self._packages if p not in wanted]:
            log.info("chaincode %s is no longer used by any definition; stopping it", package_id)
            self.registry.forget(package_id)
            task = self._packages.pop(package_id)
            self._tasks.append(task)  # stopped with the peer if it stops first
            asyncio.get_running_loop().call_later(RETIRE_AFTER, task.cancel)

    def _popen(self, command: list[str], output: IO[bytes]) -> subprocess.Popen[bytes]:
        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(command, stdout=output, stderr=output)

        return cpus.start_on(self.chaincode_cpus, start) if self.chaincode_cpus else start()

    @staticmethod
    def _log_name(chaincode_id: str) -> str:
        label, _, digest = chaincode_id.partition(":")
        return f"{label}-{digest[:12]}" if digest else label

    async def _supervise(self, name: str, path: Path) -> None:
        assert self.peer_address is not None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "chaincode", "serve", str(path), "--peer", self.peer_address, "--id", name]
        log_file = self.log_dir / f"{self._log_name(name)}.log"
        if self.tls is not None:
            assert self.tls.peer_root is not None  # checked when the config loaded
            cert, key = self.tls.issue_client(self._log_name(name), self.log_dir / "tls")
            command += ["--tls-ca", str(self.tls.peer_root), "--tls-cert", str(cert), "--tls-key", str(key)]
        delay = FIRST_BACKOFF
        quick_exits = 0  # in a row, each soon after its start
        child: _Child | None = None
        try:
            while True:
                with open(log_file, "ab") as output:
                    child = _Child(self._popen(command, output))
                self._processes[name] = child
                log.info("started chaincode %s (pid %d) from %s", name, child.process.pid, path)
                started = asyncio.get_running_loop().time()
                code = await asyncio.shield(child.exited)  # stays pending for _terminate if we are cancelled
                self._processes.pop(name, None)
                if asyncio.get_running_loop().time() - started > 60:
                    delay, quick_exits = FIRST_BACKOFF, 0
                quick_exits += 1
                reason = _exit_reason(code, quick_exits, log_file)
                log.warning("chaincode %s is not running (%s); starting it again in %gs", name, reason, delay)
                self.registry.failed(name, reason)
                await asyncio.sleep(delay)
                delay = min(MAX_BACKOFF, delay * 2)
        except asyncio.CancelledError:
            if child is not None and not child.exited.done():
                await self._terminate(name, child)
            self._processes.pop(name, None)
            raise

    async def _dial(self, name: str, address: str, root: bytes | None, expected_id: str | None = None) -> None:
        client = (self.tls.peer_cert, self.tls.peer_key) if root is not None and self.tls is not None else (None, None)
        delay = 0.5
        while True:
            try:
                async with channel(address, root_ca=root, client_cert=client[0], client_key=client[1]) as ch:
                    call = chaincode_shim_pb2_grpc.ChaincodeStub(ch).Connect()
                    log.info("connecting to chaincode %s at %s", name, address)
                    await self.registry.serve(call, call.write, expected_id)
                    delay = 0.5
            except grpc.aio.AioRpcError as exc:
                log.warning("chaincode %s at %s: %s (%s); trying again in %.1fs", name, address,
                            exc.details(), exc.code().name, delay)
                self.registry.failed(expected_id or name, f"connecting to {address} failed: {exc.details()}")
            except Exception as exc:
                log.exception("chaincode %s at %s: connection failed", name, address)
                self.registry.failed(expected_id or name, f"connecting to {address} failed: {exc}")
            await asyncio.sleep(delay)
            delay = min(MAX_BACKOFF, delay * 2)

    @staticmethod
    async def _terminate(name: str, child: _Child) -> None:
        child.process.terminate()
        try:
            await asyncio.wait_for(asyncio.shield(child.exited), STOP_GRACE)
        except TimeoutError:
            log.warning("chaincode %s did not stop; killing it", name)
            child.process.kill()
            await child.exited

    async def stop(self) -> None:
        try:
            await cancel_and_wait(*self._tasks, *self._packages.values())
        finally:
            for name, child in list(self._processes.items()):
                if not child.exited.done():
                    await self._terminate(name, child)
            self._processes.clear()


def _exit_reason(code: int, quick_exits: int, log_file: Path) -> str:
    """Why a launched chaincode is not running, with the last line of its log (the
    chaincode runtime ends a failed start with a one-line error there)."""
    times = f" at each of its last {quick_exits} starts" if quick_exits > 1 else ""
    reason = f"its process exited with {code}{times}; its log {log_file} ends: {_last_line(log_file)}"
    return f"{CANNOT_START}: {reason}" if quick_exits >= CRASH_LOOP else reason


def _last_line(log_file: Path, window: int = 4096) -> str:
    """The last non-empty line of a log, read from its end only (a long-running
    chaincode's log can be large)."""
    try:
        with open(log_file, "rb") as file:
            file.seek(max(0, file.seek(0, 2) - window))
            lines = file.read().decode(errors="replace").splitlines()
    except OSError as exc:
        return f"(unreadable: {exc})"
    return next((line.strip() for line in reversed(lines) if line.strip()), "(nothing)")


class _Child:
    """A chaincode process the peer started, and the future of its exit code.

    Started with subprocess.Popen, not the event loop's subprocess API: uvloop's forks
    the whole peer, gRPC's threads and all, and runs Python in the child before exec,
    which can deadlock the child, and the loop with it while it waits for the exec
    (seen once in CI as a peer frozen for good right after starting a chaincode).
    Popen's child execs at once. A thread of its own waits for the exit: a waiter that
    lasts as long as the chaincode must not hold a worker of the executor that
    validation runs on (asyncio.to_thread).
    """

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[int] = loop.create_future()

        def settle(code: int) -> None:
            if not self.exited.done():
                self.exited.set_result(code)

        def wait() -> None:
            code = process.wait()
            with contextlib.suppress(RuntimeError):  # the loop closed first: nobody is waiting
                loop.call_soon_threadsafe(settle, code)

        threading.Thread(target=wait, name=f"chaincode-{process.pid}", daemon=True).start()
