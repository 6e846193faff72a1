"""Seek semantics of Deliver, as Fabric's common/deliver implements them."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2

from consortia import delivery
from consortia.protoutil import block as blocks
from consortia.protoutil.envelope import create_signed_envelope
from tests.support.identities import SampleOrg

pytestmark = pytest.mark.unit

OLDEST = ab_pb2.SeekPosition(oldest=ab_pb2.SeekOldest())
NEWEST = ab_pb2.SeekPosition(newest=ab_pb2.SeekNewest())
NEXT = ab_pb2.SeekPosition(next_commit=ab_pb2.SeekNextCommit())


def at(number: int) -> ab_pb2.SeekPosition:
    return ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=number))


def seek(start: ab_pb2.SeekPosition, stop: ab_pb2.SeekPosition, fail: bool = False) -> ab_pb2.SeekInfo:
    behavior = ab_pb2.SeekInfo.FAIL_IF_NOT_READY if fail else ab_pb2.SeekInfo.BLOCK_UNTIL_READY
    return ab_pb2.SeekInfo(start=start, stop=stop, behavior=behavior)


@pytest.mark.parametrize(
    ("start", "stop", "height", "expected"),
    [
        (OLDEST, NEWEST, 5, (0, 4)),
        (OLDEST, OLDEST, 5, (0, 0)),
        (NEWEST, NEWEST, 5, (4, 4)),
        (at(2), at(3), 5, (2, 3)),
        (at(7), at(9), 5, (7, 9)),
        (NEXT, at(delivery.FOREVER), 5, (5, delivery.FOREVER)),
        (at(3), NEXT, 5, (3, delivery.FOREVER)),
    ],
)
def test_seek_range(start, stop, height: int, expected: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert delivery.seek_range(seek(start, stop), height) == expected


def test_stop_before_start_is_bad_request() -> None:
    with pytest.raises(delivery.DeliverRefused, match="start block 4 is after the stop block 2") as info:
        delivery.seek_range(seek(at(4), at(2)), 10)
    assert info.value.status == common_pb2.BAD_REQUEST


class Source:
    def __init__(self, count: int) -> None:
        self.blocks = [blocks.new_block(i, b"", [b"x"]) for i in range(count)]
        self.grown = asyncio.Event()

    @property
    def height(self) -> int:
        return len(self.blocks)

    def read(self, number: int) -> common_pb2.Block:
        return self.blocks[number]

    async def wait_for_height(self, height: int) -> None:
        while len(self.blocks) < height:
            self.grown.clear()
            await self.grown.wait()

    def add(self) -> None:
        self.blocks.append(blocks.new_block(len(self.blocks), b"", [b"y"]))
        self.grown.set()


def run_stream(info: ab_pb2.SeekInfo, source: Source, grow: int = 0) -> list[int]:
    sent: list[int] = []

    async def send(block: common_pb2.Block) -> None:
        sent.append(block.header.number)

    async def main() -> None:
        task = asyncio.create_task(delivery.stream_blocks(info, source, send))
        for _ in range(grow):
            await asyncio.sleep(0.01)
            source.add()
        await asyncio.wait_for(task, 2)

    asyncio.run(main())
    return sent


def test_stream_existing_blocks() -> None:
    assert run_stream(seek(OLDEST, NEWEST), Source(4)) == [0, 1, 2, 3]
    assert run_stream(seek(at(1), at(2)), Source(4)) == [1, 2]


def test_stream_waits_for_new_blocks() -> None:
    assert run_stream(seek(at(2), at(4)), Source(2), grow=3) == [2, 3, 4]


def test_fail_if_not_ready() -> None:
    with pytest.raises(delivery.DeliverRefused, match="block 3 does not exist yet") as info:
        run_stream(seek(at(1), at(5), fail=True), Source(3))
    assert info.value.status == common_pb2.NOT_FOUND


def test_headers_only_strips_data() -> None:
    info = seek(OLDEST, OLDEST)
    info.content_type = ab_pb2.SeekInfo.HEADER_WITH_SIG
    sent: list[common_pb2.Block] = []

    async def send(block: common_pb2.Block) -> None:
        sent.append(block)

    asyncio.run(delivery.stream_blocks(info, Source(1), send))
    assert not sent[0].data.data and sent[0].header.number == 0


def test_parse_request_checks(org1: SampleOrg) -> None:
    peer = org1.identity("peer")
    now = dt.datetime.now(dt.timezone.utc)
    good = create_signed_envelope(common_pb2.DELIVER_SEEK_INFO, "ch", peer, seek(OLDEST, NEWEST).SerializeToString())
    assert delivery.parse_request(good, now).channel_id == "ch"
    later = now + dt.timedelta(minutes=16)
    with pytest.raises(delivery.DeliverRefused, match="more than 0:15:00 apart") as info:
        delivery.parse_request(good, later)
    assert info.value.status == common_pb2.BAD_REQUEST
    no_stop = create_signed_envelope(
        common_pb2.DELIVER_SEEK_INFO, "ch", peer, ab_pb2.SeekInfo(start=OLDEST).SerializeToString()
    )
    with pytest.raises(delivery.DeliverRefused, match="both a start and a stop"):
        delivery.parse_request(no_stop, now)
    with pytest.raises(delivery.DeliverRefused, match="not a valid common.Payload"):
        delivery.parse_request(common_pb2.Envelope(payload=b"\xff\xff"), now)


def test_a_stream_cancelled_while_it_waits_for_blocks_ends_quietly() -> None:
    """At shutdown grpc cancels every open Deliver stream: each ends without an error
    (raised on, grpc logged a traceback per stream)."""
    waiting = asyncio.Event()

    async def requests() -> AsyncIterator[bytes]:
        yield common_pb2.Envelope(payload=b"seek").SerializeToString()

    async def serve_one(envelope: common_pb2.Envelope) -> None:
        waiting.set()
        await asyncio.Event().wait()  # as a seek to "newest, then wait for more" does

    async def write_status(status: int) -> None:
        raise AssertionError("a cancelled stream writes no status")

    async def go() -> None:
        stream = asyncio.create_task(delivery.serve_stream(requests(), serve_one, write_status))
        await waiting.wait()
        stream.cancel()
        assert await stream is None

    asyncio.run(go())
