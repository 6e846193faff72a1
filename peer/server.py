"""The peer's gRPC services, as thin servicers: protos.Deliver, protos.Endorser,
gateway.Gateway, and protos.ChaincodeSupport (on its own listener, for chaincode
processes)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import (
    chaincode_shim_pb2,
    chaincode_shim_pb2_grpc,
    events_pb2,
    peer_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
)
from google.protobuf import any_pb2
from google.rpc import status_pb2

from consortia import delivery
from consortia.msp.identity import Identity
from consortia.policy.paths import APPLICATION_READERS
from peer.chaincode.registry import ChaincodeRegistry
from peer.channel import PeerChannel
from peer.channels import ChannelManager
from peer.deliver import RecentFilteredBlocks
from peer.endorser.endorser import Endorser
from peer.gateway.commits import CommitFinder
from peer.gateway.errors import GatewayError
from peer.gateway.events import chaincode_events
from peer.gateway.gateway import Gateway

log = logging.getLogger(__name__)

SERVICE = "protos.Deliver"

Sender = Callable[[common_pb2.Block, PeerChannel, Identity], Awaitable[None]]


class DeliverService:
    def __init__(self, channels: ChannelManager, window: dt.timedelta) -> None:
        self.channels = channels
        self.window = window
        self.filtered = RecentFilteredBlocks()

    async def _serve(self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext, send: Sender) -> None:
        async def serve_one(envelope: common_pb2.Envelope) -> None:
            await delivery.serve_request(envelope, self.channels.get, APPLICATION_READERS, self.window, send)

        async def write_status(status: int) -> None:
            await context.write(events_pb2.DeliverResponse(status=status))

        await delivery.serve_stream(requests, serve_one, write_status)

    async def deliver_blocks(self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> None:
        async def send(block: common_pb2.Block, channel: PeerChannel, creator: Identity) -> None:
            await context.write(events_pb2.DeliverResponse(block=block))

        await self._serve(requests, context, send)

    async def deliver_filtered(self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> None:
        async def send(block: common_pb2.Block, channel: PeerChannel, creator: Identity) -> None:
            await context.write(self.filtered.response(block, channel.channel_id))

        await self._serve(requests, context, send)

    async def deliver_with_private_data(self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> None:
        """Blocks with the private write sets this peer holds of the collections whose
        member organizations include the requester's."""
        async def send(block: common_pb2.Block, channel: PeerChannel, creator: Identity) -> None:
            private = channel.private_data_of(int(block.header.number), creator.msp_id)
            await context.write(events_pb2.DeliverResponse(
                block_and_private_data=events_pb2.BlockAndPrivateData(block=block, private_data_map=private)))

        await self._serve(requests, context, send)

    def handler(self) -> grpc.GenericRpcHandler:
        serializer = events_pb2.DeliverResponse.SerializeToString
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Deliver": grpc.stream_stream_rpc_method_handler(self.deliver_blocks, response_serializer=serializer),
                "DeliverFiltered": grpc.stream_stream_rpc_method_handler(
                    self.deliver_filtered, response_serializer=serializer
                ),
                "DeliverWithPrivateData": grpc.stream_stream_rpc_method_handler(
                    self.deliver_with_private_data, response_serializer=serializer
                ),
            },
        )


class EndorserService(peer_pb2_grpc.EndorserServicer):
    """protos.Endorser: ProcessProposal."""

    def __init__(self, endorser: Endorser) -> None:
        self.endorser = endorser

    async def ProcessProposal(self, request: proposal_pb2.SignedProposal,
                              context: grpc.aio.ServicerContext) -> proposal_response_pb2.ProposalResponse:
        return await self.endorser.process_proposal(request)


class ChaincodeSupportService(chaincode_shim_pb2_grpc.ChaincodeSupportServicer):
    """protos.ChaincodeSupport: Register, for chaincode processes that dial the peer."""

    def __init__(self, registry: ChaincodeRegistry) -> None:
        self.registry = registry

    async def Register(self, requests: AsyncIterator[chaincode_shim_pb2.ChaincodeMessage],
                       context: grpc.aio.ServicerContext) -> None:
        await self.registry.serve(requests, context.write)


async def _abort(context: grpc.aio.ServicerContext, error: GatewayError) -> None:
    """End the call with the error's status, its ErrorDetails in the standard rich-status
    trailer (where Fabric's clients look for them)."""
    code = grpc.StatusCode[error.code.name]
    details = []
    for item in error.details:
        packed = any_pb2.Any()
        packed.Pack(item)
        details.append(packed)
    rich = status_pb2.Status(code=code.value[0], message=error.message, details=details)
    await context.abort(code, error.message, trailing_metadata=(("grpc-status-details-bin", rich.SerializeToString()),))


T = TypeVar("T")


async def _answer(context: grpc.aio.ServicerContext, what: str, tx_id: str, work: Awaitable[T]) -> T:
    try:
        return await work
    except GatewayError as exc:
        if tx_id:
            log.info("%s %s failed: %s", what, tx_id[:8], exc)
        else:
            log.info("%s failed: %s", what, exc)
        await _abort(context, exc)
        raise


class GatewayService(gateway_pb2_grpc.GatewayServicer):
    """gateway.Gateway: Evaluate, Endorse, Submit, CommitStatus, ChaincodeEvents."""

    def __init__(self, gateway: Gateway, commits: CommitFinder) -> None:
        self.gateway = gateway
        self.commits = commits

    async def Evaluate(self, request: gateway_pb2.EvaluateRequest,
                       context: grpc.aio.ServicerContext) -> gateway_pb2.EvaluateResponse:
        return await _answer(context, "evaluate", request.transaction_id, self.gateway.evaluate(request))

    async def Endorse(self, request: gateway_pb2.EndorseRequest,
                      context: grpc.aio.ServicerContext) -> gateway_pb2.EndorseResponse:
        return await _answer(context, "endorse", request.transaction_id, self.gateway.endorse(request))

    async def Submit(self, request: gateway_pb2.SubmitRequest,
                     context: grpc.aio.ServicerContext) -> gateway_pb2.SubmitResponse:
        return await _answer(context, "submit", request.transaction_id, self.gateway.submit(request))

    async def CommitStatus(self, request: gateway_pb2.SignedCommitStatusRequest,
                           context: grpc.aio.ServicerContext) -> gateway_pb2.CommitStatusResponse:
        return await _answer(context, "commit status", "", self.commits.commit_status(request))

    async def ChaincodeEvents(self, request: gateway_pb2.SignedChaincodeEventsRequest,
                              context: grpc.aio.ServicerContext) -> None:
        try:
            await chaincode_events(self.commits.channels, request, context.write)
        except GatewayError as exc:
            log.info("chaincode events refused: %s", exc)
            await _abort(context, exc)
