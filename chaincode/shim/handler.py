"""The chaincode side of the ChaincodeMessage protocol, over one stream to a peer.

    chaincode                          peer
    REGISTER(ChaincodeID) ──────────▶
                          ◀────────── REGISTERED, READY
                          ◀────────── TRANSACTION | INIT (channel, txid, input, proposal)
    GET_STATE, PUT_STATE, ... ──────▶                      (any number, in order)
                          ◀────────── RESPONSE | ERROR
    COMPLETED(Response) | ERROR ────▶

Many transactions are in flight on one stream: each runs the chaincode in a worker
thread (chaincode functions are ordinary blocking Python), and each stub call waits
for the peer's answer to the request it sent, matched by channel and transaction id.
KEEPALIVE messages are ignored. When the stream ends, every waiting call fails.

The hand-offs between the event loop and the workers are kept cheap, as every
transaction makes several: messages to the peer go into one outbox that a single
writer task empties (a worker wakes the loop only when no wake-up is pending), and a
worker waits for its answer on a bare lock that the loop releases.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeAlias

from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2, proposal_response_pb2

from chaincode.shim.interfaces import ERROR_THRESHOLD, Chaincode, ChaincodeStubError, error
from chaincode.shim.stub import ChaincodeStub
from consortia.errors import ConsortiaError

log = logging.getLogger(__name__)

Message: TypeAlias = chaincode_shim_pb2.ChaincodeMessage
DEFAULT_WORKERS = 32
CALL_TIMEOUT = 120.0  # seconds a stub call waits for the peer (the peer's own timeout is shorter)


class HandlerError(ConsortiaError):
    """The protocol went wrong (the peer sent something unexpected)."""


class _Answer:
    """The peer's answer to one request, waited for by a worker thread.

    A bare lock is the cheapest thing one thread can block on and another release.
    """

    __slots__ = ("lock", "message", "error")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.message: Message | None = None
        self.error: ChaincodeStubError | None = None

    def give(self, message: Message | None, error: ChaincodeStubError | None = None) -> None:
        self.message, self.error = message, error
        self.lock.release()


class Handler:
    def __init__(self, chaincode_id: str, chaincode: Chaincode, send: Callable[[Message], Awaitable[None]],
                 workers: int = DEFAULT_WORKERS) -> None:
        self.chaincode_id = chaincode_id
        self.chaincode = chaincode
        self._send = send  # the stream's own write: only the writer task calls it, one message at a time
        self._executor = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="chaincode")
        self._pending: dict[tuple[str, str], _Answer] = {}
        # Messages to the peer, from any thread, written in order by one writer task.
        self._outbox: collections.deque[Message] = collections.deque()
        self._wakeup_scheduled = False  # a thread asked the loop to look at the outbox
        self._writer_idle: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    async def chat(self, incoming: AsyncIterator[Message]) -> None:
        """Register, then serve the peer's messages until the stream ends."""
        self._loop = asyncio.get_running_loop()
        writer = asyncio.create_task(self._write_outbox())
        self._post(Message(type=Message.REGISTER,
                           payload=chaincode_pb2.ChaincodeID(name=self.chaincode_id).SerializeToString()))
        state = "created"
        try:
            async for message in incoming:
                kind = message.type
                if kind == Message.RESPONSE or kind == Message.ERROR:
                    if state != "ready":
                        self._unexpected(state, message)
                    answer = self._pending.pop((message.channel_id, message.txid), None)
                    if answer is None:
                        log.warning("[%s] %s for a request nobody waits for", message.txid[:8],
                                    Message.Type.Name(kind))
                    else:
                        answer.give(message)
                elif kind == Message.TRANSACTION or kind == Message.INIT:
                    if state != "ready":
                        self._unexpected(state, message)
                    if not self._closed:  # closed: writing to the peer failed, nobody would hear the answer
                        self._executor.submit(self._execute, message)
                elif kind == Message.KEEPALIVE:
                    continue
                elif state == "created":
                    self._unexpected(state, message)
                    state = "established"
                    log.info("chaincode %s registered with the peer", self.chaincode_id)
                elif state == "established":
                    self._unexpected(state, message)
                    state = "ready"
                else:
                    log.warning("ignoring unexpected %s from the peer", Message.Type.Name(kind))
        finally:
            self._close()
            writer.cancel()

    @staticmethod
    def _unexpected(state: str, message: Message) -> None:
        """Raise unless `message` is what the registration expects in `state`."""
        if state == "created" and message.type != Message.REGISTERED:
            raise HandlerError(f"expected REGISTERED from the peer, received {Message.Type.Name(message.type)}: "
                               f"{message.payload.decode(errors='replace')}")
        if state == "established" and message.type != Message.READY:
            raise HandlerError(f"expected READY from the peer, received {Message.Type.Name(message.type)}")

    def _close(self) -> None:
        self._closed = True
        pending, self._pending = self._pending, {}
        for answer in pending.values():
            answer.give(None, ChaincodeStubError("the connection to the peer was lost"))
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ----- writing to the peer --------------------------------------------------------

    def _post(self, message: Message) -> None:
        """Queue a message for the peer (loop thread)."""
        self._outbox.append(message)
        idle = self._writer_idle
        if idle is not None and not idle.done():
            idle.set_result(None)

    def _post_threadsafe(self, message: Message) -> None:
        """Queue a message for the peer (worker threads): wakes the loop once for many messages."""
        self._outbox.append(message)
        if not self._wakeup_scheduled:
            self._wakeup_scheduled = True
            assert self._loop is not None
            try:
                self._loop.call_soon_threadsafe(self._wake_writer)
            except RuntimeError:  # the loop is closed: the stream is gone
                self._wakeup_scheduled = False

    def _wake_writer(self) -> None:
        self._wakeup_scheduled = False  # before the writer empties the outbox: no message is left behind
        idle = self._writer_idle
        if idle is not None and not idle.done():
            idle.set_result(None)

    async def _write_outbox(self) -> None:
        assert self._loop is not None
        outbox = self._outbox
        while True:
            while outbox:
                try:
                    await self._send(outbox.popleft())
                except Exception as exc:  # the stream is broken: nobody will answer
                    log.warning("chaincode %s: writing to the peer failed: %s", self.chaincode_id, exc)
                    self._close()
                    return
            self._writer_idle = self._loop.create_future()
            if not outbox:  # nothing arrived since the last look
                await self._writer_idle
            self._writer_idle = None

    # ----- transactions (worker threads) ----------------------------------------------

    def _execute(self, message: Message) -> None:
        try:
            stub = ChaincodeStub(self, message)
            method = self.chaincode.init if message.type == Message.INIT else self.chaincode.invoke
            response = method(stub)
            if not isinstance(response, proposal_response_pb2.Response) or response.status == 0:
                response = error("the chaincode returned no response (neither success nor error)")
            reply = Message(type=Message.COMPLETED, payload=response.SerializeToString(),
                            txid=message.txid, channel_id=message.channel_id)
            if stub.event is not None and response.status < ERROR_THRESHOLD:
                reply.chaincode_event.CopyFrom(stub.event)
        except Exception as exc:  # a chaincode bug must not take the shim down
            log.exception("[%s/%s] chaincode failed", message.channel_id, message.txid[:8])
            reply = Message(type=Message.ERROR, payload=f"chaincode failed: {exc}".encode(),
                            txid=message.txid, channel_id=message.channel_id)
        if not self._closed:
            self._post_threadsafe(reply)

    def call(self, message: Message) -> Message:
        """Send a request for a transaction and wait for the peer's answer (worker threads)."""
        if self._loop is None or self._closed:
            raise ChaincodeStubError("the connection to the peer was lost")
        key = (message.channel_id, message.txid)
        answer = _Answer()
        if self._pending.setdefault(key, answer) is not answer:
            raise ChaincodeStubError(f"transaction {message.txid[:8]} already waits for the peer")
        if self._closed:  # closed meanwhile: nobody will answer
            self._pending.pop(key, None)
            raise ChaincodeStubError("the connection to the peer was lost")
        self._post_threadsafe(message)
        if not answer.lock.acquire(timeout=CALL_TIMEOUT):
            if self._pending.get(key) is answer:
                del self._pending[key]
            raise ChaincodeStubError(f"the peer did not answer {Message.Type.Name(message.type)} "
                                     f"within {CALL_TIMEOUT:.0f}s")
        if answer.error is not None:
            raise answer.error
        assert answer.message is not None
        if answer.message.type == Message.ERROR:
            raise ChaincodeStubError(answer.message.payload.decode(errors="replace"))
        return answer.message
