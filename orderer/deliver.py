"""The orderer's Deliver service logic: blocks of a channel for whoever may read them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from fabric_protos.common import common_pb2

from consortia import delivery
from orderer.chainsupport import ChainSupport

READERS = "/Channel/Readers"


async def deliver(
    envelope: common_pb2.Envelope,
    channel: Callable[[str], ChainSupport | None],
    send: Callable[[common_pb2.Block], Awaitable[None]],
    window: dt.timedelta,
) -> None:
    """Serve one seek request; DeliverRefused carries the status if it does not succeed."""
    now = dt.datetime.now(dt.timezone.utc)
    request = delivery.parse_request(envelope, now, window)
    chain = channel(request.channel_id)
    if chain is None:
        raise delivery.DeliverRefused(delivery.NOT_FOUND, f"channel {request.channel_id!r} does not exist on this orderer")
    bundle = chain.bundle
    delivery.authorize(request, bundle.msp_manager, bundle.policies, READERS, now)
    await delivery.stream_blocks(request.seek, chain, send)
