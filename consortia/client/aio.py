"""The client SDK for asyncio applications: `consortia.client`'s objects, whose calls to
the gateway are coroutines.

    from consortia.client import aio

    async with aio.connect("127.0.0.1:7051", signer=identity, tls_root_ca=ca_pem) as gateway:
        contract = gateway.get_network("trading").get_contract("trading")
        await contract.submit_transaction("PlaceOrder", "o1", "100")   # waits for the commit
        await contract.evaluate_transaction("GetOrder", "o1")          # a query

One event loop thread keeps many transactions in flight, as the official Node SDK's
clients do; with the synchronous API every call in flight holds a thread, and the
threads cost more CPU than the calls. Call `connect` from the event loop that will use
the gateway.

The requests, signatures, results and errors are those of `consortia.client`, built by
the same code (each object here wraps its synchronous twin), offline signing included.
Chaincode events and block events (whole, filtered, or with private data) come as
`async for` streams. `network.watch_commits()` reads the commit statuses of many
transactions off one filtered-block stream (see `consortia.client.commit_watch`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.peer import events_pb2

from consortia.client import (
    block_events,
    chaincode_events,
    commit,
    contract,
    gateway,
    network,
    proposal,
    transaction,
)
from consortia.client.chaincode_events import ChaincodeEvent
from consortia.client.checkpoint import Checkpoint
from consortia.client.commit import Status
from consortia.client.commit_watch import CommitWatch, Expected
from consortia.client.connection import Connection, Timeouts
from consortia.client.contract import Arg
from consortia.client.errors import CommitError, CommitStatusError
from consortia.client.gateway import open_connection
from consortia.client.signing import MessageSigner
from consortia.client.stream import AsyncEventStream


class Gateway:
    """A connection to a Fabric gateway as one identity; close it when done."""

    def __init__(self, connection: Connection, channel: grpc.aio.Channel, owns_channel: bool) -> None:
        self._connection = connection
        self._channel = channel
        self._owns_channel = owns_channel
        # Rebuilds signed objects from their bytes; makes no call of its own.
        self._decoder = gateway.Gateway(connection, channel, owns_channel=False)

    @property
    def identity(self) -> bytes:
        """The serialized identity (`msp.SerializedIdentity`) this gateway acts as."""
        return self._connection.creator

    @property
    def address(self) -> str:
        return self._connection.address

    def get_network(self, name: str) -> Network:
        """Channel `name` (no call is made until it is used)."""
        return Network(self._connection, name)

    # Offline signing, as in consortia.client.Gateway: each object's `bytes()`, signed
    # elsewhere over its `digest()`, comes back through these.

    def new_signed_proposal(self, proposal_bytes: bytes, signature: bytes) -> Proposal:
        return Proposal(self._connection, self._decoder.new_signed_proposal(proposal_bytes, signature))

    def new_signed_transaction(self, transaction_bytes: bytes, signature: bytes) -> Transaction:
        return Transaction(self._connection, self._decoder.new_signed_transaction(transaction_bytes, signature))

    def new_signed_commit(self, commit_bytes: bytes, signature: bytes) -> Commit:
        return Commit(self._connection, self._decoder.new_signed_commit(commit_bytes, signature))

    def new_signed_chaincode_events_request(self, request_bytes: bytes, signature: bytes) -> ChaincodeEventsRequest:
        return ChaincodeEventsRequest(
            self._connection, self._decoder.new_signed_chaincode_events_request(request_bytes, signature))

    def new_signed_block_events_request(self, request_bytes: bytes, signature: bytes) -> BlockEventsRequest:
        return BlockEventsRequest(self._connection, self._decoder.new_signed_block_events_request(request_bytes,
                                                                                                  signature))

    def new_signed_filtered_block_events_request(self, request_bytes: bytes,
                                                 signature: bytes) -> FilteredBlockEventsRequest:
        return FilteredBlockEventsRequest(
            self._connection, self._decoder.new_signed_filtered_block_events_request(request_bytes, signature))

    def new_signed_block_and_private_data_events_request(self, request_bytes: bytes,
                                                         signature: bytes) -> BlockAndPrivateDataEventsRequest:
        return BlockAndPrivateDataEventsRequest(
            self._connection, self._decoder.new_signed_block_and_private_data_events_request(request_bytes, signature))

    async def close(self) -> None:
        """Close the connection, unless it was handed in."""
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()


class Network:
    """Channel `name`: its contracts, the commit status of its transactions, its chaincode
    events and its blocks."""

    def __init__(self, connection: Connection, name: str) -> None:
        self._connection = connection
        self._twin = network.Network(connection, name)
        self._commits = CommitWatch(name, self.get_filtered_block_events, connection.timeouts.commit_status)

    @property
    def name(self) -> str:
        return self._twin.name

    def get_contract(self, chaincode_name: str, contract_name: str | None = None) -> Contract:
        """The contract `contract_name` of the chaincode (its default contract if None)."""
        return Contract(self._connection, self._twin.get_contract(chaincode_name, contract_name), self._commits)

    def watch_commits(self) -> CommitWatch:
        """For `async with`: while open, the commit status of each transaction submitted
        through this object's contracts comes from one filtered-block stream instead of
        a CommitStatus call each (see `consortia.client.commit_watch`), which spares the
        gateway and the client a signed call per transaction."""
        return self._commits

    def new_commit(self, transaction_id: str) -> Commit:
        """The commit status of any transaction of this channel, by its id."""
        return Commit(self._connection, self._twin.new_commit(transaction_id))

    def get_chaincode_events(self, chaincode_name: str, start_block: int | None = None,
                             checkpoint: Checkpoint | None = None,
                             timeout: float | None = None) -> AsyncEventStream[ChaincodeEvent]:
        """Events of `chaincode_name` from the checkpoint, `start_block`, or the next
        commit, for `async for`; close the stream (or leave `async with`) to end it."""
        return self.new_chaincode_events_request(chaincode_name, start_block, checkpoint).get_events(timeout)

    def new_chaincode_events_request(self, chaincode_name: str, start_block: int | None = None,
                                     checkpoint: Checkpoint | None = None) -> ChaincodeEventsRequest:
        """The request `get_chaincode_events` sends, for offline signing."""
        return ChaincodeEventsRequest(self._connection,
                                      self._twin.new_chaincode_events_request(chaincode_name, start_block, checkpoint))

    def get_block_events(self, start_block: int | None = None, checkpoint: Checkpoint | None = None,
                         timeout: float | None = None) -> AsyncEventStream[common_pb2.Block]:
        """Blocks from the checkpoint's block, `start_block`, or the newest block, as they
        commit, for `async for`; close the stream (or leave `async with`) to end it."""
        return self.new_block_events_request(start_block, checkpoint).get_events(timeout)

    def new_block_events_request(self, start_block: int | None = None,
                                 checkpoint: Checkpoint | None = None) -> BlockEventsRequest:
        return BlockEventsRequest(self._connection, self._twin.new_block_events_request(start_block, checkpoint))

    def get_filtered_block_events(self, start_block: int | None = None, checkpoint: Checkpoint | None = None,
                                  timeout: float | None = None) -> AsyncEventStream[events_pb2.FilteredBlock]:
        """Filtered blocks (transaction ids, types, validation codes, event names)."""
        return self.new_filtered_block_events_request(start_block, checkpoint).get_events(timeout)

    def new_filtered_block_events_request(self, start_block: int | None = None,
                                          checkpoint: Checkpoint | None = None) -> FilteredBlockEventsRequest:
        return FilteredBlockEventsRequest(self._connection,
                                          self._twin.new_filtered_block_events_request(start_block, checkpoint))

    def get_block_and_private_data_events(
            self, start_block: int | None = None, checkpoint: Checkpoint | None = None,
            timeout: float | None = None) -> AsyncEventStream[events_pb2.BlockAndPrivateData]:
        """Blocks with the private data of the collections the client's org is a member of."""
        return self.new_block_and_private_data_events_request(start_block, checkpoint).get_events(timeout)

    def new_block_and_private_data_events_request(self, start_block: int | None = None,
                                                  checkpoint: Checkpoint | None = None,
                                                  ) -> BlockAndPrivateDataEventsRequest:
        return BlockAndPrivateDataEventsRequest(
            self._connection, self._twin.new_block_and_private_data_events_request(start_block, checkpoint))


