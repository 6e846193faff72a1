"""The orderer process: the one place where its parts are wired together.

    python -m orderer --config orderer.yaml     (what `consortia orderer start` runs)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import signal
import sys
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from consortia.adminrpc import AdminGate
from consortia.config.node import OrdererNodeConfig, load_orderer_config
from consortia.errors import ConsortiaError
from consortia.grpcutil import OPTIONS, listen, server_credentials
from consortia.msp.layout import load_msp, load_signing_identity
from consortia.protos.v1 import admin_pb2_grpc
from orderer.registrar import Registrar
from orderer.server import AtomicBroadcast, AdminService

log = logging.getLogger("orderer")

GRACE_SECONDS = 5.0


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("grpc", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger().level))


class OrdererNode:
    def __init__(self, config: OrdererNodeConfig) -> None:
        self.config = config
        self.signer = load_signing_identity(config.msp_dir, config.msp_id)
        self.registrar = Registrar(config.data_dir, self.signer)
        window = dt.timedelta(milliseconds=config.time_window)
        credentials = server_credentials(config.tls)
        self.health = health.aio.HealthServicer()

        self.server = grpc.aio.server(options=OPTIONS)
        self.server.add_generic_rpc_handlers([AtomicBroadcast(self.registrar, window).handler()])
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        listen(self.server, config.listen, credentials)

        self.admin_server = grpc.aio.server(options=OPTIONS)
        gate = AdminGate(load_msp(config.msp_dir, config.msp_id), max_skew=window)
        admin_pb2_grpc.add_AdminServicer_to_server(AdminService(self.registrar, gate), self.admin_server)
        listen(self.admin_server, config.admin_listen, credentials)

    async def run(self) -> None:
        await self.registrar.load_existing()
        await self.server.start()
        await self.admin_server.start()
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "orderer %s (%s) serving on %s, admin on %s, channels: %s",
            self.signer.identity.common_name, self.config.msp_id, self.config.listen,
            self.config.admin_listen, ", ".join(sorted(self.registrar.chains)) or "none",
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("shutting down")
        await self.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.admin_server.stop(GRACE_SECONDS)
        await self.server.stop(GRACE_SECONDS)
        await self.registrar.stop()
        log.info("stopped")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="orderer", description="Run a Consortia ordering node.")
    parser.add_argument("--config", required=True, help="node configuration (YAML)")
    args = parser.parse_args(argv)
    try:
        config = load_orderer_config(args.config)
    except ConsortiaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    configure_logging(config.log_level)

    async def run() -> None:
        await OrdererNode(config).run()

    try:
        asyncio.run(run())
    except ConsortiaError as exc:
        log.error("%s", exc)
        return 1
    return 0
