"""The chaincode side of the ChaincodeMessage protocol, over one stream to a peer.

    chaincode                          peer
    REGISTER(ChaincodeID) ──────────▶
                          ◀────────── REGISTERED, READY
                          ◀────────── TRANSACTION | INIT (channel, txid, input, proposal)
    GET_STATE, PUT_STATE, ... ──────▶                      (any number, in order)
                          ◀────────── RESPONSE | ERROR
    COMPLETED(Response) | ERROR ────▶

Many transactions are in flight on one stream. Each runs in its own greenlet on the
event loop's thread: chaincode functions are ordinary blocking Python, and a stub call
hands control back to the loop until the peer's answer to that request (matched by
channel and transaction id) arrives, then resumes the function where it stopped. This
is the concurrency of Fabric's Node shim: transactions interleave only while they wait
for the peer, so a function that sleeps or computes for long holds up the others of
this process. Greenlets rather than worker threads: a thread pool costs two thread
hand-offs per stub call, and contention for the GIL, which is more CPU than a simple
chaincode function itself. KEEPALIVE messages are ignored. When the stream ends, every
waiting call fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeAlias

import greenlet
from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2, proposal_response_pb2

from chaincode.shim.interfaces import (
    ERROR_THRESHOLD,
    Chaincode,
    ChaincodeStubError,
    error,
)
from chaincode.shim.stub import ChaincodeStub
from consortia.errors import ConsortiaError
from consortia.outbox import Outbox

log = logging.getLogger(__name__)

Message: TypeAlias = chaincode_shim_pb2.ChaincodeMessage


class HandlerError(ConsortiaError):
    """The protocol went wrong (the peer sent something unexpected)."""


class Handler:
    def __init__(self, chaincode_id: str, chaincode: Chaincode, send: Callable[[Message], Awaitable[None]]) -> None:
        self.chaincode_id = chaincode_id
        self.chaincode = chaincode
        # The transactions waiting for the peer's answer, by (channel, transaction id).
        self._waiting: dict[tuple[str, str], greenlet.greenlet] = {}
        self._outbox: Outbox[Message] = Outbox(send, self._write_failed)
        self._loop_greenlet: greenlet.greenlet | None = None  # where a waiting transaction hands control back
        self._closed = False

    async def chat(self, incoming: AsyncIterator[Message]) -> None:
        """Register, then serve the peer's messages until the stream ends."""
        self._loop_greenlet = greenlet.getcurrent()
        writer = asyncio.create_task(self._outbox.run())
        self._outbox.post(Message(type=Message.REGISTER,
                                  payload=chaincode_pb2.ChaincodeID(name=self.chaincode_id).SerializeToString()))
        state = "created"
        try:
            async for message in incoming:
                kind = message.type
                if kind == Message.RESPONSE or kind == Message.ERROR:
                    if state != "ready":
                        self._unexpected(state, message)
                    waiting = self._waiting.pop((message.channel_id, message.txid), None)
                    if waiting is None:
                        log.warning("[%s] %s for a request nobody waits for", message.txid[:8],
                                    Message.Type.Name(kind))
                    else:
                        waiting.switch(message)  # runs the transaction to its next request, or its end
                elif kind == Message.TRANSACTION or kind == Message.INIT:
                    if state != "ready":
                        self._unexpected(state, message)
                    if not self._closed:  # closed: writing to the peer failed, nobody would hear the answer
                        greenlet.greenlet(self._execute).switch(message)
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
        """Fail every waiting call, so that each transaction finishes (and frees its greenlet)."""
        self._closed = True
        waiting, self._waiting = self._waiting, {}
        for transaction in waiting.values():
            transaction.switch(None)

    # ----- writing to the peer --------------------------------------------------------

    def _write_failed(self, exc: Exception) -> None:
        """The stream is broken: nobody will answer."""
        log.warning("chaincode %s: writing to the peer failed: %s", self.chaincode_id, exc)
        self._close()

    # ----- transactions (each in its own greenlet) ------------------------------------

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
            self._outbox.post(reply)

    def call(self, message: Message) -> Message:
        """Send a request for the running transaction and wait for the peer's answer."""
        if self._closed:
            raise ChaincodeStubError("the connection to the peer was lost")
        current = greenlet.getcurrent()
        if current is self._loop_greenlet or self._loop_greenlet is None:
            raise ChaincodeStubError("a stub call outside a transaction of this handler")
        key = (message.channel_id, message.txid)
        if self._waiting.setdefault(key, current) is not current:
            raise ChaincodeStubError(f"transaction {message.txid[:8]} already waits for the peer")
        self._outbox.post(message)
        answer = self._loop_greenlet.switch()
        if answer is None:
            raise ChaincodeStubError("the connection to the peer was lost")
        if answer.type == Message.ERROR:
            raise ChaincodeStubError(answer.payload.decode(errors="replace"))
        return answer