class Contract:
    """The functions of one chaincode (or one named contract in it) on one channel."""

    def __init__(self, connection: Connection, synchronous: contract.Contract, commits: CommitWatch) -> None:
        self._connection = connection
        self._contract = synchronous
        self._commits = commits

    @property
    def chaincode_name(self) -> str:
        return self._contract.chaincode_name

    @property
    def contract_name(self) -> str:
        return self._contract.contract_name

    async def evaluate_transaction(self, name: str, *args: Arg) -> bytes:
        """Run function `name` on a peer and return its result: a query, nothing is recorded."""
        return await self.evaluate(name, args)

    async def submit_transaction(self, name: str, *args: Arg) -> bytes:
        """Run function `name`, have it endorsed, ordered and committed; return its result.

        EndorseError, SubmitError or CommitStatusError when a step fails; CommitError
        (with the validation code) when the transaction committed as invalid.
        """
        return await self.submit(name, args)

    async def evaluate(self, name: str, args: Sequence[Arg] = (), transient: Mapping[str, Arg] | None = None,
                       target_organizations: Iterable[str] | None = None, *,
                       timestamp: dt.datetime | None = None) -> bytes:
        """Evaluate with transient data, or on a peer of one of `target_organizations`."""
        return await self.new_proposal(name, args, transient, target_organizations, timestamp=timestamp).evaluate()

    async def submit(self, name: str, args: Sequence[Arg] = (), transient: Mapping[str, Arg] | None = None,
                     endorsing_organizations: Iterable[str] | None = None, *, init: bool = False,
                     timestamp: dt.datetime | None = None) -> bytes:
        """Submit and wait for the commit; the result once committed as valid."""
        submitted = await self.submit_async(name, args, transient, endorsing_organizations, init=init,
                                            timestamp=timestamp)
        status = await submitted.get_status()
        if not status.successful:
            raise CommitError(status.transaction_id, status.code, status.code_name)
        return submitted.result

    async def submit_async(self, name: str, args: Sequence[Arg] = (), transient: Mapping[str, Arg] | None = None,
                           endorsing_organizations: Iterable[str] | None = None, *, init: bool = False,
                           timestamp: dt.datetime | None = None) -> SubmittedTransaction:
        """Endorse and submit; return as soon as an orderer has the transaction."""
        endorsed = await self.new_proposal(name, args, transient, endorsing_organizations, init=init,
                                           timestamp=timestamp).endorse()
        return await endorsed.submit()

    def new_proposal(self, name: str, args: Sequence[Arg] = (), transient: Mapping[str, Arg] | None = None,
                     endorsing_organizations: Iterable[str] | None = None, *, init: bool = False,
                     timestamp: dt.datetime | None = None, nonce: bytes | None = None) -> Proposal:
        """A proposal to call function `name` (see `consortia.client.Contract.new_proposal`)."""
        twin = self._contract.new_proposal(name, args, transient, endorsing_organizations, init=init,
                                           timestamp=timestamp, nonce=nonce)
        return Proposal(self._connection, twin, self._commits)


