"""The gateway's Broadcast client: one long-lived stream per orderer, shared by every
Submit, each transaction getting the answer to its own envelope (the orderer answers
in order), a new stream after the old one ended."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2, ab_pb2_grpc

from peer.gateway.connections import RemoteOrderer
from peer.gateway.registry import Unreachable

pytestmark = pytest.mark.component


class _Orderer(ab_pb2_grpc.AtomicBroadcastServicer):
    """Answers each envelope with the status written in its signature, after a pause
    written in its payload (so that answers could overtake each other if not in order)."""

    def __init__(self) -> None:
        self.streams = 0

    async def Broadcast(self, requests: AsyncIterator[common_pb2.Envelope],
                        context: grpc.aio.ServicerContext) -> AsyncIterator[ab_pb2.BroadcastResponse]:
        self.streams += 1
        async for envelope in requests:
            await asyncio.sleep(int(envelope.payload or b"0") / 1000)
            status = int(envelope.signature)
            yield ab_pb2.BroadcastResponse(status=status, info=f"for {envelope.payload.decode()}")


async def _serve(orderer: _Orderer, port: int = 0) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    ab_pb2_grpc.add_AtomicBroadcastServicer_to_server(orderer, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server, bound


def _envelope(pause_ms: int, status: int) -> common_pb2.Envelope:
    return common_pb2.Envelope(payload=str(pause_ms).encode(), signature=str(status).encode())


@dataclass
class _Rig:
    orderer: _Orderer
    server: grpc.aio.Server
    port: int
    client: RemoteOrderer


@contextlib.asynccontextmanager
async def _rig() -> AsyncIterator[_Rig]:
    """An orderer on a free port and the gateway's client to it, both closed after."""
    orderer = _Orderer()
    server, port = await _serve(orderer)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    rig = _Rig(orderer, server, port, RemoteOrderer(f"127.0.0.1:{port}", lambda: channel))
    try:
        yield rig
    finally:
        await channel.close()
        await rig.server.stop(0)


def test_concurrent_submits_share_one_stream_and_get_their_own_answers() -> None:
    async def go() -> None:
        async with _rig() as rig:
            cases = [(5 * (i % 4), 200 if i % 3 else 400 + i) for i in range(40)]
            answers = await asyncio.gather(*(rig.client.broadcast(_envelope(p, s), 10) for p, s in cases))
            assert [(a.status, a.info) for a in answers] == [(s, f"for {p}") for p, s in cases]
            assert rig.orderer.streams == 1

    asyncio.run(go())


def test_a_new_stream_after_the_orderer_restarted() -> None:
    async def go() -> None:
        async with _rig() as rig:
            assert (await rig.client.broadcast(_envelope(0, 200), 10)).status == 200
            await rig.server.stop(0)
            with pytest.raises(Unreachable):
                await rig.client.broadcast(_envelope(0, 200), 10)
            rig.server, _ = await _serve(rig.orderer, rig.port)
            for _ in range(50):  # until the channel has reconnected
                try:
                    answer = await rig.client.broadcast(_envelope(0, 200), 10)
                    break
                except Unreachable:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("no answer after the orderer came back")
            assert answer.status == 200

    asyncio.run(go())


def test_a_late_answer_is_a_deadline_for_its_transaction_alone() -> None:
    async def go() -> None:
        async with _rig() as rig:
            slow = asyncio.create_task(rig.client.broadcast(_envelope(500, 200), 0.2))
            await asyncio.sleep(0.05)
            fast = asyncio.create_task(rig.client.broadcast(_envelope(0, 201), 5))
            with pytest.raises(Unreachable, match="DEADLINE_EXCEEDED"):
                await slow
            assert (await fast).status == 201  # answered after the slow one, matched to its own envelope
            assert rig.orderer.streams == 1

    asyncio.run(go())
