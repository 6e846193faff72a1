"""CommitStatus (peer.gateway.commits): a transaction's validation code and block once
this peer has committed it, waiting for it when needed, for a channel reader only.

The channel is a fake exposing what CommitFinder uses: a real ChannelBundle (for the
access check), real TxWaiters, and a transaction index the test controls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.msp.signing import SigningIdentity
from peer.gateway.commits import CommitFinder
from peer.gateway.errors import Code, GatewayError
from peer.txwaiters import TxWaiters
from tests.support.bundles import readers_bundle
from tests.support.identities import SampleOrg, make_org

pytestmark = pytest.mark.unit

CHANNEL = "ch1"
VALID = transaction_pb2.VALID
MVCC = transaction_pb2.MVCC_READ_CONFLICT


@pytest.fixture(scope="module")
def orderer_org() -> SampleOrg:
    return make_org("OrdererMSP")


@pytest.fixture(scope="module")
def bundle(org1: SampleOrg, org2: SampleOrg, orderer_org: SampleOrg) -> ChannelBundle:
    """ch1: Org1 and Org2 are its members (Readers); OrdererMSP orders it; Org3 is a stranger."""
    return readers_bundle(CHANNEL, [org1, org2], orderer_org)


@dataclass
class FakeChannel:
    bundle: ChannelBundle
    height: int = 5
    tx_waiters: TxWaiters = field(default_factory=TxWaiters)
    index: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    after_lookup: Callable[[], None] | None = None

    def committed(self, tx_id: str) -> tuple[int, int, int] | None:
        self.lookups.append(tx_id)
        found = self.index.get(tx_id)
        if self.after_lookup is not None:
            hook, self.after_lookup = self.after_lookup, None
            hook()
        return found

    def commit(self, tx_id: str, position: int = 0, code: int = VALID) -> None:
        """A block holding `tx_id` lands: indexed first, then announced (as on a peer)."""
        block = self.height
        self.index[tx_id] = (block, position, code)
        self.height += 1
        self.tx_waiters.committed(block, [(tx_id, position, code)])


@pytest.fixture
def channel(bundle: ChannelBundle) -> FakeChannel:
    return FakeChannel(bundle)


@pytest.fixture
def finder(channel: FakeChannel) -> CommitFinder:
    return CommitFinder({CHANNEL: channel}.get)


def bounded(coro: Coroutine[Any, Any, Any], seconds: float = 2.0) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, seconds)
    return asyncio.run(main())


def failure(coro: Coroutine[Any, Any, Any], seconds: float = 2.0) -> GatewayError:
    with pytest.raises(GatewayError) as info:
        bounded(coro, seconds)
    return info.value


# --- wait ------------------------------------------------------------------------------


def test_a_committed_transaction_is_found_at_once(finder: CommitFinder, channel: FakeChannel) -> None:
    channel.index["tx1"] = (3, 1, MVCC)
    assert bounded(finder.wait(channel, "tx1")) == (3, 1, MVCC)
    assert channel.lookups == ["tx1"]


def test_a_commit_between_the_lookup_and_the_wait_is_not_missed(finder: CommitFinder, channel: FakeChannel) -> None:
    # The block lands just after the index said "not there", before the wait begins.
    # Nothing will ever be committed again: if the wait started from the new height,
    # it would never return.
    channel.after_lookup = lambda: channel.commit("tx1", position=2)
    assert bounded(finder.wait(channel, "tx1"), 1.0) == (5, 2, VALID)
    assert channel.lookups == ["tx1"]


def test_a_commit_announced_while_looking_up_is_not_missed(finder: CommitFinder, channel: FakeChannel) -> None:
    # The block is announced while the lookup (which found nothing) is still running.
    channel.after_lookup = lambda: channel.tx_waiters.committed(5, [("tx1", 3, VALID)])
    assert bounded(finder.wait(channel, "tx1"), 1.0) == (5, 3, VALID)


def test_waits_block_after_block_until_the_transaction_is_committed(finder: CommitFinder,
                                                                     channel: FakeChannel) -> None:
    async def main() -> tuple[int, int, int]:
        waiting = asyncio.create_task(finder.wait(channel, "tx1"))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        channel.commit("other")
        await asyncio.sleep(0.01)
        assert not waiting.done()
        channel.commit("tx1", position=4)
        return await asyncio.wait_for(waiting, 1.0)

    assert asyncio.run(main()) == (6, 4, VALID)
    assert channel.lookups == ["tx1"]  # woken by its own block only, not looked up again at each block


# --- commit_status ---------------------------------------------------------------------


def signed_request(signer: SigningIdentity, *, channel_id: str = CHANNEL, tx_id: str = "tx1",
                   identity: bytes | None = None) -> gateway_pb2.SignedCommitStatusRequest:
    request = gateway_pb2.CommitStatusRequest(
        transaction_id=tx_id, channel_id=channel_id,
        identity=signer.serialize() if identity is None else identity,
    ).SerializeToString()
    return gateway_pb2.SignedCommitStatusRequest(request=request, signature=signer.sign(request))


@pytest.fixture(scope="module")
def user(org1: SampleOrg) -> SigningIdentity:
    return org1.identity("client", "user1@org1")


def test_commit_status_of_a_committed_transaction(finder: CommitFinder, channel: FakeChannel,
                                                  user: SigningIdentity, org2: SampleOrg) -> None:
    channel.index["tx1"] = (3, 0, MVCC)
    response = bounded(finder.commit_status(signed_request(user)))
    assert response == gateway_pb2.CommitStatusResponse(result=MVCC, block_number=3)
    # Any member of the channel may ask, not only the transaction's creator.
    response = bounded(finder.commit_status(signed_request(org2.identity("peer", "peer0.org2"))))
    assert response.block_number == 3


def test_commit_status_waits_for_the_commit(finder: CommitFinder, channel: FakeChannel,
                                            user: SigningIdentity) -> None:
    async def main() -> gateway_pb2.CommitStatusResponse:
        asking = asyncio.create_task(finder.commit_status(signed_request(user)))
        await asyncio.sleep(0.01)
        assert not asking.done()
        channel.commit("tx1")
        return await asyncio.wait_for(asking, 1.0)

    assert asyncio.run(main()) == gateway_pb2.CommitStatusResponse(result=VALID, block_number=5)


def test_empty_request(finder: CommitFinder) -> None:
    error = failure(finder.commit_status(gateway_pb2.SignedCommitStatusRequest()))
    assert error.code is Code.INVALID_ARGUMENT
    assert error.message == "a commit status request is required"


def test_undecodable_request(finder: CommitFinder) -> None:
    error = failure(finder.commit_status(gateway_pb2.SignedCommitStatusRequest(request=b"\x0a\x05ab",
                                                                               signature=b"s")))
    assert error.code is Code.INVALID_ARGUMENT
    assert error.message.startswith("invalid status request")


@pytest.mark.parametrize(("field_name", "message"), [
    ("identity", "no identity provided"),
    ("channel_id", "no channel ID provided"),
    ("transaction_id", "transaction ID should not be empty"),
])
def test_request_missing_a_field(finder: CommitFinder, user: SigningIdentity, field_name: str, message: str) -> None:
    request = gateway_pb2.CommitStatusRequest(transaction_id="tx1", channel_id=CHANNEL, identity=user.serialize())
    request.ClearField(field_name)
    raw = request.SerializeToString()
    error = failure(finder.commit_status(gateway_pb2.SignedCommitStatusRequest(request=raw, signature=user.sign(raw))))
    assert error.code is Code.INVALID_ARGUMENT
    assert error.message == message


def test_channel_not_joined(finder: CommitFinder, user: SigningIdentity) -> None:
    error = failure(finder.commit_status(signed_request(user, channel_id="other")))
    assert error.code is Code.FAILED_PRECONDITION
    assert "'other'" in error.message


def test_bad_signature_is_refused_without_waiting(finder: CommitFinder, channel: FakeChannel,
                                                  user: SigningIdentity, org1: SampleOrg) -> None:
    # Signed by someone else than the identity it names; the transaction is not
    # committed, so a request let through would wait (and time out here).
    signed = signed_request(user)
    signed.signature = org1.identity("client", "mallory@org1").sign(signed.request)
    error = failure(finder.commit_status(signed), 0.5)
    assert error.code is Code.PERMISSION_DENIED
    assert error.message.startswith(f"access denied on channel {CHANNEL}")
    assert channel.lookups == []


def test_stranger_is_refused(finder: CommitFinder, channel: FakeChannel, org3: SampleOrg) -> None:
    error = failure(finder.commit_status(signed_request(org3.identity("client", "user1@org3"))), 0.5)
    assert error.code is Code.PERMISSION_DENIED
    assert channel.lookups == []


def test_orderer_is_not_a_reader_of_the_application(finder: CommitFinder, channel: FakeChannel,
                                                    orderer_org: SampleOrg) -> None:
    error = failure(finder.commit_status(signed_request(orderer_org.identity("orderer", "orderer0"))), 0.5)
    assert error.code is Code.PERMISSION_DENIED
    assert "Readers" in error.message
    assert channel.lookups == []