class _Offline(Protocol):
    """What every synchronous twin offers for offline signing."""

    @property
    def channel_id(self) -> str: ...

    def digest(self) -> bytes: ...

    def bytes(self) -> bytes: ...


class _OfATransaction(_Offline, Protocol):
    @property
    def transaction_id(self) -> str: ...


S = TypeVar("S", bound=_Offline)
TX = TypeVar("TX", bound=_OfATransaction)


class _Twin(Generic[S]):
    """An asyncio object over its synchronous twin, which builds, signs and reads its
    messages; this side only makes the gRPC calls."""

    def __init__(self, connection: Connection, twin: S) -> None:
        self._connection = connection
        self._twin = twin

    @property
    def channel_id(self) -> str:
        return self._twin.channel_id

    def digest(self) -> bytes:
        """What an offline signer signs: the SHA-256 of `bytes()`'s signed part."""
        return self._twin.digest()

    def bytes(self) -> bytes:
        """The serialized message, for offline signing."""
        return self._twin.bytes()


class _TransactionTwin(_Twin[TX]):
    @property
    def transaction_id(self) -> str:
        return self._twin.transaction_id


class Proposal(_TransactionTwin[proposal.Proposal]):
    """A signed call of a chaincode function, to evaluate or endorse."""

    def __init__(self, connection: Connection, twin: proposal.Proposal, commits: CommitWatch | None = None) -> None:
        super().__init__(connection, twin)
        self._commits = commits

    @property
    def endorsing_organizations(self) -> list[str]:
        return self._twin.endorsing_organizations

    async def evaluate(self, timeout: float | None = None) -> bytes:
        """Run the function on a peer and return its result; nothing is recorded."""
        request = self._twin.evaluate_request()
        try:
            response = await self._connection.gateway.Evaluate(
                request, timeout=timeout or self._connection.timeouts.evaluate)
        except grpc.RpcError as exc:
            raise self._twin.evaluate_error(exc) from exc
        return bytes(response.result.payload)

    async def endorse(self, timeout: float | None = None) -> Transaction:
        """Collect the endorsements the chaincode's policy needs; EndorseError otherwise."""
        request = self._twin.endorse_request()
        try:
            response = await self._connection.gateway.Endorse(
                request, timeout=timeout or self._connection.timeouts.endorse)
        except grpc.RpcError as exc:
            raise self._twin.endorse_error(exc) from exc
        return Transaction(self._connection, self._twin.endorsed(response), self._commits)


