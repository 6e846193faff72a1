"""A small network for tests: crypto material, genesis blocks, an orderer process, peer
processes on demand, and signed envelopes of the kinds the tests need."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2, ab_pb2_grpc
from fabric_protos.peer import chaincode_pb2, events_pb2_grpc, peer_pb2_grpc, proposal_response_pb2

from consortia import adminclient, cryptogen
from consortia.channelconfig.build import build_channel_config
from consortia.channelconfig.genesis import genesis_block
from consortia.config.network import PORTS_PER_NODE, Network, load_network
from consortia.endpoint import NodeEndpoint
from consortia.grpcutil import channel
from consortia.msp.layout import load_signing_identity
from consortia.msp.signing import SigningIdentity
from consortia.protoutil.envelope import create_signed_envelope
from consortia.protoutil.proposal import UnpackedProposal, create_proposal, sign_proposal, unpack_proposal
from consortia.protoutil.response import create_proposal_response
from consortia.protoutil.transaction import create_signed_transaction
from tests.support.processes import NodeProcess, free_port_block, free_ports, share

# Org1 and Org2 are members of channel "ch1"; Org3 is in the network but not the channel.
NETWORK: dict[str, Any] = {
    "name": "ordertest",
    "organizations": [
        {"name": f"Org{i}", "msp_id": f"Org{i}MSP", "domain": f"org{i}.example.com"} for i in (1, 2, 3)
    ],
    "orderer": {"name": "Orderer", "msp_id": "OrdererMSP", "domain": "orderer.example.com"},
    "consensus": {"type": "solo", "batch": {"max_message_count": 10, "preferred_max_bytes": "64 KB",
                                              "absolute_max_bytes": "256 KB", "timeout": "300ms"}},
    "channels": [
        {"name": "ch1", "organizations": ["Org1MSP", "Org2MSP"]},
        {"name": "ch2", "organizations": ["Org1MSP", "Org3MSP"]},
    ],
}

OLDEST = ab_pb2.SeekPosition(oldest=ab_pb2.SeekOldest())
NEWEST = ab_pb2.SeekPosition(newest=ab_pb2.SeekNewest())


def position(number: int) -> ab_pb2.SeekPosition:
    return ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=number))


@dataclass
class PeerHandle:
    msp_id: str
    name: str
    node: NodeProcess
    address: str
    admin_address: str


class TestNetwork:
    __test__ = False  # a helper, not a test class
    def __init__(self, root: Path, overrides: dict[str, Any] | None = None, *, tls: bool = False,
                 mutual_tls: bool = False) -> None:
        self.root = root
        self._genesis: dict[str, bytes] = {}
        self._peers: dict[tuple[str, str], PeerHandle] = {}
        self._tls = tls
        self._mutual_tls = mutual_tls
        spec = {**NETWORK, **(overrides or {})}
        self.network_file = root / "network.yaml"
        self.network_file.write_text(yaml.safe_dump(spec, sort_keys=False))
        nodes = len(load_network(self.network_file).node_ports())
        spec["base_port"] = free_port_block(PORTS_PER_NODE * nodes)
        self.network_file.write_text(yaml.safe_dump(spec, sort_keys=False))
        self.network: Network = load_network(self.network_file)
        self.crypto = root / "crypto"
        cryptogen.generate(self.network, self.crypto)
        self.layout = cryptogen.CryptoLayout(self.crypto, self.network)
        ports = self.network.node_ports()[("OrdererMSP", "orderer0")]
        self.address = f"127.0.0.1:{ports.listen}"
        self.admin_address = f"127.0.0.1:{ports.admin}"
        config = {
            "msp_id": "OrdererMSP",
            "msp_dir": str(self.layout.org("OrdererMSP").node_dir("orderer0") / "msp"),
            "listen": self.address,
            "admin_listen": self.admin_address,
            "data_dir": str(root / "orderer-data"),
            "log_level": "DEBUG",
        }
        node_tls = self.layout.org("OrdererMSP").node_dir("orderer0") / "tls"
        self.tls_ca = (node_tls / "ca.crt").read_bytes() if tls else None
        if tls:
            config["tls"] = {
                "enabled": True, "cert": str(node_tls / "server.crt"), "key": str(node_tls / "server.key"),
                "client_auth": mutual_tls,
                "client_root_cas": [str(self.layout.org(m).root / "tlsca" / f"tlsca.{self.layout.org(m).domain}-cert.pem")
                                    for m in ("Org1MSP", "Org2MSP", "OrdererMSP")] if mutual_tls else [],
            }
        config_file = root / "orderer.yaml"
        config_file.write_text(yaml.safe_dump(config))
        client_tls = self.layout.org("Org1MSP").user_dir("User1") / "tls"
        self.client_tls: dict[str, bytes | None] = {
            "root_ca": self.tls_ca,
            "client_cert": (client_tls / "client.crt").read_bytes() if mutual_tls else None,
            "client_key": (client_tls / "client.key").read_bytes() if mutual_tls else None,
        }
        self.orderer = NodeProcess(
            "orderer0", "orderer", config_file, self.address, root / "orderer0.log",
            tls=(self.tls_ca, self.client_tls["client_cert"], self.client_tls["client_key"]) if self.tls_ca else None,
        )

    def genesis(self, channel_id: str) -> bytes:
        """The channel's genesis block (made once, so every join hands over the same bytes)."""
        if channel_id not in self._genesis:
            block = genesis_block(build_channel_config(self.network, channel_id, self.crypto))
            self._genesis[channel_id] = bytes(block.SerializeToString())
        return self._genesis[channel_id]

    def identity(self, msp_id: str, who: str = "User1") -> SigningIdentity:
        org = self.layout.org(msp_id)
        folder = org.node_dir(who) if who.startswith(("peer", "orderer")) else org.user_dir(who)
        return load_signing_identity(folder / "msp", msp_id)

    def admin(self, msp_id: str = "OrdererMSP") -> NodeEndpoint:
        return NodeEndpoint(
            self.admin_address, self.identity(msp_id, "Admin"), tls_ca=self.client_tls["root_ca"],
            client_cert=self.client_tls["client_cert"], client_key=self.client_tls["client_key"], timeout=10,
        )

    async def join(self, channel_id: str) -> None:
        await adminclient.join_channel(self.admin(), self.genesis(channel_id))

    def peer(self, msp_id: str, name: str = "peer0", **settings: Any) -> PeerHandle:
        """The peer `name` of an org (its process is made once, started by the caller)."""
        handle = self._peers.get((msp_id, name))
        if handle is not None:
            return handle
        org = self.layout.org(msp_id)
        ports = self.network.node_ports()[(msp_id, name)]
        address, admin_address = f"127.0.0.1:{ports.listen}", f"127.0.0.1:{ports.admin}"
        node_dir = org.node_dir(name)
        config: dict[str, Any] = {
            "msp_id": msp_id,
            "msp_dir": str(node_dir / "msp"),
            "listen": address,
            "admin_listen": admin_address,
            "data_dir": str(self.root / f"{name}.{org.domain}-data"),
            "log_level": "DEBUG",
            "max_pull_backoff": "500ms",
            **settings,
        }
        if self._tls:
            config["tls"] = {
                "enabled": True, "cert": str(node_dir / "tls" / "server.crt"), "key": str(node_dir / "tls" / "server.key"),
                "root_cert": str(node_dir / "tls" / "ca.crt"), "client_auth": self._mutual_tls,
                "client_root_cas": [str(self.layout.org(m).tlsca_cert) for m in ("Org1MSP", "Org2MSP", "OrdererMSP")]
                if self._mutual_tls else [],
            }
        config_file = self.root / f"{name}.{org.domain}.yaml"
        config_file.write_text(yaml.safe_dump(config))
        tls_ca = (node_dir / "tls" / "ca.crt").read_bytes() if self._tls else None
        node = NodeProcess(
            f"{name}.{org.domain}", "peer", config_file, address, self.root / f"{name}.{org.domain}.log",
            tls=(tls_ca, self.client_tls["client_cert"], self.client_tls["client_key"]) if tls_ca else None,
        )
        handle = PeerHandle(msp_id, name, node, address, admin_address)
        self._peers[(msp_id, name)] = handle
        return handle

    def peer_admin(self, peer: PeerHandle) -> NodeEndpoint:
        tls_ca = (self.layout.org(peer.msp_id).node_dir(peer.name) / "tls" / "ca.crt").read_bytes() if self._tls else None
        return NodeEndpoint(
            peer.admin_address, self.identity(peer.msp_id, "Admin"), tls_ca=tls_ca,
            client_cert=self.client_tls["client_cert"], client_key=self.client_tls["client_key"], timeout=10,
        )

    async def join_peer(self, peer: PeerHandle, channel_id: str) -> None:
        await adminclient.join_channel(self.peer_admin(peer), self.genesis(channel_id))

    def start_channel(self, channel_id: str, msp_ids: Sequence[str]) -> dict[str, PeerHandle]:
        """Start the orderer and a peer of each org (with a chaincode listener), all on
        `channel_id`, shared by the module (its fixture kills them)."""
        self.orderer.start()
        asyncio.run(self.join(channel_id))
        peers: dict[str, PeerHandle] = {}
        for msp_id in msp_ids:
            peer = self.peer(msp_id, chaincode_listen=f"127.0.0.1:{free_ports(1)[0]}")
            peer.node.start()
            asyncio.run(self.join_peer(peer, channel_id))
            peers[msp_id] = peer
        share(self.orderer, *(p.node for p in peers.values()))
        return peers

    async def peer_deliver(
        self, peer: PeerHandle, *requests: common_pb2.Envelope, filtered: bool = False, timeout: float = 30,
    ) -> tuple[list[Any], list[int]]:
        """Blocks (or filtered blocks) and statuses a peer sends for the requests."""
        items: list[Any] = []
        statuses: list[int] = []
        tls_ca = (self.layout.org(peer.msp_id).node_dir(peer.name) / "tls" / "ca.crt").read_bytes() if self._tls else None
        async with channel(peer.address, root_ca=tls_ca, client_cert=self.client_tls["client_cert"],
                           client_key=self.client_tls["client_key"]) as ch:
            stub = events_pb2_grpc.DeliverStub(ch)

            async def send() -> AsyncIterator[common_pb2.Envelope]:
                for request in requests:
                    yield request

            call = stub.DeliverFiltered if filtered else stub.Deliver
            async for response in call(send(), timeout=timeout):
                kind = response.WhichOneof("Type")
                if kind == "status":
                    statuses.append(response.status)
                    if len(statuses) == len(requests):
                        break
                else:
                    items.append(getattr(response, kind))
        return items, statuses

    def _peer_channel(self, peer: PeerHandle) -> Any:
        tls_ca = (self.layout.org(peer.msp_id).node_dir(peer.name) / "tls" / "ca.crt").read_bytes() if self._tls else None
        return channel(peer.address, root_ca=tls_ca, client_cert=self.client_tls["client_cert"],
                       client_key=self.client_tls["client_key"])

    async def endorse(
        self, peers: Sequence[PeerHandle], chaincode: str, *args: str | bytes, channel_id: str = "ch1",
        client: SigningIdentity | None = None, transient: dict[str, bytes] | None = None, timeout: float = 60,
    ) -> tuple[UnpackedProposal, list[proposal_response_pb2.ProposalResponse]]:
        """One signed proposal, sent to each peer; the peers' responses in order."""
        client = client or self.identity("Org1MSP")
        proposal, _ = create_proposal(channel_id, chaincode, [a.encode() if isinstance(a, str) else a for a in args],
                                      client.serialize(), transient=transient)
        signed = sign_proposal(proposal, client)
        responses = []
        for peer in peers:
            async with self._peer_channel(peer) as ch:
                responses.append(await peer_pb2_grpc.EndorserStub(ch).ProcessProposal(signed, timeout=timeout))
        return unpack_proposal(signed), responses

    async def submit(self, proposal: UnpackedProposal, responses: Sequence[proposal_response_pb2.ProposalResponse],
                     client: SigningIdentity | None = None) -> int:
        """Assemble the transaction and broadcast it; the orderer's status."""
        envelope = create_signed_transaction(proposal, responses, client or self.identity("Org1MSP"))
        (answer,) = await self.broadcast([envelope])
        return int(answer.status)

    async def wait_for_height(self, peer: PeerHandle, channel_id: str, height: int, timeout: float = 30) -> list[common_pb2.Block]:
        """The peer's blocks 0..height-1, waiting until it has committed them."""
        reader = self.identity(peer.msp_id, "User1")
        blocks, statuses = await self.peer_deliver(
            peer, self.seek(channel_id, reader, OLDEST, position(height - 1)), timeout=timeout
        )
        assert statuses == [200], statuses
        return blocks

    def transaction(self, channel_id: str, client: SigningIdentity, endorser: SigningIdentity,
                    payload: bytes = b"") -> common_pb2.Envelope:
        """A correctly signed endorser transaction (its content does not matter to an orderer)."""
        proposal, _ = create_proposal(channel_id, "basic", [b"put", payload], client.serialize())
        unpacked = unpack_proposal(sign_proposal(proposal, client))
        response = create_proposal_response(
            unpacked, results=payload, response=proposal_response_pb2.Response(status=200),
            chaincode_id=chaincode_pb2.ChaincodeID(name="basic", version="1"), endorser=endorser,
        )
        return create_signed_transaction(unpacked, [response], client)

    def seek(self, channel_id: str, signer: SigningIdentity, start: ab_pb2.SeekPosition,
             stop: ab_pb2.SeekPosition, *, fail_if_not_ready: bool = False) -> common_pb2.Envelope:
        info = ab_pb2.SeekInfo(
            start=start, stop=stop,
            behavior=ab_pb2.SeekInfo.FAIL_IF_NOT_READY if fail_if_not_ready else ab_pb2.SeekInfo.BLOCK_UNTIL_READY,
        )
        return create_signed_envelope(common_pb2.DELIVER_SEEK_INFO, channel_id, signer, info.SerializeToString())

    async def broadcast(self, envelopes: Sequence[common_pb2.Envelope | bytes]) -> list[ab_pb2.BroadcastResponse]:
        """Send envelopes on one stream; the answers, in order."""

        async def requests() -> AsyncIterator[bytes]:
            for envelope in envelopes:
                yield envelope if isinstance(envelope, bytes) else envelope.SerializeToString()

        async with channel(self.address, **self.client_tls) as ch:
            call = ch.stream_stream(
                "/orderer.AtomicBroadcast/Broadcast",
                request_serializer=lambda raw: raw,
                response_deserializer=ab_pb2.BroadcastResponse.FromString,
            )
            return [response async for response in call(requests(), timeout=60)]

    async def deliver(
        self, *requests: common_pb2.Envelope, timeout: float = 30,
        on_block: Callable[[common_pb2.Block], None] | None = None,
    ) -> tuple[list[common_pb2.Block], list[int]]:
        """Blocks and statuses the orderer sends for the requests (sent one after another).

        `on_block` sees each block the moment it arrives.
        """
        blocks: list[common_pb2.Block] = []
        statuses: list[int] = []
        async with channel(self.address, **self.client_tls) as ch:
            stub = ab_pb2_grpc.AtomicBroadcastStub(ch)

            async def send() -> AsyncIterator[common_pb2.Envelope]:
                for request in requests:
                    yield request

            async for response in stub.Deliver(send(), timeout=timeout):
                if response.HasField("block"):
                    blocks.append(response.block)
                    if on_block is not None:
                        on_block(response.block)
                else:
                    statuses.append(response.status)
                    if len(statuses) == len(requests):
                        break
        return blocks, statuses
