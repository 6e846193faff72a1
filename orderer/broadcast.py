"""Broadcast: check each envelope a client submits, and hand the good ones to consensus.

Checks, in order, each failing with Fabric's status and a reason a person can act on:
the envelope decodes (BAD_REQUEST), its channel exists here (NOT_FOUND), its header type
is one the orderer orders (BAD_REQUEST), it is within AbsoluteMaxBytes (BAD_REQUEST),
its creator's certificate is valid now and its signature verifies (FORBIDDEN), the
creator satisfies the channel's Writers policy (FORBIDDEN), and the consenter is
accepting envelopes (SERVICE_UNAVAILABLE).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from fabric_protos.common import common_pb2

from consortia.errors import IdentityError, MessageError, SignatureError
from consortia.msp.signing import verify_signed_data
from consortia.policy.paths import CHANNEL_WRITERS
from consortia.protoutil.envelope import decode, enum_name, unpack_envelope
from orderer.blockcutter import envelope_size
from orderer.chainsupport import ChainSupport

log = logging.getLogger(__name__)

_ORDERABLE = {common_pb2.ENDORSER_TRANSACTION}


@dataclass(frozen=True)
class Outcome:
    status: int
    info: str = ""


class BroadcastHandler:
    def __init__(self, channel: Callable[[str], ChainSupport | None]) -> None:
        self._channel = channel

    async def process(self, raw: bytes) -> Outcome:
        """Validate one envelope and order it; the outcome to answer the client with."""
        try:
            envelope = decode(common_pb2.Envelope, raw, "envelope")
            unpacked = unpack_envelope(envelope)
        except MessageError as exc:
            return Outcome(common_pb2.BAD_REQUEST, f"malformed envelope: {exc}")
        channel_id = unpacked.channel_id
        chain = self._channel(channel_id)
        if chain is None:
            return Outcome(common_pb2.NOT_FOUND, f"channel {channel_id!r} does not exist on this orderer")
        header_type = unpacked.header_type
        if header_type not in _ORDERABLE:
            name = enum_name(common_pb2.HeaderType, header_type)
            return Outcome(
                common_pb2.BAD_REQUEST,
                f"envelopes of type {name} are not accepted on channel {channel_id}; expected ENDORSER_TRANSACTION",
            )
        size = envelope_size(envelope)
        if size > chain.absolute_max_bytes:
            return Outcome(
                common_pb2.BAD_REQUEST,
                f"envelope is {size} bytes, more than the channel's AbsoluteMaxBytes of {chain.absolute_max_bytes}",
            )
        if not unpacked.payload.data:
            return Outcome(common_pb2.BAD_REQUEST, "envelope payload carries no data")
        bundle = chain.bundle
        try:
            creator = verify_signed_data(unpacked.signed_data(), bundle.msp_manager)
            bundle.msp_manager.validate(creator, dt.datetime.now(dt.timezone.utc))
        except (IdentityError, SignatureError) as exc:
            return Outcome(common_pb2.FORBIDDEN, f"envelope refused on channel {channel_id}: {exc}")
        verdict = bundle.policies.evaluate(CHANNEL_WRITERS, [creator])
        if not verdict:
            return Outcome(common_pb2.FORBIDDEN, verdict.reason)
        if not chain.chain.ready():
            return Outcome(common_pb2.SERVICE_UNAVAILABLE, f"channel {channel_id} is not accepting envelopes right now")
        await chain.chain.order(raw, size)
        return Outcome(common_pb2.SUCCESS)

