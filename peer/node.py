"""The peer process: the one place where its parts are wired together.

    python -m peer --config peer.yaml     (what `consortia peer start` runs)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from pathlib import Path

import grpc
from fabric_protos.gateway import gateway_pb2_grpc
from fabric_protos.peer import chaincode_shim_pb2_grpc, peer_pb2_grpc, proposal_response_pb2

from consortia.config.node import PeerNodeConfig, chaincode_log_dir, load_peer_config
from consortia.grpcutil import OPTIONS, listen
from consortia.lifecycle.package import CANNOT_START, PYTHON, ChaincodePackage
from consortia.msp.layout import load_msp, load_signing_identity
from consortia.nodeserver import NodeServers
from consortia.nodeserver import main as node_main
from consortia.protos.v1 import private_data_pb2_grpc
from consortia.protoutil.proposal import UnpackedProposal
from peer.blockpuller import ClientTLS
from peer.chaincode.handler import ChaincodeCallError
from peer.chaincode.launcher import ChaincodeLauncher
from peer.chaincode.registry import ChaincodeRegistry
from peer.chaincode.tls import ChaincodeTLS
from peer.channels import ChannelManager
from peer.endorser.endorser import Endorser
from peer.endorser.simulator import TxSimulator
from peer.gateway.commits import CommitFinder
from peer.gateway.connections import GrpcConnector
from peer.gateway.gateway import Gateway, GatewayOptions
from peer.gateway.registry import Registry
from peer.ledger.statedb import StateReader
from peer.lifecycle.definitions import Definitions
from peer.lifecycle.scc import Lifecycle
from peer.lifecycle.store import PackageStore
from peer.privatedata.network import PrivateDataNetwork
from peer.privatedata.service import PrivateDataService
from peer.server import ChaincodeSupportService, DeliverService, EndorserService, GatewayService

log = logging.getLogger(__name__)


class LocalEndorser:
    """The gateway's way to this peer's own endorser: a call, not a connection."""

    def __init__(self, endorser: Endorser) -> None:
        self.endorser = endorser

    async def process_proposal(self, proposal: UnpackedProposal, timeout: float, *,
                               evaluate: bool = False) -> proposal_response_pb2.ProposalResponse:
        async with asyncio.timeout(timeout):  # no task of its own, as wait_for would make on every call
            return await self.endorser.process(proposal, sign=not evaluate)


def committed_packages(channel_ids: Sequence[str], definitions: Definitions, store: PackageStore,
                       registry: ChaincodeRegistry) -> dict[str, tuple[ChaincodePackage, Path | None]]:
    """The packages this org chose for the committed definitions of the channels, each
    with its unpacked contract folder (python). A package that cannot be unpacked is
    left out, and proposals for it are told why: it must not keep the others from
    running."""
    wanted: dict[str, tuple[ChaincodePackage, Path | None]] = {}
    for channel_id in channel_ids:
        for definition, package_id in definitions.all_committed(channel_id):
            if not package_id or package_id in wanted:
                continue
            package = store.get(package_id)
            if package is None:
                log.warning("[%s] chaincode %s (sequence %d) is to run package %s, which is not installed here",
                            channel_id, definition.name, definition.sequence, package_id)
                continue
            try:
                folder = store.unpacked(package) if package.type == PYTHON else None
            except Exception as exc:  # a full disk, a peer bug: this package only
                log.error("[%s] chaincode %s: cannot unpack package %s: %s", channel_id, definition.name,
                          package_id, exc, exc_info=not isinstance(exc, OSError))
                registry.failed(package_id, f"{CANNOT_START}: its package could not be unpacked: {exc}")
                continue
            wanted[package_id] = (package, folder)
    return wanted


async def run(config: PeerNodeConfig) -> None:
    signer = load_signing_identity(config.msp_dir, config.msp_id)
    tls = None
    if config.tls.enabled:
        assert config.tls.cert is not None and config.tls.key is not None
        tls = ClientTLS(cert=config.tls.cert.read_bytes(), key=config.tls.key.read_bytes())
    loop = asyncio.get_running_loop()

    def readers(channel_id: str) -> AbstractContextManager[StateReader] | None:
        channel = channels.get(channel_id)
        return None if channel is None else channel.reader()

    def definitions_changed(_channel_id: str = "") -> None:
        loop.call_soon_threadsafe(run_committed_chaincodes)  # commits happen in a worker thread

    definitions = Definitions(config.msp_id, config.chaincodes, readers, definitions_changed)
    channels = ChannelManager(config.data_dir, signer, tls, max_backoff=config.max_pull_backoff / 1000,
                              policies=definitions.policies, listener=definitions.changed)
    store = PackageStore(config.data_dir / "lifecycle")
    lifecycle = Lifecycle(config.msp_id, store, definitions, lambda: [name for name, _ in channels.channels()],
                          definitions_changed)

    @asynccontextmanager
    async def read_only(channel_id: str) -> AsyncIterator[TxSimulator]:
        channel = channels.get(channel_id)
        if channel is None:
            raise ChaincodeCallError(f"this peer has not joined channel {channel_id}")
        async with channel.simulation() as simulator:
            yield simulator

    registry = ChaincodeRegistry(config.execute_timeout / 1000, read_only)

    def resolve(channel_id: str, name: str) -> str:
        route = definitions.route(channel_id, name)
        return route.handler if route is not None and route.handler else name

    registry.resolve = resolve
    window = dt.timedelta(milliseconds=config.proposal_time_window) if config.proposal_time_window else None
    connector = GrpcConnector(tls)
    own_address = config.external_address or config.listen
    private_network = PrivateDataNetwork(signer, connector.open, own_address)
    channels.private_network = private_network
    endorser = Endorser(channels.get, signer, registry, definitions, window, lifecycle,
                        load_msp(config.msp_dir, config.msp_id), private_network)
    servers = NodeServers(config, channels)
    servers.add(DeliverService(channels, servers.window).handler())
    peer_pb2_grpc.add_EndorserServicer_to_server(EndorserService(endorser), servers.main)
    private_data_pb2_grpc.add_PrivateDataServicer_to_server(
        PrivateDataService(channels.get, definitions.collection, config.msp_id), servers.main)
    registry_of_peers = Registry(config.msp_id, own_address, LocalEndorser(endorser), connector)
    options = GatewayOptions(config.gateway.endorsement_timeout / 1000, config.gateway.broadcast_timeout / 1000)
    gateway = Gateway(channels.get, registry_of_peers, definitions.policies, options)
    gateway_pb2_grpc.add_GatewayServicer_to_server(GatewayService(gateway, CommitFinder(channels.get)), servers.main)
    chaincode_tls = ChaincodeTLS.from_settings(config.tls, config.msp_id)
    if config.chaincode_listen is not None:
        chaincode_server = grpc.aio.server(options=OPTIONS)
        chaincode_shim_pb2_grpc.add_ChaincodeSupportServicer_to_server(ChaincodeSupportService(registry), chaincode_server)
        listen(chaincode_server, config.chaincode_listen,
               chaincode_tls.listener_credentials() if chaincode_tls is not None else None)
        servers.add_server(chaincode_server)
    launcher = ChaincodeLauncher(registry, config.chaincode_listen, chaincode_log_dir(config.data_dir), chaincode_tls,
                                 chaincode_cpus=config.chaincode_cpus)

    def run_committed_chaincodes() -> None:
        """Run the packages this org chose for the committed definitions of every channel."""
        channel_ids = [channel_id for channel_id, _ in channels.channels()]
        launcher.reconcile(committed_packages(channel_ids, definitions, store, registry))

    await channels.load_existing()

    async def stop() -> None:
        await launcher.stop()
        await connector.close()
        await channels.stop()

    launcher.start(config.chaincodes)
    run_committed_chaincodes()
    joined = ", ".join(name for name, _ in channels.channels()) or "none"
    await servers.run(f"peer {signer.identity.common_name} ({config.msp_id}), channels: {joined}", stop)


def main(argv: Sequence[str] | None = None) -> int:
    return node_main(argv, "peer", "Run a Consortia peer.", load_peer_config, run)
