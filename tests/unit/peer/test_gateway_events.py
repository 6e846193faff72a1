"""ChaincodeEvents (peer.gateway.events): a chaincode's events, block after block, from
the valid transactions of committed blocks, resumable after a given transaction.

Blocks hold real endorser transactions (tests.support.transactions) with their
validation codes set as a committing peer would; the channel is a fake exposing the
blocks, a real HeightNotifier, the transaction index and a real ChannelBundle.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import chaincode_event_pb2, transaction_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.delivery import HeightNotifier
from consortia.errors import MessageError
from consortia.msp.signing import SigningIdentity
from consortia.protoutil import block as blocks
from consortia.protoutil.envelope import create_signed_envelope
from consortia.protoutil.transaction import unpack_transaction
from peer.gateway.errors import Code, GatewayError
from peer.gateway.events import (
    EventMatcher,
    chaincode_events,
    resume_point,
    start_block,
    valid_events,
)
from tests.support.bundles import readers_bundle
from tests.support.identities import SampleOrg, make_org
from tests.support.transactions import endorser_transaction

pytestmark = pytest.mark.unit

CHANNEL = "ch1"
CC = "basic"
VALID = transaction_pb2.VALID
MVCC = transaction_pb2.MVCC_READ_CONFLICT


# --- parties and transactions ----------------------------------------------------------


@dataclass(frozen=True)
class Parties:
    client: SigningIdentity
    peer: SigningIdentity


@pytest.fixture(scope="module")
def parties(org1: SampleOrg) -> Parties:
    return Parties(org1.identity("client", "user1@org1"), org1.identity("peer", "peer0.org1"))


@dataclass(frozen=True)
class Tx:
    envelope: common_pb2.Envelope

    @property
    def tx_id(self) -> str:
        return unpack_transaction(self.envelope).tx_id

    @property
    def raw(self) -> bytes:
        return bytes(self.envelope.SerializeToString())


def tx(parties: Parties, name: str | None, chaincode: str = CC) -> Tx:
    """A transaction of `chaincode` emitting the event `name` (None: no event)."""
    event = (name, f"payload of {name}".encode()) if name is not None else None
    return Tx(endorser_transaction(CHANNEL, chaincode, parties.client, [parties.peer], event=event))


def block(number: int, entries: Sequence[tuple[bytes, int]]) -> common_pb2.Block:
    made = blocks.new_block(number, b"", [raw for raw, _ in entries])
    blocks.set_transactions_filter(made, [code for _, code in entries])
    return made


def names(events: Sequence[chaincode_event_pb2.ChaincodeEvent]) -> list[str]:
    return [e.event_name for e in events]


# --- valid_events ----------------------------------------------------------------------


def test_valid_events_are_those_of_valid_transactions_in_order(parties: Parties) -> None:
    first, invalid, other, silent, last = (tx(parties, "first"), tx(parties, "invalid"),
                                           tx(parties, "other", chaincode="other"), tx(parties, None),
                                           tx(parties, "last"))
    config = create_signed_envelope(common_pb2.CONFIG, CHANNEL, parties.client, b"not a config").SerializeToString()
    made = block(4, [(first.raw, VALID), (invalid.raw, MVCC), (config, VALID), (other.raw, VALID),
                     (silent.raw, VALID), (b"\x0a\x05ab", VALID), (last.raw, VALID)])
    found = list(valid_events(made))
    assert [index for index, _ in found] == [0, 3, 6]  # positions of their transactions in the block
    events = [e for _, e in found]
    assert names(events) == ["first", "other", "last"]
    assert [e.tx_id for e in events] == [first.tx_id, other.tx_id, last.tx_id]
    assert [e.chaincode_id for e in events] == [CC, "other", CC]
    assert events[0].payload == b"payload of first"


def test_a_block_without_validation_codes_has_no_valid_events(parties: Parties) -> None:
    made = blocks.new_block(1, b"", [tx(parties, "e").raw])
    assert list(valid_events(made)) == []


def test_invalid_codes_of_every_kind_are_skipped(parties: Parties) -> None:
    event = tx(parties, "e")
    for code in (transaction_pb2.ENDORSEMENT_POLICY_FAILURE, transaction_pb2.DUPLICATE_TXID, MVCC,
                 transaction_pb2.PHANTOM_READ_CONFLICT, transaction_pb2.INVALID_OTHER_REASON):
        assert list(valid_events(block(1, [(event.raw, code)]))) == []


# --- EventMatcher ----------------------------------------------------------------------


def event(tx_id: str, chaincode: str = CC, name: str = "") -> chaincode_event_pb2.ChaincodeEvent:
    return chaincode_event_pb2.ChaincodeEvent(tx_id=tx_id, chaincode_id=chaincode, event_name=name or tx_id)


def test_matcher_keeps_the_events_of_its_chaincode() -> None:
    matches = EventMatcher(CC)
    assert [matches(1, i, e) for i, e in enumerate((event("t1"), event("t2", "other"), event("t3")))] == [
        True, False, True]


def test_matcher_skips_up_to_and_including_the_transaction_it_resumes_after() -> None:
    matches = EventMatcher(CC, after=(5, 1))  # the client processed the transaction at block 5, position 1
    stream = [(5, 0, event("t1")), (5, 1, event("t2")), (5, 2, event("t3", "other")), (5, 3, event("t4")),
              (6, 0, event("t5"))]
    assert [matches(b, i, e) for b, i, e in stream] == [False, False, False, True, True]


def test_matcher_resuming_after_a_transaction_that_emitted_nothing_keeps_what_follows() -> None:
    """Fabric's matcher waits for the resumed transaction's own event, and so drops every
    later event when that transaction emitted none; going by position does not."""
    matches = EventMatcher(CC, after=(5, 1))  # nothing was emitted at (5, 1)
    assert [matches(5, i, e) for i, e in ((0, event("t1")), (2, event("t3")))] == [False, True]


# --- the fake channel and start_block --------------------------------------------------


@pytest.fixture(scope="module")
def bundle(org1: SampleOrg, org2: SampleOrg) -> ChannelBundle:
    return readers_bundle(CHANNEL, [org1, org2], make_org("OrdererMSP"))


@dataclass
class FakeChannel:
    bundle: ChannelBundle
    blocks: list[common_pb2.Block] = field(default_factory=list)
    notifier: HeightNotifier = field(default_factory=lambda: HeightNotifier(0))
    reads: list[int] = field(default_factory=list)
    index: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def committed(self, tx_id: str) -> tuple[int, int, int] | None:
        return self.index.get(tx_id)

    def read(self, number: int) -> common_pb2.Block:
        self.reads.append(number)
        return self.blocks[number]

    def commit(self, entries: Sequence[tuple[bytes, int]]) -> None:
        number = len(self.blocks)
        self.blocks.append(block(number, entries))
        for position, (raw, code) in enumerate(entries):
            with contextlib.suppress(MessageError):  # not an endorser transaction
                self.index[unpack_transaction(raw).tx_id] = (number, position, code)
        self.notifier.advance(len(self.blocks))


def events_request(*, chaincode: str = CC, after: str = "", specified: int | None = None,
                   next_commit: bool = False, oldest: bool = False) -> gateway_pb2.ChaincodeEventsRequest:
    request = gateway_pb2.ChaincodeEventsRequest(channel_id=CHANNEL, chaincode_id=chaincode,
                                                 after_transaction_id=after)
    if specified is not None:
        request.start_position.specified.number = specified
    if next_commit:
        request.start_position.next_commit.SetInParent()
    if oldest:
        request.start_position.oldest.SetInParent()
    return request


@pytest.fixture
def channel(bundle: ChannelBundle, parties: Parties) -> FakeChannel:
    """Blocks 0-3 committed: 1 holds `known` (an event of basic), 2 nothing of basic's."""
    made = FakeChannel(bundle)
    made.commit([(b"genesis", VALID)])
    made.commit([(tx(parties, "known").raw, VALID)])
    made.commit([(tx(parties, "elsewhere", chaincode="other").raw, VALID)])
    made.commit([(tx(parties, None).raw, VALID)])
    return made


