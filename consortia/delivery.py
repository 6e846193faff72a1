"""The Deliver protocol shared by orderers and peers: seek requests and block streams.

A client sends a signed envelope (type DELIVER_SEEK_INFO) holding a `SeekInfo`: where
to start (oldest, newest, a number, the next block to commit), where to stop, and
whether to wait for blocks not cut yet (BLOCK_UNTIL_READY) or fail (FAIL_IF_NOT_READY).
The node answers with blocks, then one status. Semantics follow Fabric's
`common/deliver`: a stop before the start is BAD_REQUEST; a timestamp further than the
time window from the node's clock is BAD_REQUEST; an unknown channel NOT_FOUND; a
creator outside the channel's Readers policy FORBIDDEN. After SUCCESS the client may
send another request on the same stream.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2
from google.protobuf.message import DecodeError

from consortia.channelconfig.bundle import ChannelBundle
from consortia.errors import ConsortiaError, IdentityError, MessageError, PolicyError, SignatureError
from consortia.msp.identity import Identity, Role
from consortia.msp.signing import SignedData, verify_signed_data
from consortia.protoutil.envelope import UnpackedEnvelope, decode, unpack_envelope

log = logging.getLogger(__name__)

DEFAULT_TIME_WINDOW = dt.timedelta(minutes=15)
FOREVER = 2**64 - 1

BAD_REQUEST = common_pb2.BAD_REQUEST
FORBIDDEN = common_pb2.FORBIDDEN
NOT_FOUND = common_pb2.NOT_FOUND
SUCCESS = common_pb2.SUCCESS
SERVICE_UNAVAILABLE = common_pb2.SERVICE_UNAVAILABLE


class DeliverRefused(ConsortiaError):
    """A deliver request ends with `status` (a common.Status) for the reason given."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HeightNotifier:
    """Lets coroutines wait until a channel reaches a height."""

    def __init__(self, height: int) -> None:
        self.height = height
        self._changed = asyncio.Event()

    def advance(self, height: int) -> None:
        self.height = height
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait_for(self, height: int) -> None:
        while self.height < height:
            await self._changed.wait()


class BlockSource(Protocol):
    """A channel's blocks as the deliver loop needs them."""

    @property
    def height(self) -> int: ...

    def read(self, number: int) -> common_pb2.Block: ...

    async def wait_for_height(self, height: int) -> None:
        """Return once the channel holds at least `height` blocks."""
        ...


class ReadersPolicy(Protocol):
    """The channel's access check: PolicyError on refusal (a PolicyManager)."""

    def check(self, path: str, identities: Sequence[Identity]) -> None: ...


class ChannelMembers(Protocol):
    """Decodes and validates the channel's identities (an MSPManager)."""

    def deserialize(self, serialized: bytes) -> Identity: ...

    def validate(self, identity: Identity, at: dt.datetime | None = None) -> Role: ...


@dataclass(frozen=True)
class SeekRequest:
    """A decoded, not yet authorized, deliver request."""

    envelope: UnpackedEnvelope
    seek: ab_pb2.SeekInfo

    @property
    def channel_id(self) -> str:
        return self.envelope.channel_id


def parse_request(envelope: common_pb2.Envelope, now: dt.datetime, window: dt.timedelta = DEFAULT_TIME_WINDOW) -> SeekRequest:
    """Decode and sanity-check a deliver envelope; DeliverRefused(BAD_REQUEST) if malformed."""
    try:
        unpacked = unpack_envelope(envelope)
        seek = decode(ab_pb2.SeekInfo, unpacked.payload.data, "seek info")
    except MessageError as exc:
        raise DeliverRefused(BAD_REQUEST, str(exc)) from exc
    header = unpacked.channel_header
    if not header.HasField("timestamp"):
        raise DeliverRefused(BAD_REQUEST, "channel header in a deliver request must carry a timestamp")
    sent = header.timestamp.ToDatetime(tzinfo=dt.timezone.utc)
    if abs(now - sent) > window:
        raise DeliverRefused(
            BAD_REQUEST,
            f"envelope timestamp {sent.isoformat()} is more than {window} apart from this node's time {now.isoformat()}",
        )
    if not seek.HasField("start") or not seek.HasField("stop"):
        raise DeliverRefused(BAD_REQUEST, "seek info needs both a start and a stop position")
    return SeekRequest(envelope=unpacked, seek=seek)


def authorize(
    request: SeekRequest, msps: ChannelMembers, policies: ReadersPolicy, path: str, now: dt.datetime
) -> Identity:
    """Check the creator's signature, its validity now, and the Readers policy; the creator.

    DeliverRefused(FORBIDDEN) saying which check failed.
    """
    try:
        return check_signer(request.envelope.signed_data(), msps, policies, path, now)
    except (IdentityError, SignatureError, PolicyError) as exc:
        raise DeliverRefused(FORBIDDEN, f"deliver refused on channel {request.channel_id}: {exc}") from exc


