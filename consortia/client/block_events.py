"""Block events: every block the gateway's peer commits on a channel, as it commits.

Read through the peer's Deliver service with a signed seek request (an envelope of
type DELIVER_SEEK_INFO holding a `SeekInfo` from the start block to the end of time),
which the peer grants to members that satisfy the channel's Readers policy. `Deliver`
sends whole blocks, with the validation code of each transaction in the
TRANSACTIONS_FILTER metadata; `DeliverFiltered` sends for each transaction only its
id, type, validation code and chaincode event name.
"""

from __future__ import annotations

from typing import Any

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import events_pb2

from consortia.client.checkpoint import Checkpoint
from consortia.client.connection import Connection
from consortia.client.errors import DeliverError, GatewayError, gateway_error
from consortia.client.signing import digest
from consortia.client.stream import EventStream
from consortia.protoutil.envelope import (
    make_channel_header,
    make_signature_header,
    unpack_envelope,
)

# As Fabric's Gateway SDKs: stop at the largest block number there can be, that is never.
LAST_BLOCK = 2**64 - 1

BlockEventStream = EventStream[common_pb2.Block]
FilteredBlockEventStream = EventStream[events_pb2.FilteredBlock]
BlockAndPrivateDataEventStream = EventStream[events_pb2.BlockAndPrivateData]


def seek_info(start_block: int | None, checkpoint: Checkpoint | None) -> ab_pb2.SeekInfo:
    """From the checkpoint's block if it holds one, else `start_block`, else the newest block."""
    if checkpoint is not None and checkpoint.block_number is not None:
        start_block = checkpoint.block_number
    if start_block is not None and start_block < 0:
        raise ValueError(f"a start block cannot be negative, got {start_block}")
    start = (
        ab_pb2.SeekPosition(newest=ab_pb2.SeekNewest())
        if start_block is None
        else ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start_block))
    )
    return ab_pb2.SeekInfo(
        start=start,
        stop=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=LAST_BLOCK)),
        behavior=ab_pb2.SeekInfo.BLOCK_UNTIL_READY,
    )


def unsigned_seek_envelope(channel_id: str, creator: bytes, seek: ab_pb2.SeekInfo) -> common_pb2.Envelope:
    """The seek request as `protoutil.envelope.create_signed_envelope` makes it, unsigned,
    so that an offline signer can sign its payload."""
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=make_channel_header(common_pb2.DELIVER_SEEK_INFO, channel_id).SerializeToString(),
            signature_header=make_signature_header(creator).SerializeToString(),
        ),
        data=seek.SerializeToString(),
    )
    return common_pb2.Envelope(payload=payload.SerializeToString())


class BlockEventsRequestBase:
    """What the three kinds of block events request share (Deliver, DeliverFiltered,
    DeliverWithPrivateData): a signed seek envelope, and how responses become events."""

    _method = ""  # the Deliver service's method
    _kind = ""  # the field of a DeliverResponse that carries an event
    _rebuild = ""

    def __init__(self, connection: Connection, envelope: common_pb2.Envelope) -> None:
        self._connection = connection
        self._envelope = envelope
        self._channel_id = unpack_envelope(envelope).channel_id

    @property
    def channel_id(self) -> str:
        return self._channel_id

    def digest(self) -> bytes:
        """What an offline signer signs: the SHA-256 of the envelope's payload."""
        return digest(self._envelope.payload)

    def _stream(self, timeout: float | None) -> EventStream[Any]:
        call = getattr(self._connection.deliver, self.method)(iter([self.signed_envelope()]), timeout=timeout)
        return EventStream(call, self.events_of, self.events_error)

    # The steps of get_events() around the gRPC call, which consortia.client.aio makes
    # with asyncio.

    @property
    def method(self) -> str:
        """The name of the Deliver service's method that serves this request."""
        return self._method

    def signed_envelope(self) -> common_pb2.Envelope:
        """The signed seek envelope (NoSignerError if unsigned and no signer)."""
        if not self._envelope.signature:
            self._envelope.signature = self._connection.identity.sign(
                self._envelope.payload, f"rebuild the request with gateway.{self._rebuild}(request.bytes(), signature)"
            )
        return self._envelope

    def events_of(self, response: events_pb2.DeliverResponse) -> list[Any]:
        """The event one response carries (none for a status, which ends the stream:
        SUCCESS once the stop block is sent, else a refusal raised as DeliverError)."""
        found = response.WhichOneof("Type")
        if found == self._kind:
            return [getattr(response, self._kind)]
        if found == "status" and response.status != common_pb2.SUCCESS:
            raise DeliverError(self._channel_id, int(response.status))
        return []

    def events_error(self, error: grpc.RpcError) -> GatewayError:
        return gateway_error(error, f"block events on channel {self._channel_id}", self._connection.address)

    def bytes(self) -> bytes:
        """The serialized seek envelope, for offline signing."""
        return bytes(self._envelope.SerializeToString())


class BlockEventsRequest(BlockEventsRequestBase):
    """A (signed or still unsigned) request for a channel's blocks."""

    _method = "Deliver"
    _kind = "block"
    _rebuild = "new_signed_block_events_request"

    def get_events(self, timeout: float | None = None) -> BlockEventStream:
        """Open the stream of `common.Block`s; it has no end unless closed or given `timeout`."""
        return self._stream(timeout)


class FilteredBlockEventsRequest(BlockEventsRequestBase):
    """A (signed or still unsigned) request for a channel's filtered blocks."""

    _method = "DeliverFiltered"
    _kind = "filtered_block"
    _rebuild = "new_signed_filtered_block_events_request"

    def get_events(self, timeout: float | None = None) -> FilteredBlockEventStream:
        """Open the stream of `peer.FilteredBlock`s; no end unless closed or given `timeout`."""
        return self._stream(timeout)


class BlockAndPrivateDataEventsRequest(BlockEventsRequestBase):
    """A (signed or still unsigned) request for a channel's blocks with the private data
    the requester's organization may see."""

    _method = "DeliverWithPrivateData"
    _kind = "block_and_private_data"
    _rebuild = "new_signed_block_and_private_data_events_request"

    def get_events(self, timeout: float | None = None) -> BlockAndPrivateDataEventStream:
        """Open the stream of `peer.BlockAndPrivateData`: each block, and the private write
        sets (`rwset.TxPvtReadWriteSet`) by the position of their transaction in it."""
        return self._stream(timeout)