class Transaction(_TransactionTwin[transaction.Transaction]):
    """An endorsed transaction, ready to be submitted for ordering."""

    def __init__(self, connection: Connection, twin: transaction.Transaction,
                 commits: CommitWatch | None = None) -> None:
        super().__init__(connection, twin)
        self._commits = commits

    @property
    def result(self) -> bytes:
        """What the transaction function returned, as the endorsers signed it."""
        return self._twin.result

    @property
    def endorsing_organizations(self) -> list[str]:
        return self._twin.endorsing_organizations

    async def submit(self, timeout: float | None = None) -> SubmittedTransaction:
        """Sign (if not signed yet) and send the transaction for ordering; SubmitError
        with what the orderers answered when none took it."""
        request = self._twin.submit_request()
        submitted = self._twin.submitted()
        expected = self._commits.expect(self.transaction_id) if self._commits is not None else None
        try:
            await self._connection.gateway.Submit(request, timeout=timeout or self._connection.timeouts.submit)
        except BaseException as exc:  # not submitted (refused, or the call cancelled): nothing to wait for
            if self._commits is not None:
                self._commits.forget(self.transaction_id)
            if isinstance(exc, grpc.RpcError):
                raise self._twin.submit_error(exc) from exc
            raise
        return SubmittedTransaction(self._connection, submitted, expected)


class Commit(_TransactionTwin[commit.Commit]):
    """Access to the commit status of one transaction."""

    def __init__(self, connection: Connection, twin: commit.Commit, expected: Expected | None = None) -> None:
        super().__init__(connection, twin)
        self._expected = expected

    async def get_status(self, timeout: float | None = None) -> Status:
        """The transaction's validation code, waiting until its block commits on the peer
        (CommitStatusError if the gateway cannot answer within `timeout` seconds)."""
        limit = timeout or self._connection.timeouts.commit_status
        if self._expected is not None:
            try:
                async with asyncio.timeout(limit):
                    watched = await asyncio.shield(self._expected)
            except TimeoutError:
                raise CommitStatusError(f"no commit within {limit:g}s", grpc.StatusCode.DEADLINE_EXCEEDED,
                                        transaction_id=self.transaction_id) from None
            if watched is not None:
                return watched
        request = self._twin.status_request()
        try:
            response = await self._connection.gateway.CommitStatus(request, timeout=limit)
        except grpc.RpcError as exc:
            raise self._twin.status_error(exc) from exc
        return self._twin.status_from(response)


