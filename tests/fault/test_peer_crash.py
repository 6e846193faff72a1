"""kill -9 a peer while it commits, again and again: after each restart its state is
exactly what validating and committing the whole chain from scratch gives."""

from __future__ import annotations

import asyncio
import random
import shutil
import sqlite3
from pathlib import Path

import grpc
import pytest
from fabric_protos.common import common_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.channelconfig.genesis import config_from_block
from consortia.ledger.blockstore import BlockStore
from consortia.protoutil import block as blocks
from peer.committer.validator import TxValidator
from peer.ledger.kvledger import PeerLedger
from tests.support.processes import run
from tests.support.testnet import NEWEST, OLDEST, TestNetwork
from tests.support.transactions import NsWrites, endorser_transaction

pytestmark = pytest.mark.fault


def tables(db_path: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(db_path)
    try:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3").fetchall()
                for t in ("state", "history", "txids", "savepoint")}
    finally:
        db.close()


def replay_from_scratch(block_file_dir: Path, work: Path) -> tuple[list[bytes], Path]:
    """Validate and commit every block of a peer's block file into a new ledger."""
    stored = BlockStore(block_file_dir)
    chain = [stored.get(n) for n in range(stored.height)]
    stored.close()
    ledger = PeerLedger(work)
    bundle = ChannelBundle.from_config(config_from_block(chain[0]))
    validator = TxValidator(bundle, ledger.state())
    filters = []
    for block in chain:
        fresh = common_pb2.Block()
        fresh.CopyFrom(block)
        fresh.metadata.metadata[blocks.TRANSACTIONS_FILTER] = b""
        fresh.metadata.metadata[blocks.COMMIT_HASH] = b""
        result = validator.validate(fresh)
        ledger.commit(fresh, result.codes, result.updates, result.history)
        filters.append(bytes(result.codes))
    ledger.close()
    assert filters == [blocks.transactions_filter(b) for b in chain]
    return filters, work / "ledger.db"


async def load(net: TestNetwork, stop: asyncio.Event) -> None:
    client = net.identity("Org1MSP")
    e1, e2 = net.identity("Org1MSP", "peer0"), net.identity("Org2MSP", "peer0")
    while not stop.is_set():
        batch = []
        for _ in range(20):
            key = f"k{random.randrange(30)}"
            kind = random.random()
            if kind < 0.6:
                ns = NsWrites(writes={key: random.randbytes(16)})
            elif kind < 0.75:
                ns = NsWrites(writes={key: None})
            elif kind < 0.9:
                ns = NsWrites(reads={key: (0, 0)}, writes={key: b"stale"})
            else:
                ns = NsWrites(metadata={key: {"tag": b"x"}})
            endorsers = [e1, e2] if random.random() < 0.9 else [e1]
            batch.append(endorser_transaction("ch1", "cc", client, endorsers, {"cc": ns}))
        batch.append(batch[0])  # a duplicate
        try:
            await net.broadcast(batch)
        except grpc.aio.AioRpcError:
            return
        await asyncio.sleep(0.02)


def test_kill_9_during_commits(tmp_path: Path) -> None:
    net = TestNetwork(tmp_path)
    net.orderer.start()
    run(net.join("ch1"))
    peer = net.peer("Org1MSP")
    peer.node.start()
    run(net.join_peer(peer, "ch1"))
    data = tmp_path / "peer0.org1.example.com-data" / "channels" / "ch1"

    async def round_() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(load(net, stop))
        await asyncio.sleep(random.uniform(0.7, 1.5))
        peer.node.kill()
        stop.set()
        await task

    for _ in range(3):
        run(round_())
        peer.node.start()
    # Let it catch up with everything the orderer has, then stop it cleanly.
    orderer_chain, _ = run(net.deliver(net.seek("ch1", net.identity("Org1MSP"), OLDEST, NEWEST)))
    committed = run(net.wait_for_height(peer, "ch1", len(orderer_chain)))
    assert [b.header.data_hash for b in committed] == [b.header.data_hash for b in orderer_chain]
    assert peer.node.stop() == 0
    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    _, fresh_db = replay_from_scratch(copy, tmp_path / "fresh")
    assert tables(data / "ledger.db") == tables(fresh_db)
