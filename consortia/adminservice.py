"""The Admin gRPC service both node kinds serve: join, list and remove channels.

It checks that the caller is an admin of the node's own org (`AdminGate`) and maps
the outcome to gRPC status codes; what joining means is the node's business, behind
the small `ChannelRegistry` interface.
"""

from __future__ import annotations

import logging
from typing import Protocol

import grpc
from fabric_protos.common import common_pb2
from google.protobuf.message import DecodeError

from consortia.adminrpc import AdminAuthError, AdminGate
from consortia.ledger.channelfolders import JoinError
from consortia.protos.v1 import admin_pb2, admin_pb2_grpc

log = logging.getLogger(__name__)


class ChannelRegistry(Protocol):
    async def join(self, block: common_pb2.Block) -> tuple[str, int]:
        """Serve the channel of a genesis block; (channel id, height). JoinError if not."""
        ...

    def channels(self) -> list[tuple[str, int]]:
        """(channel id, height) of every channel served, sorted by id."""
        ...

    async def remove(self, channel_id: str) -> int:
        """Stop serving a channel and delete its data; its height. JoinError if unknown."""
        ...


def _status_of(error: JoinError) -> grpc.StatusCode:
    if error.exists:
        return grpc.StatusCode.ALREADY_EXISTS
    if error.not_found:
        return grpc.StatusCode.NOT_FOUND
    return grpc.StatusCode.INVALID_ARGUMENT


class AdminService(admin_pb2_grpc.AdminServicer):
    def __init__(self, registry: ChannelRegistry, gate: AdminGate) -> None:
        self.registry = registry
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

    async def JoinChannel(self, request: admin_pb2.SignedAdminRequest,
                          context: grpc.aio.ServicerContext) -> admin_pb2.ChannelInfo:
        verified = await self._authorize(request, "join", context)
        try:
            block = common_pb2.Block.FromString(verified.join.channel_block)
        except DecodeError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"channel_block is not a common.Block: {exc}")
        try:
            channel_id, height = await self.registry.join(block)
        except JoinError as exc:
            await context.abort(_status_of(exc), str(exc))
        return admin_pb2.ChannelInfo(channel_id=channel_id, height=height)

    async def ListChannels(self, request: admin_pb2.SignedAdminRequest,
                           context: grpc.aio.ServicerContext) -> admin_pb2.ChannelList:
        await self._authorize(request, "list", context)
        return admin_pb2.ChannelList(
            channels=[admin_pb2.ChannelInfo(channel_id=c, height=h) for c, h in self.registry.channels()]
        )

    async def RemoveChannel(self, request: admin_pb2.SignedAdminRequest,
                            context: grpc.aio.ServicerContext) -> admin_pb2.ChannelInfo:
        verified = await self._authorize(request, "remove", context)
        channel_id = verified.remove.channel_id
        try:
            height = await self.registry.remove(channel_id)
        except JoinError as exc:
            await context.abort(_status_of(exc), str(exc))
        return admin_pb2.ChannelInfo(channel_id=channel_id, height=height)
