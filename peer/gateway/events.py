"""ChaincodeEvents: a chaincode's events, block after block, from committed blocks.

Only events of valid transactions count (an invalid transaction did not happen). Each
response holds the matching events of one block, in transaction order; blocks without
any are skipped. A client resumes where it stopped by giving the last transaction it
processed: the stream starts at that transaction's block and skips everything up to
and including it (Fabric's `after_transaction_id`). Unlike Fabric's, which looks for
that transaction's event, this goes by the transaction's place in the block, so
resuming after a transaction that emitted no event does not swallow the rest; an id
this peer has not committed is ignored and the stream starts at `start_position`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import chaincode_event_pb2, transaction_pb2
from google.protobuf.message import DecodeError

from consortia.errors import MessageError
from consortia.protoutil import block as blocks
from consortia.protoutil.transaction import unpack_transaction
from peer.channel import PeerChannel
from peer.gateway.access import authorize
from peer.gateway.errors import Code, GatewayError

Send = Callable[[gateway_pb2.ChaincodeEventsResponse], Awaitable[None]]


def valid_events(block: common_pb2.Block) -> Iterator[tuple[int, chaincode_event_pb2.ChaincodeEvent]]:
    """The chaincode events of the block's valid endorser transactions, in order, with
    the position of their transaction in the block."""
    codes = blocks.transactions_filter(block)
    for index, raw in enumerate(block.data.data):
        if index >= len(codes) or codes[index] != transaction_pb2.VALID:
            continue
        try:
            transaction = unpack_transaction(raw)
        except MessageError:
            continue  # a config transaction, or nothing a chaincode emitted
        for action in transaction.actions:
            try:
                event = action.event()
            except MessageError:
                continue
            if event is not None:
                yield index, event


class EventMatcher:
    """Events of one chaincode; when resuming, none from transactions up to and including
    the one the client last processed (at `after` = (block, position in the block))."""

    def __init__(self, chaincode: str, after: tuple[int, int] | None = None) -> None:
        self.chaincode = chaincode
        self.after = after

    def __call__(self, block: int, index: int, event: chaincode_event_pb2.ChaincodeEvent) -> bool:
        if self.after is not None and (block, index) <= self.after:
            return False
        return bool(event.chaincode_id == self.chaincode)


def resume_point(channel: PeerChannel, request: gateway_pb2.ChaincodeEventsRequest) -> tuple[int, int] | None:
    """(block, position) of the transaction the client resumes after, if committed here."""
    if not request.after_transaction_id:
        return None
    committed = channel.committed(request.after_transaction_id)
    return (committed[0], committed[1]) if committed is not None else None


def start_block(channel: PeerChannel, request: gateway_pb2.ChaincodeEventsRequest,
                after: tuple[int, int] | None = None) -> int:
    if after is not None:
        return after[0]
    kind = request.start_position.WhichOneof("Type") if request.HasField("start_position") else None
    if kind == "specified":
        return int(request.start_position.specified.number)
    if kind in (None, "next_commit"):
        return channel.notifier.height
    raise GatewayError(Code.INVALID_ARGUMENT, f"invalid start position type: {kind}")


async def chaincode_events(channels: Callable[[str], PeerChannel | None],
                           signed: gateway_pb2.SignedChaincodeEventsRequest, send: Send) -> None:
    """Stream the requested events until the client goes away."""
    if not signed.request:
        raise GatewayError(Code.INVALID_ARGUMENT, "a chaincode events request is required")
    try:
        request = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
    except DecodeError as exc:
        raise GatewayError(Code.INVALID_ARGUMENT, f"invalid chaincode events request: {exc}") from exc
    if not request.chaincode_id:
        raise GatewayError(Code.INVALID_ARGUMENT, "no chaincode ID provided")
    channel = channels(request.channel_id)
    if channel is None:
        raise GatewayError(Code.NOT_FOUND, f"channel {request.channel_id!r} is not joined by this peer")
    authorize(channel.bundle, signed.request, request.identity, signed.signature)
    after = resume_point(channel, request)
    matches = EventMatcher(request.chaincode_id, after)
    number = start_block(channel, request, after)
    while True:
        await channel.notifier.wait_for(number + 1)
        found = [event for index, event in valid_events(channel.read(number)) if matches(number, index, event)]
        if found:
            await send(gateway_pb2.ChaincodeEventsResponse(events=found, block_number=number))
        number += 1
