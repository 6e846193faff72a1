"""gRPC clients for the other peers and the orderers a gateway calls.

One channel per address, opened on first use and kept: gRPC reconnects by itself, and
a gateway calls the same few nodes over and over. TLS roots come from the channel
configuration; the peer presents its own TLS certificate, for servers that require
mutual TLS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2, ab_pb2_grpc
from fabric_protos.peer import peer_pb2_grpc, proposal_response_pb2

from consortia.grpcutil import channel
from consortia.protoutil.proposal import UnpackedProposal
from peer.blockpuller import ClientTLS
from peer.gateway.registry import Unreachable

Opener = Callable[[], grpc.aio.Channel]


class GrpcConnector:
    def __init__(self, tls: ClientTLS | None) -> None:
        self.tls = tls
        self._channels: dict[str, grpc.aio.Channel] = {}

    def _channel(self, address: str, roots: bytes) -> grpc.aio.Channel:
        found = self._channels.get(address)
        if found is None:
            if self.tls is None:
                found = channel(address)
            else:
                found = channel(address, root_ca=roots, client_cert=self.tls.cert, client_key=self.tls.key)
            self._channels[address] = found
        return found

    def endorser(self, address: str, tls_roots: bytes) -> RemoteEndorser:
        return RemoteEndorser(address, lambda: self._channel(address, tls_roots))

    def orderer(self, address: str, tls_roots: bytes) -> RemoteOrderer:
        return RemoteOrderer(address, lambda: self._channel(address, tls_roots))

    async def close(self) -> None:
        for ch in self._channels.values():
            await ch.close()
        self._channels.clear()


class RemoteEndorser:
    def __init__(self, address: str, open_channel: Opener) -> None:
        self.address = address
        self._open = open_channel
        self._stub: peer_pb2_grpc.EndorserStub | None = None

    async def process_proposal(self, proposal: UnpackedProposal,
                               timeout: float) -> proposal_response_pb2.ProposalResponse:
        if self._stub is None:
            self._stub = peer_pb2_grpc.EndorserStub(self._open())
        try:
            response: proposal_response_pb2.ProposalResponse = await self._stub.ProcessProposal(
                proposal.signed, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            raise Unreachable(f"{exc.code().name}: {exc.details()}") from exc
        return response


class RemoteOrderer:
    def __init__(self, address: str, open_channel: Opener) -> None:
        self.address = address
        self._open = open_channel
        self._stub: ab_pb2_grpc.AtomicBroadcastStub | None = None

    async def broadcast(self, envelope: common_pb2.Envelope, timeout: float) -> ab_pb2.BroadcastResponse:
        if self._stub is None:
            self._stub = ab_pb2_grpc.AtomicBroadcastStub(self._open())

        async def one() -> AsyncIterator[common_pb2.Envelope]:
            yield envelope

        try:
            # One envelope, then half-close: the orderer answers and ends the stream.
            answers = [answer async for answer in self._stub.Broadcast(one(), timeout=timeout)]
        except grpc.aio.AioRpcError as exc:
            raise Unreachable(f"{exc.code().name}: {exc.details()}") from exc
        if not answers or not isinstance(answers[0], ab_pb2.BroadcastResponse):
            raise Unreachable("the orderer closed the stream without an answer")
        return answers[0]
