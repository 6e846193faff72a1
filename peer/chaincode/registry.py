"""The chaincodes connected to this peer, and running transactions on them.

A chaincode process is known by the id it registers with: the package id for
chaincode run through the lifecycle (as in Fabric), the chaincode's name for one the
peer's configuration lists. Whether it dialled in (launched by the peer, classic mode)
or the peer dialled it (chaincode-as-a-service), it ends up here, and `execute` runs a
transaction on it with a time limit. A process the peer is starting is waited for (up
to the startup timeout), so the first proposals after a commit do not fail.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, proposal_pb2, proposal_response_pb2

from peer.chaincode.collections import CollectionAccess
from peer.chaincode.handler import ChaincodeCallError, Message, PeerChaincodeHandler, TxContext
from peer.endorser.simulator import TxSimulator

log = logging.getLogger(__name__)

# Opens a read-only simulation on a channel (for invocations across channels).
SimulatorFactory = Callable[[str], AbstractAsyncContextManager[TxSimulator]]
# The chaincode id that runs a chaincode on a channel (chaincode-to-chaincode calls).
Resolver = Callable[[str, str], str]
STARTUP_TIMEOUT = 30.0


class ChaincodeRegistry:
    def __init__(self, timeout: float, other_channel: SimulatorFactory | None = None,
                 startup_timeout: float = STARTUP_TIMEOUT) -> None:
        self.timeout = timeout
        self.startup_timeout = startup_timeout
        self._other_channel = other_channel
        self._handlers: dict[str, PeerChaincodeHandler] = {}
        self._starting: dict[str, asyncio.Event] = {}
        self._failures: dict[str, str] = {}  # why the last start of a chaincode failed
        self.resolve: Resolver = lambda channel, name: name

    def expect(self, chaincode_id: str) -> None:
        """The peer is starting this chaincode: proposals for it wait for it to register."""
        if not self.is_running(chaincode_id):
            self._starting.setdefault(chaincode_id, asyncio.Event())

    def forget(self, chaincode_id: str) -> None:
        """The peer no longer starts this chaincode."""
        event = self._starting.pop(chaincode_id, None)
        if event is not None:
            event.set()

    def failed(self, chaincode_id: str, reason: str) -> None:
        """A start of this chaincode failed (the launcher tries again): proposals stop
        waiting for it, and are told why."""
        self._failures[chaincode_id] = reason
        self.forget(chaincode_id)

    def _register(self, handler: PeerChaincodeHandler) -> None:
        previous = self._handlers.get(handler.chaincode_id)
        if previous is not None and not previous.closed.is_set():
            log.warning("chaincode %s registered again; the new connection replaces the old one", handler.chaincode_id)
        self._handlers[handler.chaincode_id] = handler
        self._failures.pop(handler.chaincode_id, None)
        event = self._starting.pop(handler.chaincode_id, None)
        if event is not None:
            event.set()

    async def serve(self, incoming: AsyncIterator[Message], write: Callable[[Message], Awaitable[None]],
                    expected_id: str | None = None) -> None:
        """Run the peer's side of one chaincode stream until it ends. A service the peer
        dialled for a package is registered under `expected_id`, whatever it calls itself."""
        handler = PeerChaincodeHandler(write, self)

        def register(registering: PeerChaincodeHandler) -> None:
            if expected_id is not None and registering.chaincode_id != expected_id:
                log.info("chaincode service registered as %s; serving it as %s", registering.chaincode_id, expected_id)
                registering.chaincode_id = expected_id
            self._register(registering)

        try:
            await handler.serve(incoming, register)
        finally:
            if self._handlers.get(handler.chaincode_id) is handler:
                del self._handlers[handler.chaincode_id]
                log.info("chaincode %s disconnected", handler.chaincode_id)

    def is_running(self, name: str) -> bool:
        handler = self._handlers.get(name)
        return handler is not None and handler.registered.is_set() and not handler.closed.is_set()

    async def _handler(self, chaincode_id: str) -> PeerChaincodeHandler:
        if not self.is_running(chaincode_id):
            try:
                async with asyncio.timeout(self.startup_timeout):
                    starting = self._starting.get(chaincode_id)
                    if starting is not None:  # being started: wait until it registers
                        await starting.wait()
                    connecting = self._handlers.get(chaincode_id)
                    if connecting is not None and not connecting.closed.is_set():  # registering: until answered
                        await connecting.registered.wait()
            except TimeoutError:
                raise ChaincodeCallError(f"chaincode {chaincode_id} did not start within {self.startup_timeout:g}s "
                                         "(see the peer's chaincode logs)") from None
        if not self.is_running(chaincode_id):
            why = self._failures.get(chaincode_id, "not started, or not connected yet")
            raise ChaincodeCallError(f"chaincode {chaincode_id} is not running on this peer ({why})")
        return self._handlers[chaincode_id]

    async def execute(
        self,
        channel_id: str,
        name: str,
        tx_id: str,
        spec_input: chaincode_pb2.ChaincodeInput,
        signed_proposal: proposal_pb2.SignedProposal,
        simulator: TxSimulator,
        chaincode_id: str | None = None,
        access: CollectionAccess | None = None,
    ) -> tuple[proposal_response_pb2.Response, chaincode_event_pb2.ChaincodeEvent | None]:
        """Run a transaction of chaincode `name` on the process `chaincode_id` (default:
        `name`); the chaincode's response and event. ChaincodeCallError if it fails to run."""
        context = TxContext(channel_id, tx_id, name, simulator, signed_proposal, access=access)
        kind = Message.INIT if spec_input.is_init else Message.TRANSACTION
        handler = await self._handler(chaincode_id or name)
        message = await handler.execute(context, kind, spec_input, self.timeout)
        if message.type == Message.ERROR:
            raise ChaincodeCallError(f"chaincode {name} failed: {message.payload.decode(errors='replace')}")
        response = proposal_response_pb2.Response.FromString(message.payload)
        event = None
        if message.HasField("chaincode_event") and message.chaincode_event.event_name:
            event = chaincode_event_pb2.ChaincodeEvent()
            event.CopyFrom(message.chaincode_event)
            event.chaincode_id = name
            event.tx_id = tx_id
        return response, event

    async def invoke(self, caller: TxContext, target: str, channel: str,
                     spec_input: chaincode_pb2.ChaincodeInput) -> Message:
        """A chaincode calls another: same channel, same simulation; another channel, read only."""
        if target == caller.namespace and channel == caller.channel_id:
            raise ChaincodeCallError(f"chaincode {target} cannot invoke itself")
        handler = await self._handler(self.resolve(channel, target))
        if channel == caller.channel_id:
            context = TxContext(channel, caller.tx_id, target, caller.simulator, caller.signed_proposal,
                                read_only=caller.read_only, access=caller.access)
            return await handler.execute(context, Message.TRANSACTION, spec_input, self.timeout)
        if self._other_channel is None:
            raise ChaincodeCallError(f"cannot reach channel {channel} from here")
        async with self._other_channel(channel) as simulator:
            context = TxContext(channel, caller.tx_id, target, simulator, caller.signed_proposal, read_only=True)
            return await handler.execute(context, Message.TRANSACTION, spec_input, self.timeout)