def check_signer(signed: SignedData, msps: ChannelMembers, policies: ReadersPolicy, path: str,
                 now: dt.datetime) -> Identity:
    """The signer of a request, once its signature verifies, it is valid `now` and it
    satisfies the policy at `path`; IdentityError, SignatureError or PolicyError if not."""
    identity = verify_signed_data(signed, msps)
    msps.validate(identity, now)
    policies.check(path, [identity])
    return identity


def _start(position: ab_pb2.SeekPosition, height: int) -> int:
    kind = position.WhichOneof("Type")
    if kind == "oldest":
        return 0
    if kind == "newest":
        return max(height - 1, 0)
    if kind == "specified":
        return int(position.specified.number)
    if kind == "next_commit":
        return height
    raise DeliverRefused(BAD_REQUEST, "seek start position is empty")


def seek_range(seek: ab_pb2.SeekInfo, height: int) -> tuple[int, int]:
    """The first and last block numbers a request asks for (last may be FOREVER)."""
    start = _start(seek.start, height)
    kind = seek.stop.WhichOneof("Type")
    if kind == "oldest":
        stop = start
    elif kind == "newest":
        stop = start if seek.start == seek.stop else max(height - 1, 0)
    elif kind == "specified":
        stop = int(seek.stop.specified.number)
    else:
        stop = FOREVER
    if stop < start:
        raise DeliverRefused(BAD_REQUEST, f"seek start block {start} is after the stop block {stop}")
    return start, stop


async def stream_blocks(
    seek: ab_pb2.SeekInfo,
    source: BlockSource,
    send: Callable[[common_pb2.Block], Awaitable[None]],
) -> None:
    """Send the requested blocks in order; return once the stop block is sent.

    DeliverRefused(NOT_FOUND) when FAIL_IF_NOT_READY and a block does not exist yet.
    """
    start, stop = seek_range(seek, source.height)
    headers_only = seek.content_type == ab_pb2.SeekInfo.HEADER_WITH_SIG
    number = start
    while True:
        if number >= source.height:
            if seek.behavior == ab_pb2.SeekInfo.FAIL_IF_NOT_READY:
                raise DeliverRefused(NOT_FOUND, f"block {number} does not exist yet (height {source.height})")
            await source.wait_for_height(number + 1)
        block = source.read(number)
        if headers_only:
            stripped = common_pb2.Block()
            stripped.header.CopyFrom(block.header)
            stripped.metadata.CopyFrom(block.metadata)
            block = stripped
        await send(block)
        if number >= stop:
            return
        number += 1


class DeliverableChannel(BlockSource, Protocol):
    """A channel a node serves: its blocks and its configuration (for the access check)."""

    @property
    def bundle(self) -> ChannelBundle: ...


Ch = TypeVar("Ch", bound=DeliverableChannel)


async def serve_request(
    envelope: common_pb2.Envelope,
    lookup: Callable[[str], Ch | None],
    readers: str,
    window: dt.timedelta,
    send: Callable[[common_pb2.Block, Ch, Identity], Awaitable[None]],
) -> None:
    """Serve one seek request of a Deliver stream: parse it, find the channel, check the
    creator against the `readers` policy, stream the blocks (`send` is told the creator).
    DeliverRefused with the status otherwise."""
    now = dt.datetime.now(dt.timezone.utc)
    request = parse_request(envelope, now, window)
    channel = lookup(request.channel_id)
    if channel is None:
        raise DeliverRefused(NOT_FOUND, f"channel {request.channel_id!r} is not served here")
    creator = authorize(request, channel.bundle.msp_manager, channel.bundle.policies, readers, now)

    async def send_block(block: common_pb2.Block) -> None:
        await send(block, channel, creator)

    await stream_blocks(request.seek, channel, send_block)


async def serve_stream(
    requests: AsyncIterator[bytes],
    serve_one: Callable[[common_pb2.Envelope], Awaitable[None]],
    write_status: Callable[[int], Awaitable[None]],
) -> None:
    """Answer the seek requests of one Deliver stream, one after another.

    Each request ends with a status; any status but SUCCESS also ends the stream, as in
    Fabric. Requests arrive as raw bytes so that garbage gets BAD_REQUEST, not a
    transport error.
    """
    try:
        async for raw in requests:
            status = SUCCESS
            try:
                await serve_one(common_pb2.Envelope.FromString(raw))
            except DecodeError:
                status = BAD_REQUEST
                log.info("deliver request is not an Envelope")
            except DeliverRefused as exc:
                status = exc.status
                log.info("deliver ended with %s: %s", common_pb2.Status.Name(status), exc)
            await write_status(status)
            if status != SUCCESS:
                return
    except asyncio.CancelledError:
        # The node is stopping, or the client left, while the stream waited for blocks:
        # the stream simply ends. (Raised on, grpc would log a traceback for each one.)
        log.debug("deliver stream cancelled")