def known_tx(channel: FakeChannel) -> str:
    return unpack_transaction(channel.blocks[1].data.data[0]).tx_id


def test_start_at_a_specified_block(channel: FakeChannel) -> None:
    assert start_block(channel, events_request(specified=2)) == 2
    assert start_block(channel, events_request(specified=9)) == 9


def test_start_at_the_next_commit_by_default(channel: FakeChannel) -> None:
    assert start_block(channel, events_request(next_commit=True)) == 4
    assert start_block(channel, events_request()) == 4


def start(channel: FakeChannel, request: gateway_pb2.ChaincodeEventsRequest) -> int:
    return start_block(channel, request, resume_point(channel, request))  # type: ignore[arg-type]


def test_start_at_the_block_of_the_transaction_resumed_after(channel: FakeChannel) -> None:
    after = known_tx(channel)
    assert resume_point(channel, events_request(after=after)) == (1, 0)  # type: ignore[arg-type]
    assert start(channel, events_request(after=after, specified=3)) == 1
    assert start(channel, events_request(after=after)) == 1


def test_unknown_transaction_resumed_after_falls_back_to_the_start_position(channel: FakeChannel) -> None:
    assert resume_point(channel, events_request(after="unknown")) is None  # type: ignore[arg-type]
    assert start(channel, events_request(after="unknown", specified=2)) == 2
    assert start(channel, events_request(after="unknown")) == 4


def test_oldest_is_not_a_start_position(channel: FakeChannel) -> None:
    with pytest.raises(GatewayError) as info:
        start_block(channel, events_request(oldest=True))
    assert info.value.code is Code.INVALID_ARGUMENT
    assert "oldest" in info.value.message


# --- the stream ------------------------------------------------------------------------


class Enough(Exception):
    """Raised by the test's `send` to end the otherwise endless stream."""


