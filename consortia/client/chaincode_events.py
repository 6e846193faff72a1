"""Chaincode events: what transaction functions emitted (`stub.set_event`), as committed.

The gateway's peer sends the events of valid transactions only, block by block, for
one chaincode. A listener starts at the next block to commit, at a given block, or at
a checkpoint: the checkpoint's block, skipping its events up to and including the
checkpoint's transaction (Fabric's `after_transaction_id`).
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2

from consortia.client.checkpoint import Checkpoint
from consortia.client.connection import Connection
from consortia.client.errors import GatewayError, gateway_error
from consortia.client.signing import digest
from consortia.client.stream import EventStream


@dataclass(frozen=True)
class ChaincodeEvent:
    """An event emitted by a transaction function that committed as valid."""

    block_number: int
    transaction_id: str
    chaincode_name: str
    event_name: str
    payload: bytes


ChaincodeEventStream = EventStream[ChaincodeEvent]


def start_position(start_block: int | None, checkpoint: Checkpoint | None) -> tuple[ab_pb2.SeekPosition, str]:
    """Where events start and the transaction to resume after: the checkpoint, if it
    holds a position, else `start_block`, else the next block to commit."""
    if checkpoint is not None and checkpoint.block_number is not None:
        return _specified(checkpoint.block_number), checkpoint.transaction_id or ""
    if start_block is not None:
        return _specified(start_block), ""
    return ab_pb2.SeekPosition(next_commit=ab_pb2.SeekNextCommit()), ""


def _specified(number: int) -> ab_pb2.SeekPosition:
    if number < 0:
        raise ValueError(f"a start block cannot be negative, got {number}")
    return ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=number))


def events_of(response: gateway_pb2.ChaincodeEventsResponse) -> list[ChaincodeEvent]:
    """The events one response of the gateway carries, in block order."""
    return [
        ChaincodeEvent(
            block_number=int(response.block_number),
            transaction_id=str(event.tx_id),
            chaincode_name=str(event.chaincode_id),
            event_name=str(event.event_name),
            payload=bytes(event.payload),
        )
        for event in response.events
    ]


class ChaincodeEventsRequest:
    """A (signed or still unsigned) request for one chaincode's events."""

    def __init__(self, connection: Connection, signed: gateway_pb2.SignedChaincodeEventsRequest) -> None:
        self._connection = connection
        self._signed = signed
        self._request = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)

    @classmethod
    def create(cls, connection: Connection, channel_id: str, chaincode_name: str,
               start_block: int | None = None, checkpoint: Checkpoint | None = None) -> ChaincodeEventsRequest:
        position, after = start_position(start_block, checkpoint)
        request = gateway_pb2.ChaincodeEventsRequest(
            channel_id=channel_id,
            chaincode_id=chaincode_name,
            identity=connection.creator,
            start_position=position,
            after_transaction_id=after,
        )
        return cls(connection, gateway_pb2.SignedChaincodeEventsRequest(request=request.SerializeToString()))

    @property
    def channel_id(self) -> str:
        return str(self._request.channel_id)

    @property
    def chaincode_name(self) -> str:
        return str(self._request.chaincode_id)

    def digest(self) -> bytes:
        """What an offline signer signs: the SHA-256 of the request bytes."""
        return digest(self._signed.request)

    def get_events(self, timeout: float | None = None) -> ChaincodeEventStream:
        """Open the stream; events arrive as their blocks commit, until it is closed.

        `timeout` limits the whole stream (seconds); by default it has no end.
        """
        call = self._connection.gateway.ChaincodeEvents(self.signed_request(), timeout=timeout)
        return EventStream(call, events_of, self.events_error)

    # The steps of get_events() around the gRPC call, which consortia.client.aio makes
    # with asyncio.

    def signed_request(self) -> gateway_pb2.SignedChaincodeEventsRequest:
        """The signed request (NoSignerError if unsigned and no signer)."""
        if not self._signed.signature:
            self._signed.signature = self._connection.identity.sign(
                self._signed.request,
                "rebuild the request with gateway.new_signed_chaincode_events_request(request.bytes(), signature)",
            )
        return self._signed

    def events_error(self, error: grpc.RpcError) -> GatewayError:
        what = f"chaincode events of {self.chaincode_name} on channel {self.channel_id}"
        return gateway_error(error, what, self._connection.address)

    def bytes(self) -> bytes:
        """The serialized `gateway.SignedChaincodeEventsRequest`, for offline signing."""
        return bytes(self._signed.SerializeToString())
