"""Signed requests between peers: who is asking is a peer of a channel organization.

The sending peer signs the serialized request; the receiver checks the signature, that
the creator is a valid peer identity of the channel's MSPs, and that the timestamp is
near its clock. Replays gain nothing: a push stores what may already be stored, a pull
answers only what the requester's organization may see.
"""

from __future__ import annotations

import datetime as dt

from google.protobuf.message import DecodeError

from consortia.channelconfig.bundle import ChannelBundle
from consortia.errors import ConsortiaError, IdentityError, SignatureError
from consortia.msp.identity import Identity, Role
from consortia.msp.signing import SignedData
from consortia.protos.v1 import private_data_pb2
from consortia.protoutil.envelope import now_timestamp
from consortia.protoutil.signer import Signer

MAX_SKEW = dt.timedelta(minutes=15)


class RequestRefused(ConsortiaError):
    """A request between peers that is malformed or not from a peer of the channel."""


def sign_request(signer: Signer, channel_id: str, **operation: object) -> private_data_pb2.SignedPrivateDataRequest:
    request = private_data_pb2.PrivateDataRequest(creator=signer.serialize(), channel_id=channel_id,
                                                  timestamp=now_timestamp(), **operation)  # type: ignore[arg-type]
    data = request.SerializeToString()
    return private_data_pb2.SignedPrivateDataRequest(request=data, signature=signer.sign(data))


def parse_request(signed: private_data_pb2.SignedPrivateDataRequest) -> private_data_pb2.PrivateDataRequest:
    try:
        return private_data_pb2.PrivateDataRequest.FromString(signed.request)
    except DecodeError as exc:
        raise RequestRefused(f"malformed private data request: {exc}") from exc


def check_sender(signed: private_data_pb2.SignedPrivateDataRequest, request: private_data_pb2.PrivateDataRequest,
                 bundle: ChannelBundle) -> Identity:
    """The verified creator, a peer of one of the channel's organizations."""
    now = dt.datetime.now(dt.timezone.utc)
    msps = bundle.msp_manager
    try:
        creator = msps.verify_signed_data(SignedData(signed.request, request.creator, signed.signature))
        msps.validate(creator, now)
    except (IdentityError, SignatureError) as exc:
        raise RequestRefused(f"private data request: {exc}") from exc
    if creator.msp_id not in bundle.application_msp_ids or not msps.satisfies(creator, creator.msp_id, Role.PEER):
        raise RequestRefused(f"private data request from {creator.common_name} ({creator.msp_id}): "
                             f"only peers of channel {bundle.channel_id}'s organizations may send one")
    sent = request.timestamp.ToDatetime(tzinfo=dt.timezone.utc)
    if abs(now - sent) > MAX_SKEW:
        raise RequestRefused(f"private data request timestamp {sent.isoformat()} is more than {MAX_SKEW} "
                             f"from this peer's clock")
    return creator
