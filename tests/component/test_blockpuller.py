"""The block puller against two stand-in orderers on loopback: it refuses the tampered
block of the first and fails over to the second, whose block verifies."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from fabric_protos.common import common_pb2

from consortia.protoutil import block as blocks
from peer import blockpuller
from peer.blockpuller import BlockPuller
from tests.support.chain import make_channel
from tests.support.processes import free_ports
from tests.support.rogue import RogueOrderer

pytestmark = pytest.mark.component


def test_fails_over_from_a_rogue_orderer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         caplog: pytest.LogCaptureFixture) -> None:
    channel = make_channel(tmp_path)
    genesis = common_pb2.Block.FromString(channel.genesis)
    bad_port, good_port = free_ports(2)
    bad = RogueOrderer(f"127.0.0.1:{bad_port}", genesis)
    good = RogueOrderer(f"127.0.0.1:{good_port}", genesis)
    block = good.next_block([channel.writes({"k": b"v"}).SerializeToString()], channel.orderer)
    good.add(block)
    forged = common_pb2.Block()
    forged.CopyFrom(block)
    blocks.sign_block(forged, channel.peers[0], last_config_index=0)  # signed by a peer, not the orderer
    bad.add(forged)
    for server in (bad, good):
        server.start()
    monkeypatch.setattr(blockpuller.random, "randrange", lambda n: 0)  # ask the rogue first
    puller = BlockPuller(channel.bundle, channel.peers[0], lambda: (1, blocks.header_hash(genesis.header)),
                         max_backoff=0.2)
    puller.endpoints = [bad.address, good.address]

    async def first() -> common_pb2.Block:
        stream = puller.blocks()
        try:
            return await asyncio.wait_for(anext(stream), 20)
        finally:
            await stream.aclose()

    try:
        with caplog.at_level(logging.INFO, logger="peer.blockpuller"):
            got = asyncio.run(first())
    finally:
        bad.stop()
        good.stop()
    assert got.SerializeToString() == block.SerializeToString()
    assert bad.requests == [1] and good.requests == [1]
    refusals = [r.getMessage() for r in caplog.records if "refused a block" in r.getMessage()]
    assert refusals and "is not signed as the channel requires" in refusals[0]
