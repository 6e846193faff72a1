"""The orderer process: the one place where its parts are wired together.

    python -m orderer --config orderer.yaml     (what `consortia orderer start` runs)
"""

from __future__ import annotations

from collections.abc import Sequence

from consortia.config.node import OrdererNodeConfig, load_orderer_config
from consortia.msp.layout import load_signing_identity
from consortia.nodeserver import NodeServers
from consortia.nodeserver import main as node_main
from orderer.registrar import Registrar
from orderer.server import AtomicBroadcast


async def run(config: OrdererNodeConfig) -> None:
    signer = load_signing_identity(config.msp_dir, config.msp_id)
    registrar = Registrar(config.data_dir, signer)
    servers = NodeServers(config, registrar)
    servers.add(AtomicBroadcast(registrar, servers.window).handler())
    await registrar.load_existing()
    channels = ", ".join(name for name, _ in registrar.channels()) or "none"
    await servers.run(f"orderer {signer.identity.common_name} ({config.msp_id}), channels: {channels}", registrar.stop)


def main(argv: Sequence[str] | None = None) -> int:
    return node_main(argv, "orderer", "Run a Consortia ordering node.", load_orderer_config, run)
