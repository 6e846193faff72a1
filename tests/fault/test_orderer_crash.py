"""kill -9 an orderer under load, again and again: it restarts with its hash chain intact
and every block it ever delivered, byte for byte."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import grpc
import pytest
from fabric_protos.common import common_pb2

from consortia.delivery import FOREVER
from consortia.ledger.blockstore import FILE_NAME
from consortia.protoutil.transaction import unpack_transaction
from tests.integration.test_orderer import verify_chain
from tests.support.testnet import NEWEST, OLDEST, TestNetwork, position

pytestmark = pytest.mark.fault


async def load_until_killed(net: TestNetwork, delivered: list[common_pb2.Block], kill_after: float) -> None:
    """Broadcast from three clients and follow the chain until the orderer is killed."""
    client = net.identity("Org1MSP")
    peer = net.identity("Org1MSP", "peer0")
    stop = asyncio.Event()

    async def broadcaster() -> None:
        while not stop.is_set():
            try:
                await net.broadcast([net.transaction("ch1", client, peer, random.randbytes(200)) for _ in range(25)])
            except grpc.aio.AioRpcError:
                return

    async def follower() -> None:
        try:
            await net.deliver(net.seek("ch1", peer, position(len(delivered)), position(FOREVER)), timeout=60,
                              on_block=delivered.append)
        except grpc.aio.AioRpcError:
            return

    tasks = [asyncio.create_task(broadcaster()) for _ in range(3)] + [asyncio.create_task(follower())]
    await asyncio.sleep(kill_after)
    net.orderer.kill()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_kill_9_under_load_loses_nothing_delivered(tmp_path: Path) -> None:
    net = TestNetwork(tmp_path)
    net.orderer.start()
    asyncio.run(net.join("ch1"))
    delivered: list[common_pb2.Block] = []
    for round_ in range(3):
        before = len(delivered)
        asyncio.run(load_until_killed(net, delivered, kill_after=random.uniform(0.8, 1.6)))
        assert len(delivered) > before, f"round {round_}: nothing was delivered before the kill"
        if round_ == 1:
            # A crash can also leave half a record at the end of the block file.
            with open(tmp_path / "orderer-data" / "channels" / "ch1" / FILE_NAME, "ab") as file:
                file.write(b"CBL")
        net.orderer.start()
        chain, statuses = asyncio.run(net.deliver(net.seek("ch1", net.identity("Org2MSP"), OLDEST, NEWEST)))
        assert statuses == [common_pb2.SUCCESS]
        assert len(chain) >= len(delivered)
        for block in delivered:
            assert chain[block.header.number].SerializeToString() == block.SerializeToString()
        verify_chain(net, chain)
        ids = [unpack_transaction(e).tx_id for b in chain[1:] for e in b.data.data]
        assert len(ids) == len(set(ids)), "an envelope was ordered twice"
        delivered[:] = chain
    assert net.orderer.stop() == 0