def signed(request: gateway_pb2.ChaincodeEventsRequest, signer: SigningIdentity,
           ) -> gateway_pb2.SignedChaincodeEventsRequest:
    request.identity = signer.serialize()
    raw = request.SerializeToString()
    return gateway_pb2.SignedChaincodeEventsRequest(request=raw, signature=signer.sign(raw))


def stream(channel: FakeChannel, request: gateway_pb2.SignedChaincodeEventsRequest, count: int,
           during: Coroutine[Any, Any, None] | None = None) -> list[gateway_pb2.ChaincodeEventsResponse]:
    """The first `count` responses of the stream (or what came within a second)."""
    sent: list[gateway_pb2.ChaincodeEventsResponse] = []

    async def send(response: gateway_pb2.ChaincodeEventsResponse) -> None:
        sent.append(response)
        if len(sent) == count:
            raise Enough

    async def main() -> None:
        helper = asyncio.create_task(during) if during is not None else None
        try:
            await asyncio.wait_for(chaincode_events({CHANNEL: channel}.get, request, send), 1.0)
        except (Enough, TimeoutError):
            pass
        if helper is not None:
            await helper

    asyncio.run(main())
    return sent


def test_stream_sends_each_block_with_matching_events(channel: FakeChannel, parties: Parties) -> None:
    responses = stream(channel, signed(events_request(specified=0), parties.client), 1)
    assert [(r.block_number, names(r.events)) for r in responses] == [(1, ["known"])]
    assert channel.reads == [0, 1]


def test_stream_follows_new_blocks(channel: FakeChannel, parties: Parties) -> None:
    later = [tx(parties, "a"), tx(parties, "b", chaincode="other"), tx(parties, "c"), tx(parties, "d")]

    async def commit_later() -> None:
        await asyncio.sleep(0.01)
        channel.commit([(later[0].raw, VALID), (later[1].raw, VALID), (later[2].raw, MVCC)])  # block 4
        await asyncio.sleep(0.01)
        channel.commit([(later[3].raw, VALID)])  # block 5

    responses = stream(channel, signed(events_request(next_commit=True), parties.client), 2, commit_later())
    assert [(r.block_number, names(r.events)) for r in responses] == [(4, ["a"]), (5, ["d"])]
    assert responses[0].events[0].tx_id == later[0].tx_id
    assert 1 not in channel.reads  # history before the start is not read


def test_stream_resumes_after_a_transaction(channel: FakeChannel, parties: Parties) -> None:
    first, second, third = tx(parties, "first"), tx(parties, "second"), tx(parties, "third")
    channel.commit([(first.raw, VALID), (second.raw, VALID), (third.raw, VALID)])  # block 4
    responses = stream(channel, signed(events_request(after=second.tx_id, specified=0), parties.client), 1)
    assert [(r.block_number, names(r.events)) for r in responses] == [(4, ["third"])]
    assert channel.reads[0] == 4


def test_empty_request(channel: FakeChannel) -> None:
    error = stream_failure(channel, gateway_pb2.SignedChaincodeEventsRequest())
    assert error.code is Code.INVALID_ARGUMENT
    assert error.message == "a chaincode events request is required"


def test_undecodable_request(channel: FakeChannel) -> None:
    error = stream_failure(channel, gateway_pb2.SignedChaincodeEventsRequest(request=b"\x0a\x05ab", signature=b"s"))
    assert error.code is Code.INVALID_ARGUMENT
    assert error.message.startswith("invalid chaincode events request")


def test_request_without_a_chaincode(channel: FakeChannel, parties: Parties) -> None:
    error = stream_failure(channel, signed(events_request(chaincode=""), parties.client))
    assert error.code is Code.INVALID_ARGUMENT
    assert error.message == "no chaincode ID provided"


def test_channel_not_joined(channel: FakeChannel, parties: Parties) -> None:
    request = events_request()
    request.channel_id = "other"
    error = stream_failure(channel, signed(request, parties.client))
    assert error.code is Code.NOT_FOUND


def test_bad_signature_is_refused(channel: FakeChannel, parties: Parties, org1: SampleOrg) -> None:
    request = signed(events_request(specified=0), parties.client)
    request.signature = org1.identity("client", "mallory@org1").sign(request.request)
    error = stream_failure(channel, request)
    assert error.code is Code.PERMISSION_DENIED
    assert channel.reads == []


def test_stranger_is_refused(channel: FakeChannel, org3: SampleOrg) -> None:
    error = stream_failure(channel, signed(events_request(specified=0), org3.identity("client", "user1@org3")))
    assert error.code is Code.PERMISSION_DENIED
    assert channel.reads == []


def stream_failure(channel: FakeChannel, request: gateway_pb2.SignedChaincodeEventsRequest) -> GatewayError:
    async def send(response: gateway_pb2.ChaincodeEventsResponse) -> None:
        raise AssertionError("nothing should be sent")

    async def main() -> None:
        await asyncio.wait_for(chaincode_events({CHANNEL: channel}.get, request, send), 1.0)

    with pytest.raises(GatewayError) as info:
        asyncio.run(main())
    return info.value

