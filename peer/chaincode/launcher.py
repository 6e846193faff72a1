"""Keeping the peer's chaincodes running.

A chaincode with a package folder runs as a process the peer starts
(`python -m chaincode serve FOLDER --peer ADDRESS --id NAME`), which dials the peer's
chaincode listener; if it dies, it is started again after a growing pause, and it is
stopped with the peer. A chaincode-as-a-service is dialled by the peer, and dialled
again whenever the connection drops. Output of launched chaincodes goes to
`<data_dir>/chaincode/<name>.log`. With TLS, see peer.chaincode.tls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path

import grpc
from fabric_protos.peer import chaincode_shim_pb2_grpc

from consortia.config.node import ChaincodeDeployment
from consortia.grpcutil import channel
from peer.chaincode.registry import ChaincodeRegistry
from peer.chaincode.tls import ChaincodeTLS

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0
STOP_GRACE = 5.0


class ChaincodeLauncher:
    def __init__(self, registry: ChaincodeRegistry, peer_address: str | None, log_dir: Path,
                 tls: ChaincodeTLS | None = None) -> None:
        self.registry = registry
        self.peer_address = peer_address
        self.log_dir = log_dir
        self.tls = tls
        self._tasks: list[asyncio.Task[None]] = []
        self._processes: dict[str, asyncio.subprocess.Process] = {}

    def start(self, deployments: list[ChaincodeDeployment]) -> None:
        started: set[str] = set()
        for deployment in deployments:
            if deployment.name in started:
                continue  # one process serves the chaincode on every channel
            started.add(deployment.name)
            if deployment.path is not None:
                work = self._supervise(deployment.name, deployment.path)
            elif deployment.address is not None:
                work = self._dial(deployment)
            else:
                log.info("chaincode %s will dial in by itself", deployment.name)
                continue
            self._tasks.append(asyncio.create_task(work, name=f"chaincode-{deployment.name}"))

    async def _supervise(self, name: str, path: Path) -> None:
        assert self.peer_address is not None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "chaincode", "serve", str(path), "--peer", self.peer_address, "--id", name]
        if self.tls is not None:
            assert self.tls.peer_root is not None  # checked when the config loaded
            cert, key = self.tls.issue_client(name, self.log_dir / "tls")
            command += ["--tls-ca", str(self.tls.peer_root), "--tls-cert", str(cert), "--tls-key", str(key)]
        delay = 1.0
        while True:
            with open(self.log_dir / f"{name}.log", "ab") as output:
                process = await asyncio.create_subprocess_exec(*command, stdout=output, stderr=output)
            self._processes[name] = process
            log.info("started chaincode %s (pid %d) from %s", name, process.pid, path)
            started = asyncio.get_running_loop().time()
            code = await process.wait()
            self._processes.pop(name, None)
            if asyncio.get_running_loop().time() - started > 60:
                delay = 1.0
            log.warning("chaincode %s exited with %s; starting it again in %.0fs (log: %s)",
                        name, code, delay, self.log_dir / f"{name}.log")
            await asyncio.sleep(delay)
            delay = min(MAX_BACKOFF, delay * 2)

    async def _dial(self, deployment: ChaincodeDeployment) -> None:
        name, address = deployment.name, deployment.address
        assert address is not None
        root = deployment.tls_root_cert.read_bytes() if deployment.tls_root_cert is not None else None
        client = (self.tls.peer_cert, self.tls.peer_key) if root is not None and self.tls is not None else (None, None)
        delay = 0.5
        while True:
            try:
                async with channel(address, root_ca=root, client_cert=client[0], client_key=client[1]) as ch:
                    call = chaincode_shim_pb2_grpc.ChaincodeStub(ch).Connect()
                    log.info("connecting to chaincode %s at %s", name, address)
                    await self.registry.serve(call, call.write)
                    delay = 0.5
            except grpc.aio.AioRpcError as exc:
                log.warning("chaincode %s at %s: %s (%s); trying again in %.1fs", name, address,
                            exc.details(), exc.code().name, delay)
            except Exception:
                log.exception("chaincode %s at %s: connection failed", name, address)
            await asyncio.sleep(delay)
            delay = min(MAX_BACKOFF, delay * 2)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for name, process in list(self._processes.items()):
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), STOP_GRACE)
                except TimeoutError:
                    log.warning("chaincode %s did not stop; killing it", name)
                    process.kill()
                    await process.wait()
        self._processes.clear()
