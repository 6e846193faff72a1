"""consortia.client.aio without a network: it sends what the synchronous API sends,
signed alike, and fails with the same errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import events_pb2, proposal_response_pb2

from consortia.client import (
    CommitError,
    CommitStatusError,
    DeliverError,
    EndorseError,
    GatewayError,
    NoSignerError,
    Status,
    SubmitError,
    aio,
    commit_watch,
    sign_digest,
)
from consortia.client.stream import AsyncEventStream
from consortia.errors import ConsortiaError
from consortia.msp.signing import SigningIdentity, verify_signature
from consortia.protoutil.envelope import unpack_envelope
from consortia.protoutil.proposal import unpack_proposal
from tests.support.identities import SampleOrg
from tests.unit.client.fakes import FakeAioChannel, FakeRpcError, FakeStreamCall
from tests.unit.client.test_messages import endorsed

pytestmark = pytest.mark.unit


@pytest.fixture
def channel() -> FakeAioChannel:
    return FakeAioChannel()


def test_submit_signs_every_message_and_reports_the_commit(channel: FakeAioChannel, user: SigningIdentity,
                                                           org1: SampleOrg) -> None:
    peer = org1.identity("peer")
    channel.answers["Endorse"] = lambda request, timeout: endorsed(request, peer, b"done")
    channel.answers["Submit"] = lambda request, timeout: gateway_pb2.SubmitResponse()
    channel.answers["CommitStatus"] = lambda request, timeout: gateway_pb2.CommitStatusResponse(result=0, block_number=7)

    async def scenario() -> tuple[bytes, str]:
        async with aio.connect(channel, signer=user) as gateway:
            contract = gateway.get_network("ch").get_contract("cc", "Orders")
            submitted = await contract.submit_async("Put", ["k", b"\x00"], {"secret": "s"})
            status = await submitted.get_status()
            assert (status.code_name, status.block_number, status.successful) == ("VALID", 7, True)
            assert await contract.submit_transaction("Put", "k2") == b"done"
            return submitted.result, submitted.transaction_id

    result, tx_id = asyncio.run(scenario())
    assert result == b"done"
    assert not getattr(channel, "closed", False)  # a channel handed in stays open
    names = [name for name, _ in channel.calls]
    assert names == ["Endorse", "Submit", "CommitStatus"] * 2
    endorse, submit, status_request = (request for _, request in channel.calls[:3])
    public_key = user.identity.public_key
    signed = endorse.proposed_transaction
    verify_signature(public_key, signed.signature, signed.proposal_bytes)
    unpacked = unpack_proposal(signed)
    assert unpacked.args == [b"Orders:Put", b"k", b"\x00"] and unpacked.transient == {"secret": b"s"}
    assert endorse.transaction_id == submit.transaction_id == unpacked.tx_id == tx_id
    verify_signature(public_key, submit.prepared_transaction.signature, submit.prepared_transaction.payload)
    verify_signature(public_key, status_request.signature, status_request.request)
    request = gateway_pb2.CommitStatusRequest.FromString(status_request.request)
    assert (request.transaction_id, request.channel_id, request.identity) == (tx_id, "ch", user.serialize())


def test_evaluate_sends_the_signed_proposal_to_the_organizations_asked(channel: FakeAioChannel,
                                                                       user: SigningIdentity) -> None:
    channel.answers["Evaluate"] = lambda request, timeout: gateway_pb2.EvaluateResponse(
        result=proposal_response_pb2.Response(status=200, payload=b"42"))
    gateway = aio.connect(channel, signer=user)
    contract = gateway.get_network("ch").get_contract("cc")
    assert asyncio.run(contract.evaluate("Get", ["k"], target_organizations=["Org1MSP"])) == b"42"
    (name, request), = channel.calls
    assert name == "Evaluate" and list(request.target_organizations) == ["Org1MSP"]
    signed = request.proposed_transaction
    verify_signature(user.identity.public_key, signed.signature, signed.proposal_bytes)


def test_each_failure_is_the_synchronous_api_s_error(channel: FakeAioChannel, user: SigningIdentity,
                                                     org1: SampleOrg) -> None:
    def unreachable(request: object, timeout: float | None) -> None:
        raise FakeRpcError(grpc.StatusCode.UNAVAILABLE, "connection refused")

    def late(request: object, timeout: float | None) -> None:
        raise FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "waited too long")

    contract = aio.connect(channel, signer=user).get_network("ch").get_contract("cc")
    channel.answers["Evaluate"] = unreachable
    with pytest.raises(GatewayError, match="cannot reach the gateway at the given channel: connection refused"):
        asyncio.run(contract.evaluate_transaction("Get", "k"))
    channel.answers["Endorse"] = unreachable
    with pytest.raises(EndorseError) as endorse:
        asyncio.run(contract.submit_transaction("Put", "k"))
    assert endorse.value.code == grpc.StatusCode.UNAVAILABLE and endorse.value.transaction_id

    channel.answers["Endorse"] = lambda request, timeout: endorsed(request, org1.identity("peer"), b"")
    channel.answers["Submit"] = lambda request, timeout: gateway_pb2.SubmitResponse()
    channel.answers["CommitStatus"] = lambda request, timeout: gateway_pb2.CommitStatusResponse(result=11, block_number=4)
    with pytest.raises(CommitError) as invalid:
        asyncio.run(contract.submit_transaction("Put", "k"))
    assert invalid.value.code_name == "MVCC_READ_CONFLICT"
    channel.answers["CommitStatus"] = late
    with pytest.raises(CommitStatusError) as status:
        asyncio.run(contract.submit_transaction("Put", "k"))
    assert status.value.code == grpc.StatusCode.DEADLINE_EXCEEDED and "waited too long" in str(status.value)


@pytest.mark.parametrize(("settings", "message"), [
    ({"address": ""}, "no gateway address given"),
    ({"address": "127.0.0.1:7051", "client_cert": b"cert"}, "mutual TLS needs both"),
    ({"address": "127.0.0.1:7051", "client_cert": b"cert", "client_key": b"key"}, "without the peer's TLS CA"),
])
def test_connect_refuses_settings_that_do_not_fit(user: SigningIdentity, settings: dict[str, object],
                                                  message: str) -> None:
    with pytest.raises(ConsortiaError, match=message):
        aio.connect(signer=user, **settings)  # type: ignore[arg-type]


def test_offline_signing_round_trip(channel: FakeAioChannel, user: SigningIdentity, org1: SampleOrg) -> None:
    """A gateway that holds no key: each message is signed elsewhere, over its digest."""
    channel.answers["Endorse"] = lambda request, timeout: endorsed(request, org1.identity("peer"), b"done")
    channel.answers["Submit"] = lambda request, timeout: gateway_pb2.SubmitResponse()
    channel.answers["CommitStatus"] = lambda request, timeout: gateway_pb2.CommitStatusResponse(result=0, block_number=3)
    key = user.private_key

    async def scenario() -> None:
        gateway = aio.connect(channel, identity=user.serialize())
        unsigned = gateway.get_network("ch").get_contract("cc").new_proposal("Put", ["k"])
        with pytest.raises(NoSignerError, match="new_signed_proposal"):
            await unsigned.endorse()
        assert channel.calls == []  # nothing unsigned left the client
        proposal = gateway.new_signed_proposal(unsigned.bytes(), sign_digest(key, unsigned.digest()))
        unsigned_tx = await proposal.endorse()
        with pytest.raises(NoSignerError, match="new_signed_transaction"):
            await unsigned_tx.submit()
        transaction = gateway.new_signed_transaction(unsigned_tx.bytes(), sign_digest(key, unsigned_tx.digest()))
        unsigned_commit = await transaction.submit()
        with pytest.raises(NoSignerError, match="new_signed_commit"):
            await unsigned_commit.get_status()
        commit = gateway.new_signed_commit(unsigned_commit.bytes(), sign_digest(key, unsigned_commit.digest()))
        status = await commit.get_status()
        assert (status.transaction_id, status.code_name) == (proposal.transaction_id, "VALID")
        events = gateway.get_network("ch").new_chaincode_events_request("cc", start_block=2)
        signed = gateway.new_signed_chaincode_events_request(events.bytes(), sign_digest(key, events.digest()))
        assert (signed.channel_id, signed.chaincode_name) == ("ch", "cc")

    asyncio.run(scenario())
    public_key = user.identity.public_key
    calls = dict(channel.calls)
    verify_signature(public_key, calls["Endorse"].proposed_transaction.signature,
                     calls["Endorse"].proposed_transaction.proposal_bytes)
    verify_signature(public_key, calls["Submit"].prepared_transaction.signature, calls["Submit"].prepared_transaction.payload)
    verify_signature(public_key, calls["CommitStatus"].signature, calls["CommitStatus"].request)


def deliver(*responses: events_pb2.DeliverResponse, endless: bool = False) -> Callable[..., FakeStreamCall]:
    return lambda requests, timeout: FakeStreamCall(list(responses), endless=endless)


def sent_envelope(channel: FakeAioChannel, method: str) -> common_pb2.Envelope:
    """The one seek envelope the client sent to `method` (its request iterator's item)."""
    (envelope,) = [e for name, requests in channel.calls if name == method for e in requests]
    return envelope


def test_block_events_of_each_kind_stream_as_they_come(channel: FakeAioChannel, user: SigningIdentity) -> None:
    block = common_pb2.Block(header=common_pb2.BlockHeader(number=4))
    filtered = events_pb2.FilteredBlock(channel_id="ch", number=4, filtered_transactions=[
        events_pb2.FilteredTransaction(txid="t1", tx_validation_code=0)])
    private = events_pb2.BlockAndPrivateData(block=block)
    channel.answers["Deliver"] = deliver(events_pb2.DeliverResponse(block=block), endless=True)
    channel.answers["DeliverFiltered"] = deliver(events_pb2.DeliverResponse(filtered_block=filtered),
                                                 events_pb2.DeliverResponse(status=common_pb2.SUCCESS))
    channel.answers["DeliverWithPrivateData"] = deliver(events_pb2.DeliverResponse(block_and_private_data=private))

    async def scenario() -> tuple[list[int], list[str], list[int], bool]:
        network = aio.connect(channel, signer=user).get_network("ch")
        async with network.get_block_events(start_block=4) as blocks:
            numbers = [(await anext(blocks)).header.number]
            waiting = asyncio.create_task(anext(blocks, None))  # nothing more yet: waits
            await asyncio.sleep(0.01)
        ended = await waiting is None and blocks.closed
        tx_ids = [t.txid async for f in network.get_filtered_block_events(4) for t in f.filtered_transactions]
        with_private = [b.block.header.number async for b in network.get_block_and_private_data_events(4)]
        return numbers, tx_ids, with_private, ended

    assert asyncio.run(scenario()) == ([4], ["t1"], [4], True)
    for method in ("Deliver", "DeliverFiltered", "DeliverWithPrivateData"):
        envelope = sent_envelope(channel, method)
        verify_signature(user.identity.public_key, envelope.signature, envelope.payload)
        unpacked = unpack_envelope(envelope)
        assert (unpacked.channel_id, unpacked.header_type) == ("ch", common_pb2.DELIVER_SEEK_INFO)
        assert ab_pb2.SeekInfo.FromString(unpacked.payload.data).start.specified.number == 4


def test_block_events_refused_or_failed_end_with_the_synchronous_api_s_errors(channel: FakeAioChannel,
                                                                              user: SigningIdentity) -> None:
    channel.answers["Deliver"] = deliver(events_pb2.DeliverResponse(status=common_pb2.FORBIDDEN))
    channel.answers["DeliverFiltered"] = deliver(FakeRpcError(grpc.StatusCode.UNAVAILABLE, "peer went away"))

    async def scenario() -> None:
        network = aio.connect(channel, signer=user).get_network("ch")
        with pytest.raises(DeliverError, match="FORBIDDEN"):
            await anext(network.get_block_events(0))
        with pytest.raises(GatewayError, match="block events on channel ch.*peer went away"):
            await anext(network.get_filtered_block_events(0))

    asyncio.run(scenario())


def test_block_events_requests_are_signed_offline(channel: FakeAioChannel, user: SigningIdentity) -> None:
    channel.answers["Deliver"] = deliver()

    async def scenario() -> None:
        gateway = aio.connect(channel, identity=user.serialize())
        network = gateway.get_network("ch")
        for unsigned, rebuild in (
                (network.new_block_events_request(0), gateway.new_signed_block_events_request),
                (network.new_filtered_block_events_request(0), gateway.new_signed_filtered_block_events_request),
                (network.new_block_and_private_data_events_request(0),
                 gateway.new_signed_block_and_private_data_events_request)):
            with pytest.raises(NoSignerError, match=rebuild.__name__):
                unsigned.get_events()
            assert channel.calls == []  # nothing unsigned left the client
            signed = rebuild(unsigned.bytes(), sign_digest(user.private_key, unsigned.digest()))
            assert signed.channel_id == "ch"
        unsigned = network.new_block_events_request(0)
        signed = gateway.new_signed_block_events_request(unsigned.bytes(),
                                                         sign_digest(user.private_key, unsigned.digest()))
        assert [block async for block in signed.get_events()] == []

    asyncio.run(scenario())
    envelope = sent_envelope(channel, "Deliver")
    verify_signature(user.identity.public_key, envelope.signature, envelope.payload)


def unavailable(error: grpc.RpcError) -> Exception:
    return GatewayError(f"stream failed: {error.details()}", error.code())


def test_an_async_stream_gives_each_event_in_order_and_ends_at_the_end_of_the_call() -> None:
    async def scenario() -> list[str]:
        call = FakeStreamCall(["a b", "c"])
        async with AsyncEventStream(call, str.split, unavailable) as events:
            return [event async for event in events]

    assert asyncio.run(scenario()) == ["a", "b", "c"]


def test_an_async_stream_closed_while_waiting_ends_quietly() -> None:
    async def scenario() -> tuple[list[str], bool]:
        call = FakeStreamCall(["a"], endless=True)
        events = AsyncEventStream(call, str.split, unavailable)
        seen = [await anext(events)]

        async def close_soon() -> None:
            await asyncio.sleep(0.01)
            events.close()

        closer = asyncio.create_task(close_soon())
        seen += [event async for event in events]  # waits until closed, then ends
        await closer
        return seen, events.closed and call.cancelled.is_set()

    assert asyncio.run(scenario()) == (["a"], True)


def test_an_async_stream_fails_with_the_gateway_error_and_a_converter_error_closes_it() -> None:
    async def failing() -> None:
        events = AsyncEventStream(FakeStreamCall(["a", FakeRpcError(grpc.StatusCode.UNAVAILABLE, "gone")]),
                                  str.split, unavailable)
        assert await anext(events) == "a"
        with pytest.raises(GatewayError, match="stream failed: gone"):
            await anext(events)
        with pytest.raises(StopAsyncIteration):  # and it stays ended
            await anext(events)

    def refuse(response: str) -> list[str]:
        raise ValueError(f"cannot read {response!r}")

    async def unreadable() -> bool:
        call = FakeStreamCall(["x"], endless=True)
        with pytest.raises(ValueError, match="cannot read 'x'"):
            await anext(AsyncEventStream(call, refuse, unavailable))
        return call.cancelled.is_set()

    asyncio.run(failing())
    assert asyncio.run(unreadable())


def filtered_block(number: int, *transactions: tuple[str, int]) -> events_pb2.DeliverResponse:
    return events_pb2.DeliverResponse(filtered_block=events_pb2.FilteredBlock(
        channel_id="ch", number=number,
        filtered_transactions=[events_pb2.FilteredTransaction(txid=t, tx_validation_code=c) for t, c in transactions]))


def watched_channel(channel: FakeAioChannel, org1: SampleOrg) -> FakeStreamCall:
    """Endorse answers; the filtered-block stream, which starts at the newest block 5."""
    peer = org1.identity("peer")
    stream = FakeStreamCall([filtered_block(5)], endless=True)
    channel.answers["Endorse"] = lambda request, timeout: endorsed(request, peer, b"done")
    channel.answers["DeliverFiltered"] = lambda requests, timeout: stream
    return stream


def test_watched_commits_come_from_the_filtered_block_stream(channel: FakeAioChannel, user: SigningIdentity,
                                                             org1: SampleOrg) -> None:
    stream = watched_channel(channel, org1)
    codes = iter([0, 0, 11])  # VALID, VALID, then MVCC_READ_CONFLICT

    def commit(request: gateway_pb2.SubmitRequest, timeout: float | None) -> gateway_pb2.SubmitResponse:
        # The block also lists another client's transaction, and this one twice (a duplicate).
        stream.push(filtered_block(6, ("someone-else", 0), (request.transaction_id, next(codes)),
                                   (request.transaction_id, 30)))
        return gateway_pb2.SubmitResponse()

    channel.answers["Submit"] = commit

    async def scenario() -> tuple[tuple[bool, str, int], int, bool]:
        network = aio.connect(channel, signer=user).get_network("ch")
        contract = network.get_contract("cc")
        async with network.watch_commits() as watch:
            assert await contract.submit_transaction("Put", "k") == b"done"
            submitted = await contract.submit_async("Put", ["k"])
            status = await submitted.get_status()
            with pytest.raises(CommitError, match="MVCC_READ_CONFLICT"):
                await contract.submit_transaction("Put", "k")
            outcome = (status.transaction_id == submitted.transaction_id, status.code_name, status.block_number)
            return outcome, watch.pending, watch.watching

    outcome, pending, watching = asyncio.run(scenario())
    assert outcome == (True, "VALID", 6)
    assert (pending, watching) == (0, True)
    assert "CommitStatus" not in [name for name, _ in channel.calls]  # no call, no signature per transaction
    envelope = sent_envelope(channel, "DeliverFiltered")
    verify_signature(user.identity.public_key, envelope.signature, envelope.payload)
    assert ab_pb2.SeekInfo.FromString(unpack_envelope(envelope).payload.data).start.HasField("newest")
    assert stream.cancelled.is_set()  # leaving the block closed the stream


def test_a_watch_whose_stream_ends_asks_commit_status_until_it_opens_a_new_stream_by_itself(
        channel: FakeAioChannel, user: SigningIdentity, org1: SampleOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commit_watch, "FIRST_RETRY", 0.01)
    first = watched_channel(channel, org1)
    # After the first stream ends: the peer is still away once, then back at block 10.
    streams = [first, FakeStreamCall([]), FakeStreamCall([filtered_block(10)], endless=True)]
    opened: list[FakeStreamCall] = []

    def deliver_filtered(requests: object, timeout: float | None) -> FakeStreamCall:
        opened.append(streams[len(opened)])
        return opened[-1]

    channel.answers["DeliverFiltered"] = deliver_filtered
    submits: list[str] = []

    def submit(request: gateway_pb2.SubmitRequest, timeout: float | None) -> gateway_pb2.SubmitResponse:
        submits.append(request.transaction_id)
        if len(submits) == 1:
            first.push(grpc.aio.EOF)  # the peer restarts before the block
        if len(submits) == 3:
            opened[-1].push(filtered_block(11, (request.transaction_id, 0)))
        return gateway_pb2.SubmitResponse()

    channel.answers["Submit"] = submit
    channel.answers["CommitStatus"] = lambda request, timeout: gateway_pb2.CommitStatusResponse(result=0, block_number=9)

    async def scenario() -> tuple[list[int], bool, bool]:
        network = aio.connect(channel, signer=user).get_network("ch")
        contract = network.get_contract("cc")
        async with network.watch_commits() as watch:
            blocks = [(await (await contract.submit_async("Put", ["k"])).get_status()).block_number]
            ended = watch.watching
            blocks.append((await (await contract.submit_async("Put", ["k"])).get_status()).block_number)
            async with asyncio.timeout(5):  # a few hundredths of a second: two attempts
                while not watch.watching:
                    await asyncio.sleep(0.01)
            blocks.append((await (await contract.submit_async("Put", ["k"])).get_status()).block_number)
            return blocks, ended, watch.watching

    blocks, ended, watching = asyncio.run(scenario())
    assert blocks == [9, 9, 11]  # the gateway's answer twice, then the new stream's
    assert (ended, watching) == (False, True)
    assert [name for name, _ in channel.calls].count("CommitStatus") == 2
    assert len(opened) == 3 and opened[-1].cancelled.is_set()  # leaving the block closed the new stream


def test_a_stopped_watch_does_not_open_a_new_stream(channel: FakeAioChannel, user: SigningIdentity,
                                                   org1: SampleOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commit_watch, "FIRST_RETRY", 0.01)
    stream = watched_channel(channel, org1)
    opened = 0

    def deliver_filtered(requests: object, timeout: float | None) -> FakeStreamCall:
        nonlocal opened
        opened += 1
        return stream if opened == 1 else FakeStreamCall([])  # the peer stays away

    channel.answers["DeliverFiltered"] = deliver_filtered

    async def scenario() -> bool:
        network = aio.connect(channel, signer=user).get_network("ch")
        async with network.watch_commits() as watch:
            stream.push(grpc.aio.EOF)
            async with asyncio.timeout(5):
                while opened < 3:  # the first stream, then attempts to open another
                    await asyncio.sleep(0.01)
        tried = opened
        await asyncio.sleep(0.2)
        return opened == tried and not watch.watching

    assert asyncio.run(scenario())


def test_a_watch_stopped_by_a_task_that_is_cancelled_meanwhile_stops_and_the_task_is_cancelled(
        channel: FakeAioChannel, user: SigningIdentity, org1: SampleOrg) -> None:
    stream = watched_channel(channel, org1)

    async def scenario() -> tuple[bool, bool, Status | None, bool]:
        watch = aio.connect(channel, signer=user).get_network("ch").watch_commits()
        await watch.start()
        expected = watch.expect("tx-1")
        assert expected is not None
        stopping = asyncio.create_task(watch.stop())
        await asyncio.sleep(0)  # stop() now waits for its reader
        stopping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopping
        return stopping.cancelled(), watch.watching, expected.result(), stream.cancelled.is_set()

    assert asyncio.run(scenario()) == (True, False, None, True)


def test_a_watch_without_a_first_block_in_time_says_so(channel: FakeAioChannel, user: SigningIdentity) -> None:
    silent = FakeStreamCall([], endless=True)
    channel.answers["DeliverFiltered"] = lambda requests, timeout: silent

    async def scenario() -> None:
        async with aio.connect(channel, signer=user, commit_status_timeout=0.05) as gateway:
            watch = gateway.get_network("ch").watch_commits()
            with pytest.raises(ConsortiaError, match="the peer sent no block of channel ch within 0.05s"):
                await watch.start()
            assert not watch.watching

    asyncio.run(scenario())
    assert silent.cancelled.is_set()


def test_a_watched_transaction_without_its_block_in_time_is_a_commit_status_error(
        channel: FakeAioChannel, user: SigningIdentity, org1: SampleOrg) -> None:
    watched_channel(channel, org1)
    channel.answers["Submit"] = lambda request, timeout: gateway_pb2.SubmitResponse()
    channel.answers["CommitStatus"] = lambda request, timeout: pytest.fail("the watch answers alone")

    async def scenario() -> CommitStatusError:
        network = aio.connect(channel, signer=user).get_network("ch")
        async with network.watch_commits():
            submitted = await network.get_contract("cc").submit_async("Put", ["k"])
            with pytest.raises(CommitStatusError) as failed:
                await submitted.get_status(timeout=0.05)
            return failed.value

    error = asyncio.run(scenario())
    assert error.code == grpc.StatusCode.DEADLINE_EXCEEDED and "no commit within 0.05s" in str(error)


def test_a_watch_refused_by_the_peer_or_opened_twice_fails_and_a_failed_submit_is_forgotten(
        channel: FakeAioChannel, user: SigningIdentity, org1: SampleOrg) -> None:
    watched_channel(channel, org1)
    channel.answers["Submit"] = lambda request, timeout: (_ for _ in ()).throw(
        FakeRpcError(grpc.StatusCode.UNAVAILABLE, "no orderer"))

    async def scenario() -> None:
        network = aio.connect(channel, signer=user).get_network("ch")
        async with network.watch_commits() as watch:
            with pytest.raises(ConsortiaError, match="already being watched"):
                await network.watch_commits().start()
            with pytest.raises(SubmitError, match="no orderer"):
                await network.get_contract("cc").submit_async("Put", ["k"])
            assert watch.pending == 0
        channel.answers["DeliverFiltered"] = deliver(events_pb2.DeliverResponse(status=common_pb2.FORBIDDEN))
        refused = aio.connect(channel, signer=user).get_network("ch")
        with pytest.raises(DeliverError, match="FORBIDDEN"):
            async with refused.watch_commits():
                pass
        assert not refused.watch_commits().watching

    asyncio.run(scenario())
