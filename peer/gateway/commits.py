"""CommitStatus: a transaction's validation code and block, once this peer has committed it.

The answer comes from the ledger's transaction index. When the transaction is not there
yet, the request waits until the block holding it is committed (the channel's
TxWaiters); the client's deadline bounds the wait.
"""

from __future__ import annotations

from collections.abc import Callable

from fabric_protos.gateway import gateway_pb2
from google.protobuf.message import DecodeError

from peer.channel import PeerChannel
from peer.gateway.access import authorize
from peer.gateway.errors import Code, GatewayError


class CommitFinder:
    def __init__(self, channels: Callable[[str], PeerChannel | None]) -> None:
        self.channels = channels

    def channel(self, channel_id: str) -> PeerChannel:
        channel = self.channels(channel_id)
        if channel is None:
            raise GatewayError(Code.FAILED_PRECONDITION, f"channel {channel_id!r} is not joined by this peer")
        return channel

    async def wait(self, channel: PeerChannel, tx_id: str) -> tuple[int, int, int]:
        return await channel.tx_waiters.wait(tx_id, lambda: channel.committed(tx_id))

    async def commit_status(self, signed: gateway_pb2.SignedCommitStatusRequest) -> gateway_pb2.CommitStatusResponse:
        if not signed.request:
            raise GatewayError(Code.INVALID_ARGUMENT, "a commit status request is required")
        try:
            request = gateway_pb2.CommitStatusRequest.FromString(signed.request)
        except DecodeError as exc:
            raise GatewayError(Code.INVALID_ARGUMENT, f"invalid status request: {exc}") from exc
        if not request.identity:
            raise GatewayError(Code.INVALID_ARGUMENT, "no identity provided")
        if not request.channel_id:
            raise GatewayError(Code.INVALID_ARGUMENT, "no channel ID provided")
        if not request.transaction_id:
            raise GatewayError(Code.INVALID_ARGUMENT, "transaction ID should not be empty")
        channel = self.channel(request.channel_id)
        authorize(channel.bundle, signed.request, request.identity, signed.signature)
        block, _, code = await self.wait(channel, request.transaction_id)
        return gateway_pb2.CommitStatusResponse(result=code, block_number=block)
