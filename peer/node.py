"""The peer process: the one place where its parts are wired together.

    python -m peer --config peer.yaml     (what `consortia peer start` runs)
"""

from __future__ import annotations

from collections.abc import Sequence

from consortia.config.node import PeerNodeConfig, load_peer_config
from consortia.msp.layout import load_signing_identity
from consortia.nodeserver import NodeServers
from consortia.nodeserver import main as node_main
from peer.blockpuller import ClientTLS
from peer.channels import ChannelManager
from peer.server import DeliverService


async def run(config: PeerNodeConfig) -> None:
    signer = load_signing_identity(config.msp_dir, config.msp_id)
    tls = None
    if config.tls.enabled:
        assert config.tls.cert is not None and config.tls.key is not None
        tls = ClientTLS(cert=config.tls.cert.read_bytes(), key=config.tls.key.read_bytes())
    channels = ChannelManager(config.data_dir, signer, tls, max_backoff=config.max_pull_backoff / 1000)
    servers = NodeServers(config, channels)
    servers.add(DeliverService(channels, servers.window).handler())
    await channels.load_existing()
    joined = ", ".join(name for name, _ in channels.channels()) or "none"
    await servers.run(f"peer {signer.identity.common_name} ({config.msp_id}), channels: {joined}", channels.stop)


def main(argv: Sequence[str] | None = None) -> int:
    return node_main(argv, "peer", "Run a Consortia peer.", load_peer_config, run)
