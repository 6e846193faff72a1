"""Client side of the Admin service: sign a request as an org admin and send it."""

from __future__ import annotations

import grpc

from consortia.adminrpc import sign_admin_request
from consortia.endpoint import NodeEndpoint
from consortia.errors import ConsortiaError
from consortia.grpcutil import channel
from consortia.protos.v1 import admin_pb2, admin_pb2_grpc


class AdminCallError(ConsortiaError):
    """The node refused or could not be reached; the message is the node's reason."""


async def _call(target: NodeEndpoint, method: str, **operation: object) -> object:
    request = sign_admin_request(target.signer, **operation)
    async with channel(target.address, root_ca=target.tls_ca, client_cert=target.client_cert,
                       client_key=target.client_key) as ch:
        stub = admin_pb2_grpc.AdminStub(ch)
        try:
            return await getattr(stub, method)(request, timeout=target.timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise AdminCallError(f"cannot reach the admin service at {target.address}: {exc.details()}") from exc
            raise AdminCallError(f"{target.address} refused: {exc.details()} ({exc.code().name})") from exc


async def join_channel(target: NodeEndpoint, block: bytes) -> admin_pb2.ChannelInfo:
    result = await _call(target, "JoinChannel", join=admin_pb2.JoinChannel(channel_block=block))
    assert isinstance(result, admin_pb2.ChannelInfo)
    return result


async def list_channels(target: NodeEndpoint) -> admin_pb2.ChannelList:
    result = await _call(target, "ListChannels", list=admin_pb2.ListChannels())
    assert isinstance(result, admin_pb2.ChannelList)
    return result


async def remove_channel(target: NodeEndpoint, channel_id: str) -> admin_pb2.ChannelInfo:
    result = await _call(target, "RemoveChannel", remove=admin_pb2.RemoveChannel(channel_id=channel_id))
    assert isinstance(result, admin_pb2.ChannelInfo)
    return result
