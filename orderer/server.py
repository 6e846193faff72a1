"""The orderer's gRPC surface: AtomicBroadcast, Admin and health, as thin servicers.

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
from google.protobuf.message import DecodeError

from consortia import delivery
from consortia.adminrpc import AdminAuthError, AdminGate
from consortia.protos.v1 import admin_pb2, admin_pb2_grpc
from orderer.broadcast import BroadcastHandler
from orderer.deliver import deliver
from orderer.registrar import JoinError, Registrar

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
        """Serve seek requests one after another on the stream; end it on any failure."""

        async def send(block: common_pb2.Block) -> None:
            await context.write(ab_pb2.DeliverResponse(block=block))

        async for raw in requests:
            status = common_pb2.SUCCESS
            try:
                envelope = common_pb2.Envelope.FromString(raw)
                await deliver(envelope, self.registrar.get, send, self.window)
            except DecodeError:
                status = common_pb2.BAD_REQUEST
                log.info("deliver request is not an Envelope")
            except delivery.DeliverRefused as exc:
                status = exc.status
                log.info("deliver ended with %s: %s", common_pb2.Status.Name(status), exc)
            await context.write(ab_pb2.DeliverResponse(status=status))
            if status != common_pb2.SUCCESS:
                return

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


class AdminService(admin_pb2_grpc.AdminServicer):
    """Join, list and remove channels; only for admins of the orderer's own org."""

    def __init__(self, registrar: Registrar, gate: AdminGate) -> None:
        self.registrar = registrar
        self.gate = gate

    async def _authorize(self, request: admin_pb2.SignedAdminRequest, operation: str,
                         context: grpc.aio.ServicerContext) -> admin_pb2.AdminRequest:
        try:
            verified, identity = self.gate.check(request, operation)
        except AdminAuthError as exc:
            code = grpc.StatusCode.INVALID_ARGUMENT if exc.bad_request else grpc.StatusCode.PERMISSION_DENIED
            log.warning("admin %s refused: %s", operation, exc)
            await context.abort(code, str(exc))
        log.info("admin %s by %s (%s)", operation, identity.common_name, identity.msp_id)
        return verified

    async def JoinChannel(self, request: admin_pb2.SignedAdminRequest, context: grpc.aio.ServicerContext) -> admin_pb2.ChannelInfo:
        verified = await self._authorize(request, "join", context)
        try:
            block = common_pb2.Block.FromString(verified.join.channel_block)
        except DecodeError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"channel_block is not a common.Block: {exc}")
        try:
            chain = await self.registrar.join(block)
        except JoinError as exc:
            code = grpc.StatusCode.ALREADY_EXISTS if exc.exists else grpc.StatusCode.INVALID_ARGUMENT
            await context.abort(code, str(exc))
        return admin_pb2.ChannelInfo(channel_id=chain.channel_id, height=chain.height)

    async def ListChannels(self, request: admin_pb2.SignedAdminRequest, context: grpc.aio.ServicerContext) -> admin_pb2.ChannelList:
        await self._authorize(request, "list", context)
        return admin_pb2.ChannelList(
            channels=[admin_pb2.ChannelInfo(channel_id=name, height=chain.height)
                      for name, chain in sorted(self.registrar.chains.items())]
        )

    async def RemoveChannel(self, request: admin_pb2.SignedAdminRequest, context: grpc.aio.ServicerContext) -> admin_pb2.ChannelInfo:
        verified = await self._authorize(request, "remove", context)
        channel_id = verified.remove.channel_id
        chain = self.registrar.get(channel_id)
        height = chain.height if chain is not None else 0
        try:
            await self.registrar.remove(channel_id)
        except JoinError as exc:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        return admin_pb2.ChannelInfo(channel_id=channel_id, height=height)
