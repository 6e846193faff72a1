"""What every node process shares: logging, its two gRPC servers, start and stop.

A node listens on two addresses: the main one (its Fabric services and the standard
gRPC health service) and the admin one (consortia.v1.Admin). It reports SERVING once
its channels are loaded and both servers accept calls, and on SIGTERM or SIGINT it
reports NOT_SERVING, lets calls in progress finish for a few seconds, and stops its
channels cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from consortia import cpus, grpcenv
from consortia.adminrpc import AdminGate
from consortia.adminservice import AdminService, ChannelRegistry
from consortia.config.node import NodeConfig
from consortia.errors import ConsortiaError
from consortia.grpcutil import OPTIONS, listen, server_credentials
from consortia.msp.layout import load_msp
from consortia.protos.v1 import admin_pb2_grpc

log = logging.getLogger(__name__)

GRACE_SECONDS = 5.0
C = TypeVar("C", bound=NodeConfig)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("grpc", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger().level))


class NodeServers:
    def __init__(self, config: NodeConfig, registry: ChannelRegistry) -> None:
        self.config = config
        self.window = dt.timedelta(milliseconds=config.time_window)
        credentials = server_credentials(config.tls)
        self.health = health.aio.HealthServicer()
        self.main = grpc.aio.server(options=OPTIONS)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.main)
        listen(self.main, config.listen, credentials)
        self.admin = grpc.aio.server(options=OPTIONS)
        gate = AdminGate(load_msp(config.msp_dir, config.msp_id), max_skew=self.window)
        admin_pb2_grpc.add_AdminServicer_to_server(AdminService(registry, gate), self.admin)
        listen(self.admin, config.admin_listen, credentials)

        self._extra: list[grpc.aio.Server] = []

    def add(self, handler: grpc.GenericRpcHandler) -> None:
        self.main.add_generic_rpc_handlers([handler])

    def add_server(self, server: grpc.aio.Server) -> None:
        """Another server of the node (e.g. the peer's chaincode listener), run and
        stopped with the others."""
        self._extra.append(server)

    async def run(self, describe: str, stop_channels: Callable[[], Awaitable[None]]) -> None:
        """Serve until SIGTERM or SIGINT, then shut down in order."""
        for server in self._extra:
            await server.start()
        await self.main.start()
        await self.admin.start()
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        loop = asyncio.get_running_loop()
        log.info("%s serving on %s, admin on %s (event loop: %s, gRPC poller thread: %s)", describe,
                 self.config.listen, self.config.admin_listen, grpcenv.loop_name(loop), grpcenv.poller_policy())
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("shutting down")
        await self.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.admin.stop(GRACE_SECONDS)
        await self.main.stop(GRACE_SECONDS)
        await stop_channels()
        for server in self._extra:
            await server.stop(GRACE_SECONDS)
        log.info("stopped")


def main(
    argv: Sequence[str] | None,
    prog: str,
    description: str,
    load_config: Callable[[str], C],
    run: Callable[[C], Coroutine[Any, Any, None]],
) -> int:
    """The `python -m <node> --config FILE` entry point of a node."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--config", required=True, help="node configuration (YAML)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConsortiaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    configure_logging(config.log_level)
    if config.cpus:
        try:
            cpus.pin_process(config.cpus)
        except OSError as exc:
            log.error("cannot run on CPU %s: %s", cpus.describe(config.cpus), exc)
            return 1
        log.info("running on CPU %s", cpus.describe(config.cpus))
    try:
        grpcenv.run(run(config))
    except ConsortiaError as exc:
        log.error("%s", exc)
        return 1
    return 0
