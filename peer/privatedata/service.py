"""consortia.v1.PrivateData: what other peers of a channel push to this one and pull from it.

A push is kept in the transient store for the collections this peer's organization is a
member of (the rest is dropped: this peer may not hold it). A pull is answered, per
digest, when the requester's organization is a member of the collection, from the
private write sets this peer committed or, for a transaction not yet committed here,
from its transient store; only write sets that match the digest's hash are returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import grpc
from fabric_protos.peer import collection_pb2

from consortia.errors import MessageError
from consortia.lifecycle.collections import member_msp_ids
from consortia.protos.v1 import private_data_pb2, private_data_pb2_grpc
from peer.channel import PeerChannel
from peer.ledger.pvtdata import encode_pvt, parse_pvt
from peer.privatedata.requests import RequestRefused, check_sender, parse_request

log = logging.getLogger(__name__)

# (channel, chaincode, collection) -> the collection's configuration, if it exists
Collections = Callable[[str, str, str], collection_pb2.StaticCollectionConfig | None]


class PrivateDataService(private_data_pb2_grpc.PrivateDataServicer):
    def __init__(self, channels: Callable[[str], PeerChannel | None], collections: Collections, msp_id: str) -> None:
        self._channels = channels
        self._collections = collections
        self.msp_id = msp_id

    async def _open(self, signed: private_data_pb2.SignedPrivateDataRequest, operation: str,
                    context: grpc.aio.ServicerContext) -> tuple[private_data_pb2.PrivateDataRequest, PeerChannel, str]:
        try:
            request = parse_request(signed)
            if request.WhichOneof("operation") != operation:
                raise RequestRefused(f"a {operation} request must carry a {operation} operation")
            channel = self._channels(request.channel_id)
            if channel is None:
                await context.abort(grpc.StatusCode.NOT_FOUND, f"this peer has not joined channel {request.channel_id!r}")
                raise AssertionError("unreachable")
            sender = check_sender(signed, request, channel.bundle)
        except RequestRefused as exc:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
            raise AssertionError("unreachable") from exc
        return request, channel, sender.msp_id

    def _members(self, channel_id: str, namespace: str, collection: str) -> set[str]:
        config = self._collections(channel_id, namespace, collection)
        return set() if config is None else member_msp_ids(config)

    async def Push(self, signed: private_data_pb2.SignedPrivateDataRequest,  # noqa: N802 - gRPC method name
                   context: grpc.aio.ServicerContext) -> private_data_pb2.PushResponse:
        request, channel, sender = await self._open(signed, "push", context)
        push = request.push
        try:
            sets = parse_pvt(push.pvt_rwset)
        except MessageError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise AssertionError("unreachable") from exc
        if not push.tx_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a push names no transaction id")
        kept = [s for s in sets if self.msp_id in self._members(channel.channel_id, s.namespace, s.collection)]
        if kept:
            channel.transient.put(push.tx_id, int(push.endorsed_at), encode_pvt(kept))
        log.debug("[%s] kept private data of %s from %s: %s", channel.channel_id, push.tx_id[:8], sender,
                  ", ".join(f"{s.namespace}/{s.collection}" for s in kept) or "nothing")
        return private_data_pb2.PushResponse(kept=[f"{s.namespace}/{s.collection}" for s in kept])

    async def Pull(self, signed: private_data_pb2.SignedPrivateDataRequest,  # noqa: N802 - gRPC method name
                   context: grpc.aio.ServicerContext) -> private_data_pb2.PullResponse:
        request, channel, sender = await self._open(signed, "pull", context)
        elements = []
        for digest in request.pull.digests:
            if sender not in self._members(channel.channel_id, digest.namespace, digest.collection):
                continue
            found = channel.private_write_set(digest.tx_id, int(digest.block), int(digest.tx_num), digest.namespace,
                                              digest.collection, bytes(digest.rwset_hash))
            if found is not None:
                elements.append(private_data_pb2.PrivateDataElement(digest=digest, rwset=found))
        log.debug("[%s] %s pulled %d of %d private write sets", channel.channel_id, sender, len(elements),
                  len(request.pull.digests))
        return private_data_pb2.PullResponse(elements=elements)