class SubmittedTransaction(Commit):
    """A transaction handed to the orderer: its result now, its commit status later."""

    def __init__(self, connection: Connection, synchronous: commit.SubmittedTransaction,
                 expected: Expected | None = None) -> None:
        super().__init__(connection, synchronous, expected)
        self._result = synchronous.result

    @property
    def result(self) -> bytes:
        """What the transaction function returned when endorsed."""
        return self._result


class ChaincodeEventsRequest(_Twin[chaincode_events.ChaincodeEventsRequest]):
    """A (signed or still unsigned) request for one chaincode's events."""

    @property
    def chaincode_name(self) -> str:
        return self._twin.chaincode_name

    def get_events(self, timeout: float | None = None) -> AsyncEventStream[ChaincodeEvent]:
        """Open the stream; events arrive as their blocks commit, until it is closed.
        `timeout` limits the whole stream (seconds); by default it has no end."""
        call = self._connection.gateway.ChaincodeEvents(self._twin.signed_request(), timeout=timeout)
        return AsyncEventStream(call, chaincode_events.events_of, self._twin.events_error)


B = TypeVar("B", bound=block_events.BlockEventsRequestBase)
E = TypeVar("E")


class _BlockEventsTwin(_Twin[B], Generic[B, E]):
    def get_events(self, timeout: float | None = None) -> AsyncEventStream[E]:
        """Open the stream; blocks arrive as they commit, until it is closed. `timeout`
        limits the whole stream (seconds); by default it has no end."""
        call = getattr(self._connection.deliver, self._twin.method)(iter([self._twin.signed_envelope()]),
                                                                    timeout=timeout)
        return AsyncEventStream(call, self._twin.events_of, self._twin.events_error)


class BlockEventsRequest(_BlockEventsTwin[block_events.BlockEventsRequest, common_pb2.Block]):
    """A (signed or still unsigned) request for a channel's blocks."""


class FilteredBlockEventsRequest(_BlockEventsTwin[block_events.FilteredBlockEventsRequest,
                                                  events_pb2.FilteredBlock]):
    """A (signed or still unsigned) request for a channel's filtered blocks."""


class BlockAndPrivateDataEventsRequest(_BlockEventsTwin[block_events.BlockAndPrivateDataEventsRequest,
                                                        events_pb2.BlockAndPrivateData]):
    """A (signed or still unsigned) request for a channel's blocks with the private data
    the requester's organization may see."""


def connect(
    address: str | grpc.aio.Channel,
    *,
    signer: MessageSigner | None = None,
    identity: bytes | None = None,
    tls_root_ca: bytes | None = None,
    client_cert: bytes | None = None,
    client_key: bytes | None = None,
    server_name: str | None = None,
    evaluate_timeout: float = Timeouts.evaluate,
    endorse_timeout: float = Timeouts.endorse,
    submit_timeout: float = Timeouts.submit,
    commit_status_timeout: float = Timeouts.commit_status,
) -> Gateway:
    """Connect to the gateway of the peer at `address` ("host:port") as `signer`, with
    the settings of `consortia.client.connect`; `address` may instead be an open
    `grpc.aio.Channel`, which `close()` then leaves open."""
    return Gateway(*open_connection(grpc.aio, address, signer, identity, tls_root_ca, client_cert, client_key,
                                    server_name, Timeouts(evaluate_timeout, endorse_timeout, submit_timeout,
                                                          commit_status_timeout)))
