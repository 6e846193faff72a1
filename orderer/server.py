"""The orderer's gRPC service AtomicBroadcast, as a thin servicer.

Broadcast and Deliver take raw request bytes (no deserializer), so that bytes which are
not an Envelope get Fabric's BAD_REQUEST answer on the stream instead of a transport
error, and the stream goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2

from consortia import delivery
from consortia.msp.identity import Identity
from consortia.policy.paths import CHANNEL_READERS
from orderer.broadcast import BroadcastHandler
from orderer.chainsupport import ChainSupport
from orderer.registrar import Registrar

log = logging.getLogger(__name__)

SERVICE = "orderer.AtomicBroadcast"


class AtomicBroadcast:
    def __init__(self, registrar: Registrar, window: dt.timedelta) -> None:
        self.broadcast_handler = BroadcastHandler(registrar.get)
        self.registrar = registrar
        self.window = window

    async def broadcast(self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> AsyncIterator[ab_pb2.BroadcastResponse]:
        async for raw in requests:
            outcome = await self.broadcast_handler.process(raw)
            if outcome.status != common_pb2.SUCCESS:
                log.debug("broadcast refused (%s): %s", common_pb2.Status.Name(outcome.status), outcome.info)
            yield ab_pb2.BroadcastResponse(status=outcome.status, info=outcome.info)

    async def deliver(self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> None:
        async def send(block: common_pb2.Block, chain: ChainSupport, _creator: Identity) -> None:
            await context.write(ab_pb2.DeliverResponse(block=block))

        async def serve_one(envelope: common_pb2.Envelope) -> None:
            await delivery.serve_request(envelope, self.registrar.get, CHANNEL_READERS, self.window, send)

        async def write_status(status: int) -> None:
            await context.write(ab_pb2.DeliverResponse(status=status))

        await delivery.serve_stream(requests, serve_one, write_status)

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Broadcast": grpc.stream_stream_rpc_method_handler(
                    self.broadcast, response_serializer=ab_pb2.BroadcastResponse.SerializeToString
                ),
                "Deliver": grpc.stream_stream_rpc_method_handler(
                    self.deliver, response_serializer=ab_pb2.DeliverResponse.SerializeToString
                ),
            },
        )
