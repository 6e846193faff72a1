"""gRPC clients for the other peers and the orderers a gateway calls.

One channel per address, opened on first use and kept: gRPC reconnects by itself, and
a gateway calls the same few nodes over and over. TLS roots come from the channel
configuration; the peer presents its own TLS certificate, for servers that require
mutual TLS.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2, ab_pb2_grpc
from fabric_protos.peer import peer_pb2_grpc, proposal_response_pb2

from consortia.grpcutil import channel
from consortia.protoutil.proposal import UnpackedProposal
from peer.blockpuller import ClientTLS
from peer.gateway.registry import Unreachable

Opener = Callable[[], grpc.aio.Channel]


class GrpcConnector:
    def __init__(self, tls: ClientTLS | None) -> None:
        self.tls = tls
        self._channels: dict[str, grpc.aio.Channel] = {}

    def open(self, address: str, roots: bytes) -> grpc.aio.Channel:
        """The kept channel to `address` (opened now if need be)."""
        return self._channel(address, roots)

    def _channel(self, address: str, roots: bytes) -> grpc.aio.Channel:
        found = self._channels.get(address)
        if found is None:
            if self.tls is None:
                found = channel(address)
            else:
                found = channel(address, root_ca=roots, client_cert=self.tls.cert, client_key=self.tls.key)
            self._channels[address] = found
        return found

    def endorser(self, address: str, tls_roots: bytes) -> RemoteEndorser:
        return RemoteEndorser(address, lambda: self._channel(address, tls_roots))

    def orderer(self, address: str, tls_roots: bytes) -> RemoteOrderer:
        return RemoteOrderer(address, lambda: self._channel(address, tls_roots))

    async def close(self) -> None:
        for ch in self._channels.values():
            await ch.close()
        self._channels.clear()


class RemoteEndorser:
    def __init__(self, address: str, open_channel: Opener) -> None:
        self.address = address
        self._open = open_channel
        self._stub: peer_pb2_grpc.EndorserStub | None = None

    async def process_proposal(self, proposal: UnpackedProposal, timeout: float, *,
                               evaluate: bool = False) -> proposal_response_pb2.ProposalResponse:
        """ProcessProposal on the remote peer, which signs its answer either way."""
        if self._stub is None:
            self._stub = peer_pb2_grpc.EndorserStub(self._open())
        try:
            response: proposal_response_pb2.ProposalResponse = await self._stub.ProcessProposal(
                proposal.signed, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            raise Unreachable(f"{exc.code().name}: {exc.details()}") from exc
        return response


class RemoteOrderer:
    """Broadcast to one orderer over one long-lived stream, shared by every Submit.

    The orderer answers the envelopes of a stream one by one, in the order they came, so
    the answers are matched to the waiting transactions first in, first out. When the
    stream fails, every transaction waiting on it gets Unreachable (and the gateway tries
    another orderer); the next Submit opens a new stream. A transaction that waits longer
    than its timeout gets Unreachable alone, and its answer, when it comes, is dropped.
    """

    def __init__(self, address: str, open_channel: Opener) -> None:
        self.address = address
        self._open = open_channel
        self._stub: ab_pb2_grpc.AtomicBroadcastStub | None = None
        self._stream: _BroadcastStream | None = None

    async def broadcast(self, envelope: common_pb2.Envelope, timeout: float) -> ab_pb2.BroadcastResponse:
        try:
            return await self._open_stream().send(envelope, timeout)
        except _NotSent:  # the stream had ended (say, idle and closed by the orderer): once more on a new one
            return await self._open_stream().send(envelope, timeout)

    def _open_stream(self) -> _BroadcastStream:
        stream = self._stream
        if stream is None or stream.broken:
            if self._stub is None:
                self._stub = ab_pb2_grpc.AtomicBroadcastStub(self._open())
            stream = self._stream = _BroadcastStream(self._stub.Broadcast())
        return stream


_DEADLINE = "DEADLINE_EXCEEDED: Deadline Exceeded"


class _NotSent(Unreachable):
    """The stream had ended before the envelope was written: the orderer never saw it."""


class _BroadcastStream:
    def __init__(self, call: grpc.aio.StreamStreamCall) -> None:
        self._call = call
        # The transactions written and not yet answered, in the order they were written.
        self._waiting: collections.deque[asyncio.Future[ab_pb2.BroadcastResponse]] = collections.deque()
        self._lock = asyncio.Lock()
        self._reader = asyncio.create_task(self._read())
        self._error: Unreachable | None = None

    @property
    def broken(self) -> bool:
        """No more envelopes go on this stream (the answers still due are still read)."""
        return self._error is not None or self._call.done()

    async def send(self, envelope: common_pb2.Envelope, timeout: float) -> ab_pb2.BroadcastResponse:
        answer: asyncio.Future[ab_pb2.BroadcastResponse] = asyncio.get_running_loop().create_future()
        appended = written = False
        try:
            async with asyncio.timeout(timeout):
                async with self._lock:
                    if self.broken:
                        raise _NotSent(str(self._error or "the stream to the orderer had ended"))
                    self._waiting.append(answer)
                    appended = True
                    try:
                        await self._call.write(envelope)
                    except grpc.aio.AioRpcError as exc:
                        self.fail(Unreachable(f"{exc.code().name}: {exc.details()}"))
                    except (asyncio.InvalidStateError, grpc.aio.UsageError) as exc:  # the stream ended meanwhile
                        self.fail(Unreachable(f"the stream to the orderer ended: {exc}"))
                    else:
                        written = True
                return await answer
        except TimeoutError as exc:
            if appended and not written:  # perhaps half written: answers can no longer be matched
                self.fail(Unreachable(_DEADLINE))
            raise Unreachable(_DEADLINE) from exc

    async def _read(self) -> None:
        try:
            while True:
                answer = await self._call.read()
                if answer is grpc.aio.EOF or not isinstance(answer, ab_pb2.BroadcastResponse):
                    self.fail(Unreachable("the orderer closed the stream without an answer"))
                    return
                if not self._waiting:
                    self.fail(Unreachable("the orderer answered an envelope nobody sent"))
                    return
                waiter = self._waiting.popleft()
                if not waiter.done():  # done: its transaction gave up waiting
                    waiter.set_result(answer)
        except grpc.aio.AioRpcError as exc:
            self.fail(Unreachable(f"{exc.code().name}: {exc.details()}"))
        except asyncio.CancelledError:
            self.fail(Unreachable("CANCELLED: the stream to the orderer was cancelled"))
        except Exception as exc:  # never leave a transaction waiting
            self.fail(Unreachable(f"the stream to the orderer failed: {exc}"))

    def fail(self, error: Unreachable) -> None:
        """End the stream: every transaction waiting on it gets `error`."""
        if self._error is None:
            self._error = error
            self._call.cancel()
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(Unreachable(str(error)))
