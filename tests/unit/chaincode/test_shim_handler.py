"""The shim's side of the chaincode stream (chaincode.shim.handler), against a scripted
peer: registration, transactions that interleave while they wait for the peer, answers
matched to the transaction that asked, and what a lost stream or a failing chaincode
leaves behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2, proposal_response_pb2

from chaincode.shim.handler import Handler, HandlerError
from chaincode.shim.interfaces import ChaincodeStubError, success
from chaincode.shim.stub import ChaincodeStub

pytestmark = pytest.mark.unit

Message = chaincode_shim_pb2.ChaincodeMessage
CHANNEL = "ch1"


class Reader:
    """Reads the key its arguments name, and answers with the value (or the refusal)."""

    def __init__(self) -> None:
        self.seen: dict[str, bytes | str] = {}

    def init(self, stub: ChaincodeStub) -> proposal_response_pb2.Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> proposal_response_pb2.Response:
        function, args = stub.get_function_and_parameters()
        if function == "fail":
            raise ValueError("asked to fail")
        try:
            value = stub.get_state(args[0])
        except ChaincodeStubError as exc:
            self.seen[stub.tx_id] = str(exc)
            raise
        self.seen[stub.tx_id] = value
        stub.put_state(args[0], value + b"!")
        return success(value)


class ScriptedPeer:
    """The peer's end: what the handler sent, and messages pushed to it one by one."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.incoming: asyncio.Queue[Message | None] = asyncio.Queue()

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def stream(self) -> AsyncIterator[Message]:
        while (message := await self.incoming.get()) is not None:
            yield message

    def push(self, kind: int, txid: str = "", payload: bytes = b"") -> None:
        self.incoming.put_nowait(Message(type=kind, txid=txid, channel_id=CHANNEL if txid else "", payload=payload))

    def invoke(self, txid: str, *args: str) -> None:
        self.push(Message.TRANSACTION, txid, chaincode_pb2.ChaincodeInput(args=[a.encode() for a in args]).SerializeToString())

    async def until(self, predicate: Callable[[list[Message]], bool]) -> None:
        for _ in range(200):
            if predicate(self.sent):
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"the handler never sent what was expected; it sent {[Message.Type.Name(m.type) for m in self.sent]}")

    def of(self, txid: str) -> list[str]:
        return [Message.Type.Name(m.type) for m in self.sent if m.txid == txid]


async def started(peer: ScriptedPeer, chaincode: Reader) -> asyncio.Task[None]:
    chat = asyncio.create_task(Handler("cc:1", chaincode, peer.send).chat(peer.stream()))
    peer.push(Message.REGISTERED)
    peer.push(Message.READY)
    await peer.until(lambda sent: len(sent) == 1)
    assert peer.sent[0].type == Message.REGISTER
    assert chaincode_pb2.ChaincodeID.FromString(peer.sent[0].payload).name == "cc:1"
    return chat


def registered(scenario: Callable[[ScriptedPeer, Reader], Awaitable[None]]) -> tuple[ScriptedPeer, Reader]:
    """Play `scenario` against a registered shim, then end the stream and wait for the
    shim to finish; the peer and the chaincode, for what to check afterwards."""
    async def main() -> tuple[ScriptedPeer, Reader]:
        peer, chaincode = ScriptedPeer(), Reader()
        chat = await started(peer, chaincode)
        await scenario(peer, chaincode)
        peer.incoming.put_nowait(None)
        await asyncio.wait_for(chat, 1)
        return peer, chaincode

    return asyncio.run(main())


def test_transactions_interleave_and_each_gets_its_own_answers() -> None:
    async def scenario(peer: ScriptedPeer, chaincode: Reader) -> None:
        peer.invoke("A", "read", "ka")
        peer.invoke("B", "read", "kb")
        await peer.until(lambda sent: len(sent) == 3)  # both wait for their GET_STATE
        assert peer.of("A") == ["GET_STATE"] and peer.of("B") == ["GET_STATE"]
        peer.push(Message.RESPONSE, "B", b"vb")  # B is answered first
        await peer.until(lambda sent: peer.of("B") == ["GET_STATE", "PUT_STATE"])
        peer.push(Message.RESPONSE, "A", b"va")
        peer.push(Message.RESPONSE, "B")
        peer.push(Message.RESPONSE, "A")
        await peer.until(lambda sent: peer.of("A")[-1:] == ["COMPLETED"] and peer.of("B")[-1:] == ["COMPLETED"])

    peer, chaincode = registered(scenario)
    assert chaincode.seen == {"A": b"va", "B": b"vb"}
    put_a = next(m for m in peer.sent if m.txid == "A" and m.type == Message.PUT_STATE)
    assert chaincode_shim_pb2.PutState.FromString(put_a.payload).value == b"va!"
    done_a = next(m for m in peer.sent if m.txid == "A" and m.type == Message.COMPLETED)
    assert proposal_response_pb2.Response.FromString(done_a.payload).payload == b"va"


def test_a_refusal_reaches_the_chaincode_as_an_error() -> None:
    async def scenario(peer: ScriptedPeer, chaincode: Reader) -> None:
        peer.invoke("A", "read", "secret")
        await peer.until(lambda sent: peer.of("A") == ["GET_STATE"])
        peer.push(Message.ERROR, "A", b"access denied")
        await peer.until(lambda sent: peer.of("A") == ["GET_STATE", "ERROR"])

    _, chaincode = registered(scenario)
    assert chaincode.seen == {"A": "access denied"}


def test_a_failing_chaincode_answers_error_and_the_shim_goes_on() -> None:
    async def scenario(peer: ScriptedPeer, chaincode: Reader) -> None:
        peer.invoke("A", "fail")
        await peer.until(lambda sent: peer.of("A") == ["ERROR"])
        peer.invoke("B", "read", "k")
        await peer.until(lambda sent: peer.of("B") == ["GET_STATE"])

    peer, _ = registered(scenario)
    failed = next(m for m in peer.sent if m.txid == "A")
    assert failed.payload == b"chaincode failed: asked to fail"


def test_a_lost_stream_fails_every_waiting_call() -> None:
    async def scenario(peer: ScriptedPeer, chaincode: Reader) -> None:
        peer.invoke("A", "read", "ka")
        peer.invoke("B", "read", "kb")
        await peer.until(lambda sent: len(sent) == 3)  # both wait; then the peer goes away

    peer, chaincode = registered(scenario)
    assert chaincode.seen == {"A": "the connection to the peer was lost", "B": "the connection to the peer was lost"}
    assert len(peer.sent) == 3  # nothing written after the stream ended


def test_a_transaction_before_registration_is_a_protocol_error() -> None:
    async def main() -> None:
        peer = ScriptedPeer()
        chat = asyncio.create_task(Handler("cc:1", Reader(), peer.send).chat(peer.stream()))
        peer.invoke("A", "read", "k")
        with pytest.raises(HandlerError, match="expected REGISTERED from the peer, received TRANSACTION"):
            await asyncio.wait_for(chat, 1)

    asyncio.run(main())


def test_a_stub_call_outside_a_transaction_is_refused() -> None:
    async def main() -> None:
        peer = ScriptedPeer()
        handler = Handler("cc:1", Reader(), peer.send)
        chat = asyncio.create_task(handler.chat(peer.stream()))
        await asyncio.sleep(0)
        with pytest.raises(ChaincodeStubError, match="outside a transaction"):
            handler.call(Message(type=Message.GET_STATE, txid="A", channel_id=CHANNEL))
        peer.incoming.put_nowait(None)
        await asyncio.wait_for(chat, 1)

    asyncio.run(main())
