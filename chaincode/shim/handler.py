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
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeAlias

from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2, proposal_response_pb2

from chaincode.shim.interfaces import ERROR_THRESHOLD, Chaincode, ChaincodeStubError, error
from chaincode.shim.stub import ChaincodeStub

log = logging.getLogger(__name__)

Message: TypeAlias = chaincode_shim_pb2.ChaincodeMessage
DEFAULT_WORKERS = 32
CALL_TIMEOUT = 120.0  # seconds a stub call waits for the peer (the peer's own timeout is shorter)


class HandlerError(Exception):
    """The protocol went wrong (the peer sent something unexpected)."""


class Handler:
    def __init__(self, chaincode_id: str, chaincode: Chaincode, send: Callable[[Message], Awaitable[None]],
                 workers: int = DEFAULT_WORKERS) -> None:
        self.chaincode_id = chaincode_id
        self.chaincode = chaincode
        self._send = send
        self._executor = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="chaincode")
        self._pending: dict[tuple[str, str], asyncio.Future[Message]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    async def chat(self, incoming: AsyncIterator[Message]) -> None:
        """Register, then serve the peer's messages until the stream ends."""
        self._loop = asyncio.get_running_loop()
        await self._send(Message(type=Message.REGISTER,
                                 payload=chaincode_pb2.ChaincodeID(name=self.chaincode_id).SerializeToString()))
        state = "created"
        try:
            async for message in incoming:
                if message.type == Message.KEEPALIVE:
                    continue
                if state == "created":
                    if message.type != Message.REGISTERED:
                        raise HandlerError(f"expected REGISTERED from the peer, received {Message.Type.Name(message.type)}: "
                                           f"{message.payload.decode(errors='replace')}")
                    state = "established"
                    log.info("chaincode %s registered with the peer", self.chaincode_id)
                elif state == "established":
                    if message.type != Message.READY:
                        raise HandlerError(f"expected READY from the peer, received {Message.Type.Name(message.type)}")
                    state = "ready"
                elif message.type in (Message.RESPONSE, Message.ERROR):
                    future = self._pending.pop((message.channel_id, message.txid), None)
                    if future is None or future.done():
                        log.warning("[%s] %s for a request nobody waits for", message.txid[:8],
                                    Message.Type.Name(message.type))
                    else:
                        future.set_result(message)
                elif message.type in (Message.TRANSACTION, Message.INIT):
                    task = asyncio.create_task(self._execute(message))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                else:
                    log.warning("ignoring unexpected %s from the peer", Message.Type.Name(message.type))
        finally:
            self._close()

    def _close(self) -> None:
        self._closed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ChaincodeStubError("the connection to the peer was lost"))
        self._pending.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _execute(self, message: Message) -> None:
        try:
            stub = ChaincodeStub(self, message)
            method = self.chaincode.init if message.type == Message.INIT else self.chaincode.invoke
            assert self._loop is not None
            response = await self._loop.run_in_executor(self._executor, method, stub)
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
            await self._send(reply)

    def call(self, message: Message) -> Message:
        """Send a request for a transaction and wait for the peer's answer (worker threads)."""
        if self._loop is None or self._closed:
            raise ChaincodeStubError("the connection to the peer was lost")
        future = asyncio.run_coroutine_threadsafe(self._ask(message), self._loop)
        try:
            answer = future.result(CALL_TIMEOUT)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise ChaincodeStubError(f"the peer did not answer {Message.Type.Name(message.type)} "
                                     f"within {CALL_TIMEOUT:.0f}s") from exc
        if answer.type == Message.ERROR:
            raise ChaincodeStubError(answer.payload.decode(errors="replace"))
        return answer

    async def _ask(self, message: Message) -> Message:
        key = (message.channel_id, message.txid)
        if key in self._pending:
            raise ChaincodeStubError(f"transaction {message.txid[:8]} already waits for the peer")
        assert self._loop is not None
        future: asyncio.Future[Message] = self._loop.create_future()
        self._pending[key] = future
        try:
            await self._send(message)
            return await future
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]
