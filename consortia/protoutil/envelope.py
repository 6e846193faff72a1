"""Envelopes: `Envelope{payload, signature}` with `Payload{header{channel_header,
signature_header}, data}` inside.

Every message that is ordered or delivered travels in one. Unpacking keeps the raw
header bytes, because the transaction id and the signatures are over them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol, TypeVar

from fabric_protos.common import common_pb2
from google.protobuf import timestamp_pb2
from google.protobuf.message import DecodeError, Message

from consortia.errors import MessageError
from consortia.msp.signing import SignedData
from consortia.protoutil.signer import Signer
from consortia.protoutil.txid import compute_tx_id, new_nonce

M = TypeVar("M", bound=Message)


def decode(message_type: type[M], data: bytes, what: str) -> M:
    """Parse `data` as `message_type`; MessageError naming `what` if it is not one."""
    try:
        return message_type.FromString(data)
    except (DecodeError, RuntimeWarning) as exc:
        raise MessageError(f"{what} is not a valid {message_type.DESCRIPTOR.full_name}: {exc}") from exc


class _Enum(Protocol):
    def Name(self, number: int) -> str: ...  # noqa: N802 - protobuf's spelling


def enum_name(enum: _Enum, number: int, unknown: str | None = None) -> str:
    """The name of a protobuf enum value (e.g. common.Status 403 -> FORBIDDEN); for a
    number the enum does not define (a newer peer's, or a hostile one), `unknown`
    (default: the number itself), never an exception."""
    try:
        return str(enum.Name(number))
    except ValueError:
        return str(number) if unknown is None else unknown


def now_timestamp() -> timestamp_pb2.Timestamp:
    nanos = time.time_ns()
    return timestamp_pb2.Timestamp(seconds=nanos // 1_000_000_000, nanos=nanos % 1_000_000_000)


def make_channel_header(
    header_type: int,
    channel_id: str,
    *,
    tx_id: str = "",
    epoch: int = 0,
    extension: bytes = b"",
    timestamp: timestamp_pb2.Timestamp | None = None,
    tls_cert_hash: bytes = b"",
) -> common_pb2.ChannelHeader:
    return common_pb2.ChannelHeader(
        type=header_type,
        version=0,
        timestamp=timestamp or now_timestamp(),
        channel_id=channel_id,
        tx_id=tx_id,
        epoch=epoch,
        extension=extension,
        tls_cert_hash=tls_cert_hash,
    )


def make_signature_header(creator: bytes, nonce: bytes | None = None) -> common_pb2.SignatureHeader:
    return common_pb2.SignatureHeader(creator=creator, nonce=new_nonce() if nonce is None else nonce)


def create_signed_envelope(
    header_type: int,
    channel_id: str,
    signer: Signer,
    data: bytes,
    *,
    with_tx_id: bool = False,
    tls_cert_hash: bytes = b"",
) -> common_pb2.Envelope:
    """Sign `data` into an envelope of `header_type` (a seek request, a config update ...)."""
    signature_header = make_signature_header(signer.serialize())
    tx_id = compute_tx_id(signature_header.nonce, signature_header.creator) if with_tx_id else ""
    channel_header = make_channel_header(header_type, channel_id, tx_id=tx_id, tls_cert_hash=tls_cert_hash)
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=channel_header.SerializeToString(),
            signature_header=signature_header.SerializeToString(),
        ),
        data=data,
    ).SerializeToString()
    return common_pb2.Envelope(payload=payload, signature=signer.sign(payload))


@dataclass(frozen=True)
class UnpackedEnvelope:
    """An envelope's layers, decoded once, with the raw bytes kept beside them."""

    envelope: common_pb2.Envelope
    payload: common_pb2.Payload
    channel_header: common_pb2.ChannelHeader
    signature_header: common_pb2.SignatureHeader

    @property
    def channel_id(self) -> str:
        return str(self.channel_header.channel_id)

    @property
    def header_type(self) -> int:
        return int(self.channel_header.type)

    @property
    def tx_id(self) -> str:
        return str(self.channel_header.tx_id)

    @property
    def creator(self) -> bytes:
        return bytes(self.signature_header.creator)

    def signed_data(self) -> SignedData:
        """The creator's signature over the payload bytes, as received."""
        return SignedData(data=self.envelope.payload, identity=self.creator, signature=self.envelope.signature)

    def check_tx_id(self) -> None:
        """The id must be SHA-256(nonce ‖ creator); a forged or reused id fails here."""
        expected = compute_tx_id(self.signature_header.nonce, self.signature_header.creator)
        if self.channel_header.tx_id != expected:
            raise MessageError(
                f"transaction id {self.channel_header.tx_id!r} does not match its header: "
                f"expected {expected} = sha256(nonce ‖ creator)"
            )


def unpack_envelope(envelope: common_pb2.Envelope | bytes) -> UnpackedEnvelope:
    """Decode an envelope down to its headers; MessageError saying which layer is bad."""
    if isinstance(envelope, bytes):
        envelope = decode(common_pb2.Envelope, envelope, "envelope")
    if not envelope.payload:
        raise MessageError("envelope has an empty payload")
    payload = decode(common_pb2.Payload, envelope.payload, "envelope payload")
    if not payload.HasField("header"):
        raise MessageError("envelope payload has no header")
    channel_header = decode(common_pb2.ChannelHeader, payload.header.channel_header, "channel header")
    signature_header = decode(common_pb2.SignatureHeader, payload.header.signature_header, "signature header")
    return UnpackedEnvelope(
        envelope=envelope, payload=payload, channel_header=channel_header, signature_header=signature_header
    )
