"""The asyncio client's commit watch across a restart of the gateway's peer: its block
stream ends with the peer, and once the peer is back the watch opens a new one by
itself, so statuses are read off a stream again, with no CommitStatus call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from consortia.client import aio
from consortia.client.commit import Status
from tests.support.gatewaynet import GatewayNet
from tests.support.processes import eventually

pytestmark = pytest.mark.fault


class UnaryCalls(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Records the unary methods the client calls."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    async def intercept_unary_unary(self, continuation: Callable[..., Awaitable[Any]],
                                    details: grpc.aio.ClientCallDetails, request: Any) -> Any:
        method = details.method
        self.methods.append(method.decode() if isinstance(method, bytes) else method)
        return await continuation(details, request)


def test_a_watch_opens_a_new_stream_after_the_gateway_peer_restarts(tmp_path: Path) -> None:
    gw = GatewayNet(tmp_path)
    try:
        async def scenario() -> None:
            calls = UnaryCalls()
            async with grpc.aio.insecure_channel(gw.peer1.address, interceptors=[calls]) as channel, \
                    aio.connect(channel, signer=gw.client) as gateway:
                network = gateway.get_network("ch1")
                contract = network.get_contract("probe")
                async with network.watch_commits() as watch:
                    before = await (await contract.submit_async("put", ["restart-before", "1"])).get_status()
                    assert before.code_name == "VALID"

                    assert gw.peer1.node.stop() == 0
                    for _ in range(100):  # the stream ends with the peer
                        if not watch.watching:
                            break
                        await asyncio.sleep(0.05)
                    assert not watch.watching
                    gw.peer1.node.start()
                    await asyncio.to_thread(eventually, lambda: gw.evaluate("get", "nothing"), 60)

                    async with asyncio.timeout(60):  # first pauses: 1, 2, 4 s...
                        while not watch.watching:
                            await asyncio.sleep(0.1)
                    calls.methods.clear()
                    after: Status = await (await contract.submit_async("put", ["restart-after", "2"])).get_status()
                    # Read off the new stream: no CommitStatus call.
                    assert [m.rsplit("/", 1)[1] for m in calls.methods] == ["Endorse", "Submit"]
                asked = await network.new_commit(after.transaction_id).get_status()
                assert after == asked and after.code_name == "VALID"
                assert after.block_number > before.block_number

        asyncio.run(scenario())
    finally:
        gw.stop()
