"""The chaincodes connected to this peer, and running transactions on them.

A chaincode is known by the name it registers with. Whether it dialled in (launched by
the peer, classic mode) or the peer dialled it (chaincode-as-a-service), it ends up
here, and `execute` runs a transaction on it with a time limit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, proposal_pb2, proposal_response_pb2

from consortia.streams import SerialWriter
from peer.chaincode.handler import ChaincodeCallError, Message, PeerChaincodeHandler, TxContext
from peer.endorser.simulator import TxSimulator

log = logging.getLogger(__name__)

# Opens a read-only simulation on a channel (for invocations across channels).
SimulatorFactory = Callable[[str], AbstractAsyncContextManager[TxSimulator]]


class ChaincodeRegistry:
    def __init__(self, timeout: float, other_channel: SimulatorFactory | None = None) -> None:
        self.timeout = timeout
        self._other_channel = other_channel
        self._handlers: dict[str, PeerChaincodeHandler] = {}

    def _register(self, handler: PeerChaincodeHandler) -> None:
        previous = self._handlers.get(handler.chaincode_id)
        if previous is not None and not previous.closed.is_set():
            log.warning("chaincode %s registered again; the new connection replaces the old one", handler.chaincode_id)
        self._handlers[handler.chaincode_id] = handler

    async def serve(self, incoming: AsyncIterator[Message], write: Callable[[Message], Awaitable[None]]) -> None:
        """Run the peer's side of one chaincode stream until it ends."""
        handler = PeerChaincodeHandler(SerialWriter[Message](write).send, self)
        try:
            await handler.serve(incoming, self._register)
        finally:
            if self._handlers.get(handler.chaincode_id) is handler:
                del self._handlers[handler.chaincode_id]
                log.info("chaincode %s disconnected", handler.chaincode_id)

    def is_running(self, name: str) -> bool:
        handler = self._handlers.get(name)
        return handler is not None and handler.registered.is_set() and not handler.closed.is_set()

    def _handler(self, name: str) -> PeerChaincodeHandler:
        if not self.is_running(name):
            raise ChaincodeCallError(f"chaincode {name} is not running on this peer (not started, or not connected yet)")
        return self._handlers[name]

    async def execute(
        self,
        channel_id: str,
        name: str,
        tx_id: str,
        spec_input: chaincode_pb2.ChaincodeInput,
        signed_proposal: proposal_pb2.SignedProposal,
        simulator: TxSimulator,
    ) -> tuple[proposal_response_pb2.Response, chaincode_event_pb2.ChaincodeEvent | None]:
        """Run a transaction; the chaincode's response and event. ChaincodeCallError if it fails to run."""
        context = TxContext(channel_id, tx_id, name, simulator, signed_proposal)
        kind = Message.INIT if spec_input.is_init else Message.TRANSACTION
        message = await self._handler(name).execute(context, kind, spec_input, self.timeout)
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
        handler = self._handler(target)
        if channel == caller.channel_id:
            context = TxContext(channel, caller.tx_id, target, caller.simulator, caller.signed_proposal,
                                read_only=caller.read_only)
            return await handler.execute(context, Message.TRANSACTION, spec_input, self.timeout)
        if self._other_channel is None:
            raise ChaincodeCallError(f"cannot reach channel {channel} from here")
        async with self._other_channel(channel) as simulator:
            context = TxContext(channel, caller.tx_id, target, simulator, caller.signed_proposal, read_only=True)
            return await handler.execute(context, Message.TRANSACTION, spec_input, self.timeout)


